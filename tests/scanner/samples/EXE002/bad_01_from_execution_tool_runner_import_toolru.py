# scan-as: execution/views.py
from execution.tool_runner import ToolRunner  # expect: EXE002
