# scan-as: execution/services/plugin_execution.py
from execution import tool_runner


def execute(plugin, payload):
    return tool_runner.run(plugin, payload)
