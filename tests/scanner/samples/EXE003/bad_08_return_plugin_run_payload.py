# scan-as: execution/tool_runner.py
class ToolRunner:
    def run(self, plugin, payload):
        try:
            return self.call(plugin, payload)
        finally:
            update_execution_metrics(plugin.name)

    def call(self, plugin, payload):
        return plugin.run(payload)  # expect: EXE003
