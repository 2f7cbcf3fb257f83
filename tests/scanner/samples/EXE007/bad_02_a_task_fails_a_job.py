# scan-as: execution/tasks.py
from execution.models import Job, JobStatus


def fail(job_id):
    Job.objects.filter(pk=job_id).update(status=JobStatus.FAILED)  # expect: EXE007
