# scan-as: execution/tool_runner.py
from registry.services import update_execution_metrics


class ToolRunner:
    def run(self, plugin, payload):  # expect: EXE003
        result = plugin.run(payload)
        update_execution_metrics(plugin.name)
        return result
