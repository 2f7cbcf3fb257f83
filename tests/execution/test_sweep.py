"""The sweep: the periodic clean-up that fails jobs whose worker died and removes stored images
no job needs any more, and the schedule that runs it on the worker cluster."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from execution import exceptions, tasks
from execution.models import Job, JobMode, JobStatus
from execution.services import AnalysisExecutionService, JobExecutionService
from execution.services.job_execution import JobRecord
from execution.tool_runner import ExecutionOutcome, ToolRunner
from execution.validation import ExecutionRequest
from registry.models import PluginMetricsBucket
from tests import images
from tests.helpers import job_of, plugin_counts, queued_tasks

pytestmark = pytest.mark.django_db

LOST_AFTER_SECONDS = 60
REQUEUE_AFTER_SECONDS = 600
RETENTION_HOURS = 24


@pytest.fixture(autouse=True)
def sweep_settings(settings: Any, media_root: Path) -> None:
    """Short, explicit limits, so ages in the tests read against them; files under media_root."""
    settings.EXECUTION = {
        **settings.EXECUTION,
        "LOST_JOB_AFTER_SECONDS": LOST_AFTER_SECONDS,
        "REQUEUE_AFTER_SECONDS": REQUEUE_AFTER_SECONDS,
        "FAILED_IMAGE_RETENTION_HOURS": RETENTION_HOURS,
    }


def make_job(
    status: JobStatus,
    *,
    plugin: str = "image-metadata",
    started_ago: timedelta | None = None,
    finished_ago: timedelta | None = None,
    with_image: bool = False,
) -> Job:
    """An async job as the services leave it, aged by hand (the sweep only reads the clock)."""
    now = timezone.now()
    job = Job(
        plugin=plugin,
        mode=JobMode.ASYNC,
        status=status,
        mime_type="image/png",
        worker="worker-7:4242" if started_ago is not None else "",
        started_at=now - started_ago if started_ago is not None else None,
        finished_at=now - finished_ago if finished_ago is not None else None,
    )
    if with_image:
        job.image.save(str(job.pk), ContentFile(images.small_png()), save=False)
    job.save(force_insert=True)
    return job


def has_file(job: Job) -> bool:
    """Both halves of "the image is gone": the row forgot it and storage no longer has it."""
    fresh = Job.objects.get(pk=job.pk)
    stored = bool(job.image) and job.image.storage.exists(job.image.name)
    assert bool(fresh.image) == stored, "the row and storage disagree about the image"
    return stored


def jobs_and_images(report: dict[str, Any]) -> dict[str, Any]:
    """The sweep's report on jobs and images (it reports on other clean-ups too)."""
    return {key: report[key] for key in ("worker_lost", "images_purged")}


def snapshot(job: Job) -> tuple[Any, ...]:
    fresh = Job.objects.get(pk=job.pk)
    return (fresh.status, fresh.error, fresh.error_code, fresh.finished_at, fresh.image.name)


# --- lost workers -------------------------------------------------------------------------


def test_a_job_running_past_the_limit_fails_with_worker_lost() -> None:
    """A worker killed mid-run (OOM, deploy) never reports; without the sweep its job would be
    RUNNING forever and its client would poll forever."""
    lost = make_job(
        JobStatus.RUNNING,
        plugin="face-detection",
        started_ago=timedelta(seconds=LOST_AFTER_SECONDS + 30),
    )

    report = AnalysisExecutionService().sweep()

    assert jobs_and_images(report) == {"worker_lost": [str(lost.pk)], "images_purged": 0}
    job = Job.objects.get(pk=lost.pk)
    assert (job.status, job.error_code) == (JobStatus.FAILED, "WORKER_LOST")
    assert job.finished_at is not None
    assert job.error == {
        "error": {
            "type": "ExecutionError",
            "code": "WORKER_LOST",
            "message": exceptions.WorkerLost.default_message,
            "details": {"running_for_more_than_seconds": LOST_AFTER_SECONDS},
            "plugin": "face-detection",
            "job_id": str(lost.pk),
            "timestamp": job.error["error"]["timestamp"],
        }
    }
    assert job.error["error"]["timestamp"].endswith("Z")
    assert job.error_traceback == "No result from worker worker-7:4242."
    assert job.result is None


def test_the_envelope_of_a_lost_job_is_what_its_client_reads(api_client: Any, user: Any) -> None:
    lost = make_job(JobStatus.RUNNING, started_ago=timedelta(hours=1))
    Job.objects.filter(pk=lost.pk).update(created_by=user)

    tasks.sweep()

    response = api_client.get(f"/v1/analyze-execution/jobs/{lost.pk}/result")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["result"]) == ("FAILED", None)
    assert body["error"] == Job.objects.get(pk=lost.pk).error


