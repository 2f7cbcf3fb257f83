from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from execution import exceptions
from execution.envelope import build_envelope, public_envelope
from execution.models import FINISHED_STATUSES, Job, JobMode, JobStatus
from execution.services.plugin_execution import PluginExecutionService
from execution.tool_runner import ExecutionOutcome
from execution.validation import ExecutionRequest, ValidatedInput

logger = logging.getLogger(__name__)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class JobExecutionService:
    """Owns the Job rows: PENDING → RUNNING → SUCCESS | FAILED, or PENDING → CANCELLED.

    Every transition is a conditional UPDATE on the current status, so two processes can never
    both move the same job (a redelivered task, a cancel racing a worker), and a finished job
    never moves again.
    """

    def __init__(self, *, plugins: PluginExecutionService | None = None) -> None:
        self.plugins = plugins or PluginExecutionService()

    def create_job(
        self,
        *,
        request: ExecutionRequest,
        mode: JobMode,
        user: Any = None,
        validated: ValidatedInput | None = None,
    ) -> Job:
        """A PENDING job; given the ``validated`` input, its image is stored for a worker."""
        job = Job(
            plugin=request.plugin,
            mode=mode,
            status=JobStatus.PENDING,
            mime_type=str(request.mime_type or "")[:100],
            options=request.options if isinstance(request.options, dict) else None,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        if validated is not None:
            job.image_size, job.image_sha256 = validated.size, validated.sha256
            job.image.save(str(job.pk), ContentFile(validated.payload["image"]), save=False)
        job.save(force_insert=True)
        return job

    def fail_job(self, *, job: Job, failure: exceptions.ExecutionFailure) -> Job:
        """Record a job refused before it could be queued (its input was rejected at the door)."""
        envelope = build_envelope(failure, job_id=str(job.pk), plugin=job.plugin)
        Job.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
            status=JobStatus.FAILED,
            error=public_envelope(envelope),
            error_code=failure.code,
            error_traceback=envelope.get("_internal", {}).get("traceback", ""),
            finished_at=timezone.now(),
        )
        job.refresh_from_db()
        return job

    def run_job(self, *, job: Job, request: ExecutionRequest) -> Job:
        claimed = Job.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
            status=JobStatus.RUNNING, started_at=timezone.now(), worker=_worker_name()
        )
        if not claimed:
            raise exceptions.JobStateConflict(
                "The job is no longer PENDING.", details={"job_id": str(job.pk)}
            )
        try:
            outcome = self.plugins.execute(request=request, job_id=str(job.pk))
        except exceptions.ExecutionFailure as failure:
            # Refused before the ToolRunner (unknown or unavailable plugin).
            outcome = ExecutionOutcome(
                plugin=request.plugin,
                error=build_envelope(failure, job_id=str(job.pk), plugin=request.plugin),
            )
        except Exception as error:
            logger.exception("Job %s failed outside the ToolRunner", job.pk)
            outcome = ExecutionOutcome(
                plugin=request.plugin,
                error=build_envelope(
                    exceptions.InternalError(),
                    job_id=str(job.pk),
                    plugin=request.plugin,
                    cause=error,
                ),
            )
        self._finish(job=job, outcome=outcome)
        job.refresh_from_db()
        if job.status == JobStatus.SUCCESS:
            self._delete_image(job)
        return job

    def _finish(self, *, job: Job, outcome: ExecutionOutcome) -> None:
        error = outcome.error
        Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            status=JobStatus.SUCCESS if outcome.succeeded else JobStatus.FAILED,
            result=outcome.result,
            error=public_envelope(error) if error else None,
            error_code=outcome.error_code,
            error_traceback=(error or {}).get("_internal", {}).get("traceback", ""),
            execution_time_ms=outcome.elapsed_ms if outcome.elapsed_ms else None,
            # A run refused before validation knows nothing of the input; keep what submission saw.
            image_size=outcome.image_size if outcome.image_size is not None else job.image_size,
            image_sha256=outcome.image_sha256 or job.image_sha256,
            finished_at=timezone.now(),
        )

    def cancel_job(self, *, job: Job) -> Job:
        cancelled = Job.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
            status=JobStatus.CANCELLED, finished_at=timezone.now()
        )
        job.refresh_from_db()
        if not cancelled:
            # Only a PENDING job can be cancelled; say what it is instead.
            failure_class = (
                exceptions.JobAlreadyFinished
                if job.status in FINISHED_STATUSES
                else exceptions.JobStateConflict
            )
            raise failure_class(
                f"The job is {job.status} and can no longer be cancelled.",
                details={"job_id": str(job.pk), "status": job.status},
            )
        self._delete_image(job)
        return job

    def fail_lost_jobs(self, *, older_than: timedelta) -> list[str]:
        """Jobs RUNNING for longer than any run may last lost their worker: fail them."""
        cutoff = timezone.now() - older_than
        lost = list(
            Job.objects.filter(status=JobStatus.RUNNING)
            .filter(Q(started_at__lt=cutoff) | Q(started_at__isnull=True))
            .values_list("pk", flat=True)
        )
        failed = []
        for job_id in lost:
            failure = exceptions.WorkerLost(
                details={"running_for_more_than_seconds": int(older_than.total_seconds())}
            )
            envelope = public_envelope(build_envelope(failure, job_id=str(job_id)))
            with transaction.atomic():
                job = Job.objects.select_for_update().filter(pk=job_id).first()
                if job is None or job.status != JobStatus.RUNNING:
                    continue  # it finished while we looked
                envelope["error"]["plugin"] = job.plugin
                Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
                    status=JobStatus.FAILED,
                    error=envelope,
                    error_code=failure.code,
                    error_traceback=f"No result from worker {job.worker or '(unknown)'}.",
                    finished_at=timezone.now(),
                )
            failed.append(str(job_id))
            logger.warning("Job %s lost its worker %s", job_id, job.worker)
        return failed

    def purge_expired_images(self, *, failed_older_than: timedelta) -> int:
        """Remove stored images no job needs any more: failed jobs past retention, and finished
        jobs whose file outlived them (a worker died between finishing and deleting)."""
        cutoff = timezone.now() - failed_older_than
        stale = (
            Job.objects.exclude(image="")
            .filter(status__in=FINISHED_STATUSES)
            .exclude(status=JobStatus.FAILED, finished_at__gte=cutoff)
        )
        purged = 0
        for job in stale:
            self._delete_image(job)
            purged += 1
        return purged

    def _delete_image(self, job: Job) -> None:
        if job.image:
            job.image.delete(save=False)
            Job.objects.filter(pk=job.pk).update(image="")
