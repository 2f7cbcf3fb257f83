# scan-as: execution/services/plugin_execution.py
class ToolRunner:
    def __init__(self, plugin):
        self.plugin = plugin


def execute(plugin, payload):
    return ToolRunner(plugin).run(payload)  # expect: EXE001
