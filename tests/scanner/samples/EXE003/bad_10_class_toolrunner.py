# scan-as: execution/tool_runner.py
class ToolRunner:  # expect: EXE003
    def execute(self, plugin, payload):
        return plugin.run(payload)
