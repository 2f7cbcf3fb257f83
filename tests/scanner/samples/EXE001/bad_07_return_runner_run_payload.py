# scan-as: execution/services/plugin_execution.py
from registry.services import get_plugin


def execute(payload):
    runner = get_plugin("faces")
    return runner.run(payload)  # expect: EXE001
