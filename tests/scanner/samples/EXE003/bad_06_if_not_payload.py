# scan-as: execution/tool_runner.py
class ToolRunner:
    def run(self, plugin, payload):
        if not payload:  # expect: EXE003
            return None
        try:
            return plugin.run(payload)
        finally:
            update_execution_metrics(plugin.name)
