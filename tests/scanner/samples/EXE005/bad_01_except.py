# scan-as: execution/services/job_execution.py
def execute(call, payload):
    try:
        return call(payload)
    except:  # expect: EXE005
        raise
