# scan-as: execution/services/job_execution.py
def execute(plugin, payload):
    return vars(plugin)["run"](payload)  # expect: EXE001
