# scan-as: registry/models.py
class PluginState(models.TextChoices):
    LOADED = "LOADED", "Loaded"
    INITIALIZED = "INITIALIZED", "Initialized"
    RUNNING = "RUNNING", "Running"
    FAILED = "ERROR", "Failed"  # expect: EXE004
    UNAVAILABLE = "UNAVAILABLE", "Unavailable"
