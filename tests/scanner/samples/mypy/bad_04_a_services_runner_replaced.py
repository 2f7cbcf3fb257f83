"""The service's runner (typed by its ``__init__``, as PluginExecutionService's is) replaced from
outside the class, and the same for a runner the class declares."""

from execution.tool_runner import ExecutionOutcome, ToolRunner
from execution.validation import ExecutionRequest
from plugins.base import AnalysisPlugin


class PluginExecutionService:
    def __init__(self, *, runner: ToolRunner | None = None) -> None:
        self.runner = runner or ToolRunner()

    def execute(self, *, request: ExecutionRequest) -> ExecutionOutcome:
        return self.runner.run(plugin=request.plugin, request=request)


class DeclaredService:
    runner: ToolRunner

    def execute(self, *, request: ExecutionRequest) -> ExecutionOutcome:
        return self.runner.run(plugin=request.plugin, request=request)


def hijack(*, service: PluginExecutionService, declared: DeclaredService, plugin: AnalysisPlugin) -> None:
    service.runner = plugin  # expect: mypy
    declared.runner = plugin  # expect: mypy
