# scan-as: execution/tasks.py
from importlib import import_module

module = import_module(".tool_runner", package="execution")  # expect: EXE002
