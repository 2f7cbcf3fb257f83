from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction

from execution import exceptions
from execution.conf import execution_settings
from execution.models import Job, JobMode, JobStatus
from execution.services.idempotency import idempotency_purge_expired
from execution.services.job_execution import JobExecutionService, enqueue_job
from execution.services.retention import jobs_delete_expired
from execution.services.storage_quota import storage_quota_check
from execution.validation import ExecutionRequest

logger = logging.getLogger(__name__)

# A lost task is queued again this many times in all before its job fails with QUEUE_LOST.
MAX_ENQUEUES = 3


class AnalysisExecutionService:
    """The entry point of the governed path for the API, the CLI and workers."""

    def __init__(self, *, jobs: JobExecutionService | None = None) -> None:
        self.jobs = jobs or JobExecutionService()

    def execute(self, *, request: ExecutionRequest, user: Any = None) -> Job:
        """Run one plugin now. The returned job is finished: SUCCESS or FAILED."""
        return self.jobs.run_sync(request=request, user=user)

    def submit(self, *, request: ExecutionRequest, user: Any = None) -> Job:
        """Accept a job for a worker. Returns it PENDING, or FAILED if its input is refused.

        The input is checked now, so a client learns of garbage at once rather than from a job
        that fails later; the worker's ToolRunner checks it again, as it checks every run.
        """
        try:
            validated = self.jobs.plugins.validate(request=request)
            storage_quota_check(user=user, size=validated.size)
        except exceptions.ExecutionFailure as failure:
            job = self.jobs.create_job(request=request, mode=JobMode.ASYNC, user=user)
            return self.jobs.fail_job(job=job, failure=failure)

        with transaction.atomic():
            job = self.jobs.create_job(
                request=request, mode=JobMode.ASYNC, user=user, validated=validated
            )
            # The task carries the id only, and leaves only once the PENDING row is committed:
            # a worker never looks for a job that is not there yet.
            transaction.on_commit(lambda: self._enqueue(job))
        return job

    def _enqueue(self, job: Job) -> None:
        try:
            enqueue_job(job.pk)
        except Exception:
            # The broker is down: say so now (503) rather than accept a job nobody will run.
            logger.exception("Could not queue job %s", job.pk)
            failure = exceptions.ServiceUnavailable("The job queue is unavailable; retry later.")
            self.jobs.fail_job(job=job, failure=failure)  # refreshes ``job``: the view sees it

    def run_queued(self, *, job_id: str) -> Job | None:
        """Run a queued job on this worker, unless it was cancelled or already taken."""
        job = Job.objects.filter(pk=job_id).first()
        if job is None or job.status != JobStatus.PENDING:
            logger.info("Skipping job %s: %s", job_id, job.status if job else "deleted")
            return None
        image: bytes | None
        try:
            with job.image.open("rb") as stored:
                image = stored.read()
        except (ValueError, OSError):
            image = None  # the ToolRunner reports IMAGE_MISSING on the job
        request = ExecutionRequest(
            plugin=job.plugin, image=image, mime_type=job.mime_type, options=job.options
        )
        try:
            return self.jobs.run_job(job=job, request=request)
        except exceptions.JobStateConflict:
            logger.info("Job %s was claimed or cancelled meanwhile", job_id)
            return None

    def cancel(self, *, job: Job) -> Job:
        return self.jobs.cancel_job(job=job)

    def sweep(self) -> dict[str, Any]:
        """Fail jobs whose worker was lost, queue lost tasks again, and forget images,
        idempotency keys and finished jobs past their time."""
        lost_after = timedelta(seconds=execution_settings.LOST_JOB_AFTER_SECONDS)
        lost = self.jobs.fail_lost_jobs(older_than=lost_after)
        queue = self.jobs.requeue_lost_tasks(
            older_than=timedelta(seconds=execution_settings.REQUEUE_AFTER_SECONDS),
            max_enqueues=MAX_ENQUEUES,
        )
        purged = self.jobs.purge_expired_images(
            failed_older_than=timedelta(hours=execution_settings.FAILED_IMAGE_RETENTION_HOURS)
        )
        return {
            "worker_lost": lost,
            **queue,
            "images_purged": purged,
            "idempotency_keys_purged": idempotency_purge_expired(),
            "jobs_deleted": jobs_delete_expired(
                succeeded_older_than=_days(execution_settings.JOB_RETENTION_DAYS),
                failed_older_than=_days(execution_settings.FAILED_JOB_RETENTION_DAYS),
            ),
        }


def _days(days: int) -> timedelta | None:
    """A retention in days; 0 keeps for ever."""
    return timedelta(days=days) if days > 0 else None
