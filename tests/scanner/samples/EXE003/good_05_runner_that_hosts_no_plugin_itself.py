# scan-as: execution/hosting/runner.py
from registry.services import update_execution_metrics


class ToolRunner:
    def run(self, *, plugin_name, request):
        try:
            return self.pool.execute(plugin_name, request)
        finally:
            update_execution_metrics(plugin_name=plugin_name)
