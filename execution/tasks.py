"""django-q2 tasks: thin, they load by id and call the service."""

from __future__ import annotations

from typing import Any

from execution.services import AnalysisExecutionService


def run_job(job_id: str) -> str | None:
    job = AnalysisExecutionService().run_queued(job_id=job_id)
    return job.status if job else None


def sweep() -> dict[str, Any]:
    return AnalysisExecutionService().sweep()
