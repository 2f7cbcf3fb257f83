# scan-as: execution/services/plugin_execution.py
from execution.tool_runner import ToolRunner


class PluginExecutionService:
    def runner(self) -> ToolRunner:
        return ToolRunner()

    def execute(self, plugin_name, request):
        return self.runner().run(plugin=plugin_name, request=request)
