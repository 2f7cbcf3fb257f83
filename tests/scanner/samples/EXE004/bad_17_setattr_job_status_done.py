# scan-as: execution/services/job_execution.py
def done(job):
    setattr(job, "status", "DONE")  # expect: EXE004
