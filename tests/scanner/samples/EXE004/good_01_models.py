# scan-as: registry/models.py
from django.db import models


class PluginState(models.TextChoices):
    LOADED = "LOADED", "Loaded"
    INITIALIZED = "INITIALIZED", "Initialized"
    RUNNING = "RUNNING", "Running"
    FAILED = "FAILED", "Failed"
    UNAVAILABLE = "UNAVAILABLE", "Unavailable"


class PluginRegistry(models.Model):
    state = models.CharField(choices=PluginState.choices, default=PluginState.LOADED)
