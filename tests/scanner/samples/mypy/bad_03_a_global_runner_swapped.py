"""A module's ToolRunner replaced by a plugin from a function that declares it ``global``."""

from execution.tool_runner import ExecutionOutcome, ToolRunner
from execution.validation import ExecutionRequest
from plugins.base import AnalysisPlugin

runner = ToolRunner()


def swap(*, plugin: AnalysisPlugin) -> None:
    global runner
    runner = plugin  # expect: mypy


def execute(*, request: ExecutionRequest) -> ExecutionOutcome:
    return runner.run(plugin=request.plugin, request=request)
