# scan-as: registry/services.py
from registry.models import PluginState


def fail(plugin):
    object.__setattr__(plugin, "state", PluginState.FAILED)
