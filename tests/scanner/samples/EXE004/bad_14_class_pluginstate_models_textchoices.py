# scan-as: registry/models.py
from django.db import models


class PluginState(models.TextChoices):  # expect: EXE004
    LOADED = "LOADED", "Loaded"
    INITIALIZED = "INITIALIZED", "Initialized"
    RUNNING = "RUNNING", "Running"
    SUCCESS = "SUCCESS", "Succeeded"
    FAILED = "FAILED", "Failed"
    UNAVAILABLE = "UNAVAILABLE", "Unavailable"
