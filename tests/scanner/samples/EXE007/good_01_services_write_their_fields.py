# scan-as: execution/services/job_execution.py
from django.utils import timezone

from execution.models import Job, JobStatus


def start(job):
    job.status = JobStatus.RUNNING
    Job.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(status=JobStatus.RUNNING)
    return Job.objects.create(plugin="faces", status=JobStatus.PENDING, created_at=timezone.now())
