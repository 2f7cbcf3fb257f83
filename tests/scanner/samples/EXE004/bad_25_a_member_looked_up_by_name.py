# scan-as: execution/services/job_execution.py
from execution.models import JobStatus
from registry.models import PluginState


def finish(job):
    job.status = JobStatus["SUCCESS"]  # expect: EXE004
    return job.plugin_state == PluginState("LOADED")  # expect: EXE004
