"""Re-running a failed job: a new async job through the governed path, with the kept image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from execution import exceptions, tasks
from execution.models import Job, JobMode, JobStatus
from execution.services import AnalysisExecutionService
from execution.services.rerun import job_rerun
from execution.validation import ExecutionRequest
from registry import services as registry_services
from registry.models import PluginRegistry
from tests import images
from tests.helpers import queued_tasks

pytestmark = pytest.mark.usefixtures("synced_registry", "media_root")


def failed_async_job(user: Any) -> Job:
    """An async job that failed on its worker while its plugin was disabled; its image is kept."""
    plugin = PluginRegistry.objects.get(name="image-metadata")
    job = AnalysisExecutionService().submit(
        request=ExecutionRequest(
            plugin="image-metadata", image=images.small_png(), mime_type="image/png"
        ),
        user=user,
    )
    registry_services.plugin_disable(plugin=plugin, by="ops", reason="maintenance")
    assert tasks.run_job(str(job.pk)) == JobStatus.FAILED
    registry_services.plugin_enable(plugin=plugin)
    job.refresh_from_db()
    assert job.image
    return job


@pytest.mark.django_db(transaction=True)
def test_rerun_queues_a_new_job_that_succeeds_and_leaves_the_old_one_alone(
    user: Any, media_root: Path
) -> None:
    failed = failed_async_job(user)
    before = Job.objects.filter(pk=failed.pk).values().get()

    rerun = job_rerun(job=failed, user=user)

    assert (rerun.status, rerun.mode, rerun.plugin) == (
        JobStatus.PENDING,
        JobMode.ASYNC,
        failed.plugin,
    )
    assert rerun.image_sha256 == failed.image_sha256
    assert [task["args"] for task in queued_tasks()][-1] == (str(rerun.pk),)
    assert tasks.run_job(str(rerun.pk)) == JobStatus.SUCCESS
    assert Job.objects.filter(pk=failed.pk).values().get() == before
    assert list(failed.reruns.values_list("pk", flat=True)) == [rerun.pk]
    assert Job.objects.get(pk=rerun.pk).result["width"] == 8


@pytest.mark.django_db
def test_a_job_whose_image_is_gone_says_so_and_nothing_is_created(user: Any) -> None:
    failed = Job.objects.create(
        plugin="image-metadata", mode=JobMode.SYNC, status=JobStatus.FAILED, error_code="X"
    )

    with pytest.raises(exceptions.ImageNotKept, match="image of this job is gone"):
        job_rerun(job=failed, user=user)

    assert Job.objects.count() == 1
    assert queued_tasks() == []


@pytest.mark.django_db
def test_only_failed_jobs_are_rerun(user: Any) -> None:
    done = Job.objects.create(plugin="image-metadata", mode=JobMode.SYNC, status=JobStatus.SUCCESS)

    with pytest.raises(exceptions.JobStateConflict, match="this one is SUCCESS"):
        job_rerun(job=done, user=user)

    assert Job.objects.count() == 1
