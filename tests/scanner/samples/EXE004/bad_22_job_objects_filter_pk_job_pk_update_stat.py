# scan-as: execution/services/job_execution.py
def fail(job):
    Job.objects.filter(pk=job.pk).update(**{"status": "FAILED"})  # expect: EXE004
