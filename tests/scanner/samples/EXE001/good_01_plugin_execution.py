# scan-as: execution/services/plugin_execution.py
from execution.tool_runner import ToolRunner


def execute(plugin, payload):
    return ToolRunner().run(plugin, payload)
