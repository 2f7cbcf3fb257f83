# scan-as: execution/services/job_execution.py
def done(job):
    job.status = JobStatus.DONE  # expect: EXE004
