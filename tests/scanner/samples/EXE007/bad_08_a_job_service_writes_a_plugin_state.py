# scan-as: execution/services/plugin_execution.py
from registry.models import PluginRegistry, PluginState


def fail(name):
    PluginRegistry.objects.filter(name=name).update(state=PluginState.FAILED)  # expect: EXE007
