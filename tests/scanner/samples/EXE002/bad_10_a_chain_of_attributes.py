# scan-as: execution/tasks.py
import execution


def runner_class():
    return execution.tool_runner.ToolRunner  # expect: EXE002
