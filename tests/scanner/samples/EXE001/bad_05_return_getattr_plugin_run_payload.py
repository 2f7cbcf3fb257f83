# scan-as: execution/services/job_execution.py
def execute(plugin, payload):
    return getattr(plugin, "run")(payload)  # expect: EXE001
