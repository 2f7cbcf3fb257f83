# scan-as: registry/views/plugins.py
from execution.services import ToolRunner  # expect: EXE002
