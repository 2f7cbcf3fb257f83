# scan-as: execution/services/job_execution.py
def done(job):
    Job.objects.filter(pk=job.pk).update(**{"status": "DONE"})  # expect: EXE004
