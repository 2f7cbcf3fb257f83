# scan-as: execution/services/job_execution.py
def f():
    raise RuntimeError("x")  # expect: EXE006
