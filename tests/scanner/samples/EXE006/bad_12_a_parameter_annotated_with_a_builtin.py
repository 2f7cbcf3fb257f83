# scan-as: execution/services/job_execution.py
def fail(error: ValueError) -> None:
    raise error  # expect: EXE006
