from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone

from execution import exceptions
from execution.envelope import build_envelope, public_envelope
from execution.models import Job, JobMode, JobStatus
from execution.services.plugin_execution import PluginExecutionService
from execution.tool_runner import ExecutionOutcome
from execution.validation import ExecutionRequest

logger = logging.getLogger(__name__)


class JobExecutionService:
    """Owns the Job rows: PENDING → RUNNING → SUCCESS | FAILED.

    Every transition is a conditional UPDATE on the current status, so two processes can never
    both move the same job, and a finished job never moves again.
    """

    def __init__(self, *, plugins: PluginExecutionService | None = None) -> None:
        self.plugins = plugins or PluginExecutionService()

    def create_job(self, *, request: ExecutionRequest, mode: JobMode, user: Any = None) -> Job:
        options = request.options if isinstance(request.options, dict) else None
        return Job.objects.create(
            plugin=request.plugin,
            mode=mode,
            status=JobStatus.PENDING,
            mime_type=str(request.mime_type or "")[:100],
            options=options,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )

    def run_job(self, *, job: Job, request: ExecutionRequest) -> Job:
        claimed = Job.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
            status=JobStatus.RUNNING, started_at=timezone.now()
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
            image_size=outcome.image_size,
            image_sha256=outcome.image_sha256,
            finished_at=timezone.now(),
        )
