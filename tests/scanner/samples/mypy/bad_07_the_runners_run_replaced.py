"""The ToolRunner's ``run`` replaced, so that calling it would call something else."""

from collections.abc import Callable

from execution.tool_runner import ExecutionOutcome, ToolRunner


def instrument(*, runner: ToolRunner, wrapper: Callable[..., ExecutionOutcome]) -> None:
    runner.run = wrapper  # expect: mypy
