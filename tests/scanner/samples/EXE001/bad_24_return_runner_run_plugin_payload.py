# scan-as: execution/services/plugin_execution.py
from execution.tool_runner import ToolRunner

runner = ToolRunner()


def swap(plugin):
    global runner
    runner = plugin


def execute(plugin, payload):
    return runner.run(plugin, payload)  # expect: EXE001
