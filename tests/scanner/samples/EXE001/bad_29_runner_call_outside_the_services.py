# scan-as: execution/selectors.py
from execution.tool_runner import ToolRunner


def analyse(runner: ToolRunner, plugin, request):
    return runner.run(plugin=plugin, request=request)  # expect: EXE001
