"""ToolRunner.run called through the class, with a plugin where the ToolRunner goes."""

from execution.tool_runner import ExecutionOutcome, ToolRunner
from execution.validation import ExecutionRequest
from plugins.base import AnalysisPlugin


def execute(*, plugin: AnalysisPlugin, request: ExecutionRequest) -> ExecutionOutcome:
    return ToolRunner.run(plugin, plugin=request.plugin, request=request)  # expect: mypy
