# scan-as: execution/views/jobs.py
from ..tool_runner import ToolRunner  # expect: EXE002
