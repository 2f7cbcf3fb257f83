# scan-as: execution/services/job_execution.py
def cancel(job):
    values = {"status": "CANCELLED", "reason": "cancelled"}  # expect: EXE004
    Job.objects.filter(pk=job.pk).update(**values)
