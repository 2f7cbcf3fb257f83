# scan-as: execution/selectors.py
from execution.models import Job


def job_get(job_id):
    raise Job.DoesNotExist(job_id)  # expect: EXE006
