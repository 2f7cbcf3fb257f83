# scan-as: execution/services/plugin_execution.py
import execution.tool_runner


def build_runner() -> execution.tool_runner.ToolRunner:
    return execution.tool_runner.ToolRunner()


def execute(plugin, payload):
    return build_runner().run(plugin, payload)
