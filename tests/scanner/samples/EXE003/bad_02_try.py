# scan-as: execution/tool_runner.py
class ToolRunner:
    def run(self, plugin, payload):
        try:  # expect: EXE003
            return plugin.run(payload)
        except KeyError:
            return None
