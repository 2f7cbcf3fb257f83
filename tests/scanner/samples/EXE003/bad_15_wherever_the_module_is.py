# scan-as: execution/hosting/runner.py
class ToolRunner:
    def run(self, *, plugin_name, request):
        try:
            return self.pool.execute(plugin_name, request)
        finally:
            self.log(plugin_name)  # expect: EXE003
            update_execution_metrics(plugin_name=plugin_name)
