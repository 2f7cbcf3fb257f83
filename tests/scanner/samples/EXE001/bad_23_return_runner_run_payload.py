# scan-as: execution/services/plugin_execution.py
from execution.tool_runner import ToolRunner


def execute(plugin, payload):
    runner: ToolRunner = plugin
    return runner.run(payload)  # expect: EXE001
