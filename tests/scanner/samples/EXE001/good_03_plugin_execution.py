# scan-as: execution/services/plugin_execution.py
from dataclasses import dataclass, field

from execution import tool_runner


@dataclass
class PluginExecutionService:
    runner: "tool_runner.ToolRunner" = field(default_factory=tool_runner.ToolRunner)

    def execute(self, plugin, payload):
        return self.runner.run(plugin, payload)
