# scan-as: execution/services/plugin_execution.py
def instrument(plugin, wrapper):
    plugin.run = wrapper  # expect: EXE001
