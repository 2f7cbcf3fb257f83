# scan-as: execution/services/plugin_execution.py
from typing import Optional

from execution.tool_runner import ToolRunner as Runner


def execute(plugin, payload, runner: Optional[Runner] = None):
    tool_runner = runner if runner is not None else Runner()
    return tool_runner.run(plugin, payload)
