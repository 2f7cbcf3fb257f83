# scan-as: execution/management/commands/run_plugin.py
import importlib

module = importlib.import_module("execution.tool_runner")  # expect: EXE002
