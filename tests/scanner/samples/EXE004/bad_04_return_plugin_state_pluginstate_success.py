# scan-as: registry/services.py
def healthy(plugin):
    return plugin.state == PluginState.SUCCESS  # expect: EXE004
