from registry.services import update_execution_metrics


class ToolRunner:
    def run(self, *, plugin_name, request):
        try:
            return self.pool.execute(plugin_name, request)
        finally:
            state, reason = _lifecycle_after(plugin_name)
            update_execution_metrics(plugin_name=plugin_name, state=state, reason=reason)


def _lifecycle_after(plugin_name):
    return None, ""


def _metric_outcome(outcome):
    return "success"
