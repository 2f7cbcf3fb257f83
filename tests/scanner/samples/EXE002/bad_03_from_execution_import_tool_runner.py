# scan-as: execution/tasks.py
from execution import tool_runner  # expect: EXE002
