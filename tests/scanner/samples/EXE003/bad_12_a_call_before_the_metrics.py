# scan-as: execution/tool_runner.py
from registry import services as registry_services


class ToolRunner:
    def run(self, *, plugin, request):
        try:
            return plugin.run(request)
        finally:
            state = self.lifecycle_after(plugin)  # expect: EXE003
            registry_services.update_execution_metrics(plugin_name=plugin.name, state=state)
