# scan-as: registry/models.py
class PluginRegistry(models.Model):
    state = models.CharField(max_length=16, default="LOADED")  # expect: EXE004
