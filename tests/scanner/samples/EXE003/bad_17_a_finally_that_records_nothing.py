# scan-as: execution/tool_runner/__init__.py
import time


class ToolRunner:
    def run(self, plugin, payload):
        started = time.monotonic()
        try:
            return plugin.run(payload)
        finally:
            elapsed = time.monotonic() - started  # expect: EXE003
