# scan-as: execution/tool_runner.py
import logging

from registry.services import update_execution_metrics

logger = logging.getLogger(__name__)


class ToolRunner:
    async def run(self, plugin, payload):
        try:
            return await plugin.run(payload)
        finally:
            try:
                update_execution_metrics(plugin.name)
            except Exception:
                logger.exception("metrics for %s were not recorded", plugin)
