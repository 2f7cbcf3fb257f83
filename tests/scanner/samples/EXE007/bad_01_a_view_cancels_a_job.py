# scan-as: execution/api/views.py
from execution.models import JobStatus


def cancel(job):
    job.status = JobStatus.CANCELLED  # expect: EXE007
    job.save()
