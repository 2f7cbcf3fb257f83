# scan-as: execution/api/views.py
from rest_framework.response import Response

from execution.models import Job, JobStatus
from execution.services import AnalysisExecutionService


def cancel(request, job_id):
    AnalysisExecutionService().cancel_job(job_id=job_id)
    finished = Job.objects.filter(status=JobStatus.SUCCESS).count()
    return Response({"status": "cancelled", "finished": finished}, status=200)
