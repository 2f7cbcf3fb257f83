# scan-as: execution/api/views.py
from execution import services

RUNNER_CLASS = services.ToolRunner  # expect: EXE002
