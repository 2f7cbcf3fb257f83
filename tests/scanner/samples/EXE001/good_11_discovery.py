# scan-as: plugins/discovery.py
def runnable(plugin_class):
    return hasattr(plugin_class, "run") and callable(plugin_class)
