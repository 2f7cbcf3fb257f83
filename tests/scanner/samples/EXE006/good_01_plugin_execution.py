# scan-as: execution/services/plugin_execution.py
from execution.exceptions import PluginNotFound


def plugin_for(catalog, name):
    if name not in catalog:
        raise PluginNotFound(plugin=name)
    return catalog[name]
