"""A state or status that is not a member of its enum (EXE004 holds each enum to its five)."""

from execution.models import Job, JobStatus
from registry.models import PluginRegistry, PluginState


def healthy(*, plugin: PluginRegistry) -> bool:
    return plugin.state == PluginState.SUCCESS  # expect: mypy


def done(*, job: Job) -> None:
    job.status = JobStatus.DONE  # expect: mypy
