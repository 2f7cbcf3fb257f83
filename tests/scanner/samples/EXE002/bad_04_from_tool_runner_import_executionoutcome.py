# scan-as: execution/admin.py
from .tool_runner import ExecutionOutcome  # expect: EXE002
