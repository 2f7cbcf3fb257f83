# scan-as: execution/tool_runner.py
class ToolRunner:
    def run(self, plugin, payload):
        succeeded = False
        try:
            result = plugin.run(payload)
            succeeded = True
            return result
        finally:
            if succeeded:  # expect: EXE003
                update_execution_metrics(plugin.name)
