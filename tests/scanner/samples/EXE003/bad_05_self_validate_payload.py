# scan-as: execution/tool_runner.py
class ToolRunner:
    def run(self, plugin, payload):
        started = time.monotonic()
        self.validate(payload)  # expect: EXE003
        try:
            return plugin.run(payload)
        finally:
            update_execution_metrics(plugin.name, time.monotonic() - started)
