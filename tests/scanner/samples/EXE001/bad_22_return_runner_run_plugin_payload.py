# scan-as: execution/services/plugin_execution.py
from execution.tool_runner import ToolRunner


def execute(plugin, payload, fast):
    runner = ToolRunner()
    if fast:
        runner = plugin
    return runner.run(plugin, payload)  # expect: EXE001
