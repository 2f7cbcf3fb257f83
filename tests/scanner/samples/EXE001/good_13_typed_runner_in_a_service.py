# scan-as: execution/services/plugin_execution.py
from execution.tool_runner import ExecutionOutcome, ToolRunner
from execution.validation import ExecutionRequest


def execute(*, runner: ToolRunner, plugin_name: str, request: ExecutionRequest) -> ExecutionOutcome:
    return runner.run(plugin_name=plugin_name, request=request)
