# scan-as: execution/tool_runner.py
"""Runs plugins."""

import time

from execution.exceptions import PluginError
from registry import services as registry_services


class Outcome:
    pass


class ToolRunner:
    def run(self, plugin, payload):
        """Run one plugin, always recording metrics."""
        outcome = Outcome()
        started = time.monotonic()
        try:
            outcome.result = plugin.run(payload)
        except Exception as error:
            raise PluginError(plugin=plugin.name) from error
        finally:
            registry_services.update_execution_metrics(plugin.name, time.monotonic() - started)
        return outcome
