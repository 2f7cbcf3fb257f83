"""Retention: the sweep deletes finished jobs past their age, failed ones kept longer."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from execution import tasks
from execution.models import Job, JobMode, JobStatus
from execution.services.retention import jobs_delete_expired

pytestmark = [pytest.mark.django_db, pytest.mark.every_database]

DAY = timedelta(days=1)


def finished(status: JobStatus, *, ago: timedelta, **fields: Any) -> Job:
    return Job.objects.create(
        plugin="image-metadata",
        mode=JobMode.ASYNC,
        status=status,
        finished_at=timezone.now() - ago,
        **fields,
    )


def test_sweep_deletes_successes_after_their_age_and_failures_after_theirs(
    settings: Any, media_root: Path
) -> None:
    settings.EXECUTION = {
        **settings.EXECUTION,
        "JOB_RETENTION_DAYS": 7,
        "FAILED_JOB_RETENTION_DAYS": 30,
    }
    old_success = finished(JobStatus.SUCCESS, ago=8 * DAY)
    old_cancelled = finished(JobStatus.CANCELLED, ago=8 * DAY)
    recent_success = finished(JobStatus.SUCCESS, ago=6 * DAY)
    failed_kept = finished(JobStatus.FAILED, ago=8 * DAY)
    failed_old = finished(JobStatus.FAILED, ago=31 * DAY)
    failed_old.image.save(str(failed_old.pk), ContentFile(b"png"))
    rerun = finished(JobStatus.SUCCESS, ago=DAY, rerun_of=failed_old)
    running = Job.objects.create(plugin="ocr", mode=JobMode.ASYNC, status=JobStatus.RUNNING)

    report = tasks.sweep()

    assert report["jobs_deleted"] == 3
    remaining = set(Job.objects.values_list("pk", flat=True))
    assert remaining == {recent_success.pk, failed_kept.pk, rerun.pk, running.pk}
    assert not (media_root / "jobs" / str(failed_old.pk)).exists()
    assert {old_success.pk, old_cancelled.pk}.isdisjoint(remaining)
    assert Job.objects.get(pk=rerun.pk).rerun_of is None


def test_zero_keeps_jobs_for_ever(settings: Any) -> None:
    settings.EXECUTION = {
        **settings.EXECUTION,
        "JOB_RETENTION_DAYS": 0,
        "FAILED_JOB_RETENTION_DAYS": 0,
    }
    finished(JobStatus.SUCCESS, ago=1000 * DAY)

    assert tasks.sweep()["jobs_deleted"] == 0
    assert Job.objects.count() == 1


def test_deletes_in_small_batches_up_to_a_cap_per_sweep() -> None:
    Job.objects.bulk_create(
        Job(
            plugin="ocr",
            mode=JobMode.SYNC,
            status=JobStatus.SUCCESS,
            finished_at=timezone.now() - 2 * DAY,
        )
        for _ in range(25)
    )

    with CaptureQueriesContext(connection) as queries:
        deleted = jobs_delete_expired(
            succeeded_older_than=DAY, failed_older_than=None, batch_size=10, max_rows=22
        )

    assert deleted == 22
    assert Job.objects.count() == 3
    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 10 + 10 + 2: no statement touches more than a batch
