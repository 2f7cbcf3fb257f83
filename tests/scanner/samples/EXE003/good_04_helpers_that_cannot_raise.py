# scan-as: execution/tool_runner.py
import time
from dataclasses import dataclass

from registry import services as registry_services


@dataclass
class ExecutionOutcome:
    plugin: str
    elapsed_ms: float = 0.0


class ToolRunner:
    def run(self, *, plugin, request):
        outcome = ExecutionOutcome(plugin=plugin.name)
        plugin_ran = False
        started = time.perf_counter()
        try:
            plugin_ran = True
            outcome.result = plugin.run(request)
        finally:
            outcome.elapsed_ms = (time.perf_counter() - started) * 1000
            state, reason = _lifecycle_after(outcome, plugin_ran=plugin_ran)
            registry_services.update_execution_metrics(
                plugin_name=plugin.name, state=state, elapsed_ms=outcome.elapsed_ms, reason=reason
            )
        return outcome


def _lifecycle_after(outcome, *, plugin_ran):
    return None, ""


def _metric_outcome(outcome):
    return "success"
