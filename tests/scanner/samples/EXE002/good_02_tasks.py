# scan-as: execution/services/tasks.py
from execution.tool_runner import ToolRunner

DEFAULT = ToolRunner
