# scan-as: execution/tool_runner.py
class ToolRunner:
    def run(self, plugin, payload):
        try:
            return plugin.run(payload)
        finally:
            logger.info("ran %s", plugin)  # expect: EXE003
