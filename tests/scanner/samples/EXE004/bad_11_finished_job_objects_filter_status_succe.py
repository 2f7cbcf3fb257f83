# scan-as: execution/selectors.py
FINISHED = Job.objects.filter(status="SUCCEEDED")  # expect: EXE004
