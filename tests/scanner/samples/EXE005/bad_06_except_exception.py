# scan-as: execution/services/job_execution.py
def execute(call, payload):
    try:
        result = call(payload)
    except Exception:  # expect: EXE005
        result = None
    return result
