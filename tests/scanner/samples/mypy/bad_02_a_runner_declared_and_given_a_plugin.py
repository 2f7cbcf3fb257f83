"""A plugin stored under a declaration that says ToolRunner."""

from execution.tool_runner import ExecutionOutcome, ToolRunner
from execution.validation import ExecutionRequest
from plugins.base import AnalysisPlugin


def execute(*, plugin: AnalysisPlugin, request: ExecutionRequest) -> ExecutionOutcome:
    runner: ToolRunner = plugin  # expect: mypy
    return runner.run(plugin=request.plugin, request=request)