def test_a_recent_running_job_and_unstarted_or_finished_jobs_are_left_alone() -> None:
    """Only age in RUNNING means a lost worker: a slow queue (old PENDING) or an old finished job
    says nothing about a worker."""
    long_ago = timedelta(seconds=LOST_AFTER_SECONDS * 100)
    jobs = [
        make_job(JobStatus.RUNNING, started_ago=timedelta(seconds=LOST_AFTER_SECONDS - 20)),
        make_job(JobStatus.PENDING),
        make_job(JobStatus.SUCCESS, started_ago=long_ago, finished_ago=long_ago),
        make_job(JobStatus.FAILED, started_ago=long_ago, finished_ago=timedelta(hours=1)),
        make_job(JobStatus.CANCELLED, finished_ago=long_ago),
    ]
    Job.objects.filter(status=JobStatus.PENDING).update(created_at=timezone.now() - long_ago)
    before = [snapshot(job) for job in jobs]

    report = AnalysisExecutionService().sweep()

    assert jobs_and_images(report) == {"worker_lost": [], "images_purged": 0}
    assert [snapshot(job) for job in jobs] == before


def test_a_running_job_with_no_start_time_is_lost_too() -> None:
    """Only a hand-edited row can be RUNNING without a start; it must not stay RUNNING forever."""
    job = make_job(JobStatus.RUNNING)

    report = AnalysisExecutionService().sweep()

    assert report["worker_lost"] == [str(job.pk)]
    assert Job.objects.get(pk=job.pk).error_code == "WORKER_LOST"


def test_a_late_finish_does_not_overwrite_the_sweeps_verdict() -> None:
    """The worker was only slow, not dead, and reports after the sweep failed its job. The
    client may already have read WORKER_LOST, so the job must not change its story: the finish
    is a conditional UPDATE on RUNNING and finds nothing to update."""
    job = make_job(JobStatus.RUNNING, started_ago=timedelta(hours=1), with_image=True)
    tasks.sweep()
    swept = snapshot(job)

    late = JobExecutionService()._finish(
        JobRecord(job), ExecutionOutcome(plugin=job.plugin, result={"format": "PNG"})
    )

    assert late.superseded
    assert (swept[0], swept[2]) == (JobStatus.FAILED, "WORKER_LOST")
    assert snapshot(job) == swept
    assert Job.objects.get(pk=job.pk).result is None
    assert has_file(job)  # still FAILED, so still retained


@pytest.mark.every_database
@pytest.mark.usefixtures("synced_registry")
def test_a_run_that_ends_after_the_sweep_failed_its_job_is_not_counted_again() -> None:
    """The ToolRunner's finally hands the job's record to the registry, which writes it before
    the count (on PostgreSQL in the same statement): the sweep counted the lost run already, so
    this finish moves no row and adds nothing, neither to the counts nor to the hourly buckets."""
    job = make_job(JobStatus.RUNNING, started_ago=timedelta(hours=1))
    tasks.sweep()
    swept, counted = snapshot(job), plugin_counts(job.plugin)
    buckets = sorted(PluginMetricsBucket.objects.values_list("outcome", "count"))

    outcome = ToolRunner().run(
        plugin=job.plugin,
        request=ExecutionRequest(
            plugin=job.plugin, image=images.small_png(), mime_type="image/png"
        ),
        job_id=str(job.pk),
        record=JobRecord(job),
    )

    assert outcome.succeeded
    assert outcome.superseded
    assert outcome.recorded
    assert snapshot(job) == swept
    assert plugin_counts(job.plugin) == counted == (0, 1)
    assert sorted(PluginMetricsBucket.objects.values_list("outcome", "count")) == buckets


def test_a_second_sweep_finds_nothing_more_to_do() -> None:
    make_job(JobStatus.RUNNING, started_ago=timedelta(hours=1))
    make_job(JobStatus.SUCCESS, finished_ago=timedelta(minutes=1), with_image=True)

    first = tasks.sweep()

    assert (len(first["worker_lost"]), first["images_purged"]) == (1, 1)
    assert jobs_and_images(tasks.sweep()) == {"worker_lost": [], "images_purged": 0}


# --- stored images ------------------------------------------------------------------------


def test_images_are_purged_once_no_job_needs_them(media_root: Path) -> None:
    """A failed job's image is kept for the retention period (an operator may look at it or re-run
    it), then removed; a finished job that still has one lost its worker between finishing and
    deleting, and needs it no more; a waiting or running job still needs its image."""
    hours = timedelta(hours=1)
    expired = make_job(
        JobStatus.FAILED, finished_ago=(RETENTION_HOURS + 1) * hours, with_image=True
    )
    retained = make_job(
        JobStatus.FAILED, finished_ago=(RETENTION_HOURS - 1) * hours, with_image=True
    )
    succeeded = make_job(JobStatus.SUCCESS, finished_ago=timedelta(seconds=5), with_image=True)
    cancelled = make_job(JobStatus.CANCELLED, finished_ago=timedelta(seconds=5), with_image=True)
    pending = make_job(JobStatus.PENDING, with_image=True)
    running = make_job(JobStatus.RUNNING, started_ago=timedelta(seconds=5), with_image=True)
    assert len(list((media_root / "jobs").iterdir())) == 6

    report = tasks.sweep()

    assert jobs_and_images(report) == {"worker_lost": [], "images_purged": 3}
    assert [has_file(job) for job in (expired, succeeded, cancelled)] == [False] * 3
    assert [has_file(job) for job in (retained, pending, running)] == [True] * 3
    assert sorted(path.name for path in (media_root / "jobs").iterdir()) == sorted(
        Path(job.image.name).name for job in (retained, pending, running)
    )
    assert Job.objects.get(pk=expired.pk).status == JobStatus.FAILED  # the row stays


