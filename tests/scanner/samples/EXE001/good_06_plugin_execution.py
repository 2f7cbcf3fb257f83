# scan-as: execution/services/plugin_execution.py
from functools import cached_property

from execution.tool_runner import ToolRunner


class PluginExecutionService:
    @cached_property
    def runner(self) -> ToolRunner:
        return ToolRunner()

    def execute(self, plugin, payload):
        return self.runner.run(plugin, payload)
