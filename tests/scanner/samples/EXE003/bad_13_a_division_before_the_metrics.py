# scan-as: execution/tool_runner.py
import time

from registry.services import update_execution_metrics


class ToolRunner:
    def run(self, *, plugin, request, scale):
        started = time.monotonic()
        try:
            return plugin.run(request)
        finally:
            elapsed = (time.monotonic() - started) / scale  # expect: EXE003
            update_execution_metrics(plugin_name=plugin.name, elapsed_ms=elapsed)
