# scan-as: execution/services/plugin_execution.py
from execution.tool_runner import ToolRunner


class PluginExecutionService:
    runner: ToolRunner

    def execute(self, plugin, payload):
        return self.runner.run(plugin, payload)  # expect: EXE001


def hijack(service, plugin):
    service.runner = plugin
