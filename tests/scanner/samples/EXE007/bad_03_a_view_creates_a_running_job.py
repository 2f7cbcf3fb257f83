# scan-as: execution/api/views.py
from execution.models import Job, JobStatus


def start(plugin):
    return Job(plugin=plugin, status=JobStatus.RUNNING)  # expect: EXE007
