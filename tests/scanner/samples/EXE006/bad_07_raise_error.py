# scan-as: execution/services/job_execution.py
def execute(name):
    error = KeyError(name)
    raise error  # expect: EXE006
