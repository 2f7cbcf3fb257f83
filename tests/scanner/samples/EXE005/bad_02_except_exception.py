# scan-as: execution/services/job_execution.py
def execute(call, payload):
    try:
        return call(payload)
    except Exception:  # expect: EXE005
        pass
