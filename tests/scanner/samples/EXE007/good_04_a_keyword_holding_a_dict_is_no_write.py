# scan-as: execution/api/views.py
from execution.models import Job

SUMMARY = {"status": "ok"}


def annotate(job_id):
    Job.objects.filter(pk=job_id).update(result=SUMMARY)
