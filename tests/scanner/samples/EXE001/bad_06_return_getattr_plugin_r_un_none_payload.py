# scan-as: execution/services/job_execution.py
def execute(plugin, payload):
    return getattr(plugin, "r" + "un", None)(payload)  # expect: EXE001
