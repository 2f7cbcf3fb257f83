# scan-as: execution/tool_runner.py
class ToolRunner:
    def run(self, plugin, payload):
        try:
            result = plugin.run(payload)
        finally:
            update_execution_metrics(plugin.name)
        return self.envelope(result)  # expect: EXE003
