# scan-as: execution/tool_runner/__init__.py  # expect: EXE003
def run(plugin, payload):
    return plugin.run(payload)
