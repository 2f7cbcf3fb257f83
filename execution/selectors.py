"""Reads of jobs, named for their readers."""

from __future__ import annotations

import uuid
from typing import Any

from execution.models import Job, JobQuerySet


def job_get(*, job_id: str, user: Any) -> Job | None:
    """The job if it exists and ``user`` may see it; an id that is not a UUID finds nothing."""
    try:
        pk = uuid.UUID(str(job_id))
    except ValueError:
        return None
    return Job.objects.visible_to(user).filter(pk=pk).first()


def job_list(*, user: Any, plugin: str | None = None, status: str | None = None) -> JobQuerySet:
    # A list shows neither options nor results: they are not read either.
    jobs = Job.objects.visible_to(user).order_by("-created_at").defer("options", "result")
    if plugin:
        jobs = jobs.filter(plugin__iexact=plugin)
    if status:
        jobs = jobs.filter(status=status.upper())
    return jobs
