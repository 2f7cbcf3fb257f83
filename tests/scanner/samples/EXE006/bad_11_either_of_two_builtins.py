# scan-as: execution/services/job_execution.py
def load(job, missing):
    raise (LookupError if missing else ValueError)(job)  # expect: EXE006
