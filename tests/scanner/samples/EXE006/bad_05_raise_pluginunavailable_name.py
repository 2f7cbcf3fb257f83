# scan-as: execution/services/plugin_execution.py
from plugins.base import PluginUnavailable


def plugin_for(name):
    raise PluginUnavailable(name)  # expect: EXE006