def test_a_job_failed_by_the_sweep_keeps_its_image_for_the_retention_period() -> None:
    """Retention counts from the failure, not from the submission: an operator gets the full
    period to look at the image of a job whose worker died."""
    lost = make_job(JobStatus.RUNNING, started_ago=timedelta(hours=RETENTION_HOURS * 2))
    lost.image.save(str(lost.pk), ContentFile(images.small_png()))

    report = tasks.sweep()

    assert jobs_and_images(report) == {"worker_lost": [str(lost.pk)], "images_purged": 0}
    assert has_file(lost)


def test_a_purge_survives_an_image_already_gone_from_storage() -> None:
    """The row still names a file someone removed by hand: the sweep clears the row and goes on,
    rather than failing every minute on the same job."""
    job = make_job(JobStatus.SUCCESS, finished_ago=timedelta(minutes=1), with_image=True)
    job.image.storage.delete(job.image.name)

    assert jobs_and_images(tasks.sweep()) == {"worker_lost": [], "images_purged": 1}
    assert not Job.objects.get(pk=job.pk).image


# --- the schedule -------------------------------------------------------------------------


def ensure_schedules() -> str:
    out = io.StringIO()
    call_command("ensure_schedules", stdout=out)
    return out.getvalue()


def test_ensure_schedules_creates_one_sweep_schedule_and_is_idempotent(settings: Any) -> None:
    """It runs on every deploy: it must converge on one schedule, with the interval in the
    settings, however often it runs."""
    settings.EXECUTION = {**settings.EXECUTION, "SWEEP_INTERVAL_MINUTES": 2}
    out = ensure_schedules()

    assert out == "Sweep scheduled every 2 minute(s).\n"
    [schedule] = Schedule.objects.all()
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        "execution.tasks.sweep",
        Schedule.MINUTES,
        2,
        -1,
    )

    settings.EXECUTION = {**settings.EXECUTION, "SWEEP_INTERVAL_MINUTES": 5}
    assert ensure_schedules() == "Sweep scheduled every 5 minute(s).\n"
    ensure_schedules()

    [again] = Schedule.objects.filter(func="execution.tasks.sweep")
    assert again.pk == schedule.pk
    assert again.minutes == 5
    assert Schedule.objects.count() == 1


# --- lost tasks and lost sync requests ----------------------------------------------------


def queued_task_args() -> list[tuple[Any, ...]]:
    return [task["args"] for task in queued_tasks()]


def test_a_pending_job_whose_task_was_lost_is_queued_again_then_failed() -> None:
    job = make_job(JobStatus.PENDING)
    stale = timezone.now() - timedelta(seconds=REQUEUE_AFTER_SECONDS + 5)
    Job.objects.filter(pk=job.pk).update(queued_at=stale, enqueue_count=1)

    report = AnalysisExecutionService().sweep()

    assert report["requeued"] == [str(job.pk)]
    assert queued_task_args() == [(str(job.pk),)]
    job.refresh_from_db()
    assert (job.status, job.enqueue_count) == (JobStatus.PENDING, 2)
    assert AnalysisExecutionService().sweep()["requeued"] == []  # queued just now

    Job.objects.filter(pk=job.pk).update(queued_at=stale, enqueue_count=3)
    report = AnalysisExecutionService().sweep()

    assert report["queue_lost"] == [str(job.pk)]
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "QUEUE_LOST")


def test_a_pending_job_waiting_less_than_the_limit_is_left_in_the_queue() -> None:
    job = make_job(JobStatus.PENDING)
    Job.objects.filter(pk=job.pk).update(queued_at=timezone.now(), enqueue_count=1)

    report = AnalysisExecutionService().sweep()

    assert (report["requeued"], report["queue_lost"]) == ([], [])
    assert queued_task_args() == []


def test_a_sync_job_left_pending_by_a_dead_process_is_lost() -> None:
    job = job_of(None, plugin="ocr", mode=JobMode.SYNC)
    Job.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(seconds=LOST_AFTER_SECONDS + 5)
    )

    assert AnalysisExecutionService().sweep()["worker_lost"] == [str(job.pk)]
    assert Job.objects.get(pk=job.pk).error_code == "WORKER_LOST"
