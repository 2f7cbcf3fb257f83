"""A name holding the ToolRunner, given a plugin on one path: mypy types it by its first value."""

from execution.tool_runner import ExecutionOutcome, ToolRunner
from execution.validation import ExecutionRequest
from plugins.base import AnalysisPlugin


def execute(*, plugin: AnalysisPlugin, request: ExecutionRequest, fast: bool) -> ExecutionOutcome:
    runner = ToolRunner()
    if fast:
        runner = plugin  # expect: mypy
    return runner.run(plugin=request.plugin, request=request)
