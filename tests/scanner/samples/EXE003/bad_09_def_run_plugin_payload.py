# scan-as: execution/tool_runner.py  # expect: EXE003
def run(plugin, payload):
    return plugin.run(payload)
