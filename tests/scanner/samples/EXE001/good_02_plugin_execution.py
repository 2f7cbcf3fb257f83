# scan-as: execution/services/plugin_execution.py
from execution.tool_runner import ToolRunner


class PluginExecutionService:
    def __init__(self, *, runner: ToolRunner | None = None) -> None:
        self.runner = runner or ToolRunner()

    def execute(self, plugin, payload):
        return self.runner.run(plugin=plugin, payload=payload)
