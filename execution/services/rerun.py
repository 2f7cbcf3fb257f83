"""Re-running failed jobs: an operator's second try, through the same governed path as the first.

The new job is an ordinary async job (validated, stored, queued on commit, run by a worker's
ToolRunner); only its ``rerun_of`` says where it came from. The failed job is left as it was.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from execution import exceptions
from execution.conf import execution_settings
from execution.models import Job, JobStatus
from execution.services.analysis_execution import AnalysisExecutionService
from execution.validation import ExecutionRequest


def job_kept_image(*, job: Job) -> bytes | None:
    """The bytes of the job's stored image, or None once it is gone (a sync job never keeps
    one; a failed async job keeps it for FAILED_IMAGE_RETENTION_HOURS)."""
    if not job.image:
        return None
    try:
        with job.image.open("rb") as stored:
            return stored.read()
    except (ValueError, OSError):
        return None


def job_rerun(*, job: Job, user: Any) -> Job:
    """Queue a new job with the failed job's plugin, options and kept image; returns it (PENDING,
    or FAILED if the governed path refuses it now, for instance a plugin since disabled)."""
    if job.status != JobStatus.FAILED:
        raise exceptions.JobStateConflict(
            f"Only FAILED jobs can be re-run; this one is {job.status}.",
            job_id=str(job.pk),
            details={"job_id": str(job.pk), "status": job.status},
        )
    image = job_kept_image(job=job)
    if image is None:
        hours = execution_settings.FAILED_IMAGE_RETENTION_HOURS
        raise exceptions.ImageNotKept(
            "The image of this job is gone: sync jobs keep none, and failed async jobs keep "
            f"theirs for {hours} hours.",
            job_id=str(job.pk),
            details={"job_id": str(job.pk), "failed_image_retention_hours": hours},
        )
    request = ExecutionRequest(
        plugin=job.plugin, image=image, mime_type=job.mime_type, options=job.options or {}
    )
    # One transaction: the link is committed with the new row, before its task leaves.
    with transaction.atomic():
        rerun = AnalysisExecutionService().submit(request=request, user=user)
        Job.objects.filter(pk=rerun.pk).update(rerun_of=job)
    rerun.rerun_of = job
    return rerun
