# scan-as: execution/services/job_execution.py
FIELD = "status"


def fail(job):
    setattr(job, FIELD, "FAILED")  # expect: EXE004
