# scan-as: execution/tool_runner.py
from registry.services import update_execution_metrics


class ToolRunner:
    def run(self, *, plugin, request):
        outcome = {}
        try:
            outcome["result"] = plugin.run(request)
        finally:
            update_execution_metrics(plugin_name=plugin.name, error=outcome["error"])  # expect: EXE003
