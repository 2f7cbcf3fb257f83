# scan-as: registry/health.py
from execution.tool_runner import ToolRunner


def probe(plugin):
    return ToolRunner().run(plugin, {})  # expect: EXE001
