from __future__ import annotations

from typing import Any

from execution.models import Job, JobMode
from execution.services.job_execution import JobExecutionService
from execution.validation import ExecutionRequest


class AnalysisExecutionService:
    """The entry point of the governed path for the API, the CLI and workers."""

    def __init__(self, *, jobs: JobExecutionService | None = None) -> None:
        self.jobs = jobs or JobExecutionService()

    def execute(self, *, request: ExecutionRequest, user: Any = None) -> Job:
        """Run one plugin now. The returned job is finished: SUCCESS or FAILED."""
        job = self.jobs.create_job(request=request, mode=JobMode.SYNC, user=user)
        return self.jobs.run_job(job=job, request=request)
