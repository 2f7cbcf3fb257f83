# scan-as: execution/services/job_execution.py
def done(job):
    job.status = "DONE"  # expect: EXE004
