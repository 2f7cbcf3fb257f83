"""Async jobs on real django-q2 clusters: `manage.py qcluster` subprocesses on the test database.

Every test is transactional: the rows (jobs, the broker's queue on the ORM broker) are committed,
so the cluster's processes see them, and ``transaction.on_commit`` queues the task for real. The
first two run on the embedded set-up (SQLite, ORM broker); the scaled one in `make test`'s second
pass (PostgreSQL, Redis broker).
"""

from __future__ import annotations

import os
import signal
import socket
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule, Task
from django_q.scheduler import scheduler as django_q_scheduler
from PIL import Image
from rest_framework.test import APIClient

from execution import tasks
from execution.management.commands.ensure_schedules import SWEEP_NAME
from execution.models import Job, JobStatus
from execution.services.job_execution import RUN_JOB_TASK
from registry.models import PluginRegistry
from tests import images
from tests.conftest import b64
from tests.execution.cluster import QCluster, wait_for
from tests.execution.conftest import Q_RETRY

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("synced_registry"),
]

ANALYZE_ASYNC = "/v1/analyze-execution/async"
# Longer than Q_TIMEOUT, as the setting requires: no live job can be RUNNING for that long.
LOST_JOB_AFTER_SECONDS = 6


def submit(client: APIClient, plugin: str, image: bytes, mime_type: str, **options: Any) -> str:
    response = client.post(
        ANALYZE_ASYNC,
        {"plugin": plugin, "image": b64(image), "mime_type": mime_type, "options": options},
        format="json",
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "PENDING"
    assert response["Location"].endswith(f"/v1/analyze-execution/jobs/{body['job_id']}")
    return body["job_id"]


def status_of(job_id: str) -> str:
    return Job.objects.values_list("status", flat=True).get(pk=job_id)


def all_in(status: str, job_ids: list[str]) -> bool:
    return Job.objects.filter(pk__in=job_ids, status=status).count() == len(job_ids)


def worker_pid(job: Job) -> int:
    """The pid of the process that ran the job; Job.worker is "host:pid"."""
    host, _, pid = job.worker.rpartition(":")
    assert host == socket.gethostname()
    return int(pid)


def success_counts() -> dict[str, int]:
    return dict(PluginRegistry.objects.values_list("name", "success_count"))


def success_jobs_per_plugin() -> Counter[str]:
    return Counter(Job.objects.filter(status=JobStatus.SUCCESS).values_list("plugin", flat=True))


def make_overdue(job_id: str) -> None:
    """Age the job past LOST_JOB_AFTER_SECONDS instead of waiting: the sweep reads only the
    clock, and the job's worker is dead, so nothing else writes the row."""
    overdue = timedelta(seconds=LOST_JOB_AFTER_SECONDS + 1)
    Job.objects.filter(pk=job_id).update(started_at=F("started_at") - overdue)


def swept(report: dict[str, Any]) -> dict[str, Any]:
    """What the sweep did about lost jobs and their images (it also purges other things)."""
    return {key: report[key] for key in ("worker_lost", "images_purged")}


def stored_images(media_root: Path) -> list[str]:
    folder = media_root / "jobs"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


# --- One cluster on the embedded set-up (SQLite, ORM broker) ------------------------------


def test_jobs_go_pending_running_success_on_a_real_cluster(
    api_client: APIClient, start_cluster: Callable[..., QCluster], media_root: Path
) -> None:
    cluster = start_cluster(workers=2)

    slow = submit(api_client, "test-sleeps", images.small_png(), "image/png", seconds=1)
    faces = submit(api_client, "face-detection", images.astronaut_jpeg(), "image/jpeg")

    # A second of sleep: time to see it RUNNING, its image still waiting in storage.
    wait_for(lambda: status_of(slow) == JobStatus.RUNNING, timeout=15, what="RUNNING")
    running = Job.objects.get(pk=slow)
    assert running.started_at is not None
    assert running.finished_at is None
    assert worker_pid(running) in cluster.worker_pids()
    assert (media_root / running.image.name).is_file()

    wait_for(lambda: all_in(JobStatus.SUCCESS, [slow, faces]), timeout=30, what="SUCCESS")

    for job_id in (slow, faces):
        job = Job.objects.get(pk=job_id)
        assert job.started_at is not None
        assert job.finished_at is not None
        assert job.started_at <= job.finished_at
        assert worker_pid(job) in cluster.worker_pids()
        assert job.image.name == ""
        assert job.error is None
        detail = api_client.get(f"/v1/analyze-execution/jobs/{job_id}").json()
        assert (detail["status"], detail["error"]) == ("SUCCESS", None)
    # A finished job's image is removed from storage.
    assert stored_images(media_root) == []

    assert api_client.get(f"/v1/analyze-execution/jobs/{slow}/result").json()["result"] == {
        "slept": 1
    }
    face_result = api_client.get(f"/v1/analyze-execution/jobs/{faces}/result").json()["result"]
    assert face_result["count"] == 1
    counts = success_counts()
    assert (counts["test-sleeps"], counts["face-detection"]) == (1, 1)


def test_a_killed_worker_loses_only_its_job_and_the_sweep_fails_it(
    api_client: APIClient,
    start_cluster: Callable[..., QCluster],
    media_root: Path,
    settings: Any,
) -> None:
    settings.EXECUTION = {**settings.EXECUTION, "LOST_JOB_AFTER_SECONDS": LOST_JOB_AFTER_SECONDS}
    # One worker: whatever runs after the kill can only run on the worker the guard respawned.
    cluster = start_cluster(
        workers=1, env={"EXECUTION_LOST_JOB_AFTER_SECONDS": str(LOST_JOB_AFTER_SECONDS)}
    )
    (first_worker,) = cluster.worker_pids()

    # It would sleep past Q_TIMEOUT; its worker is killed long before.
    lost = submit(api_client, "test-sleeps", images.small_png(), "image/png", seconds=30)
    wait_for(lambda: status_of(lost) == JobStatus.RUNNING, timeout=15, what="RUNNING")
    assert worker_pid(Job.objects.get(pk=lost)) == first_worker
    # Queued behind the busy worker.
    quick = [
        submit(api_client, plugin, images.small_png(), "image/png")
        for plugin in ("image-metadata", "test-echo", "image-metadata", "test-echo")
    ]

    os.kill(first_worker, signal.SIGKILL)

    wait_for(lambda: all_in(JobStatus.SUCCESS, quick), timeout=30, what="the quick jobs")
    (respawned,) = cluster.worker_pids()
    assert respawned != first_worker
    assert {worker_pid(job) for job in Job.objects.filter(pk__in=quick)} == {respawned}
    # Nobody can finish a job whose worker died: it stays RUNNING until the sweep.
    assert status_of(lost) == JobStatus.RUNNING

    # The sweep as the cluster runs it, from this process, once the job is overdue.
    make_overdue(lost)
    assert swept(tasks.sweep()) == {"worker_lost": [lost], "images_purged": 0}
    job = Job.objects.get(pk=lost)
    assert (job.status, job.error_code) == (JobStatus.FAILED, "WORKER_LOST")
    assert job.error["error"]["code"] == "WORKER_LOST"
    assert job.error["error"]["plugin"] == "test-sleeps"
    assert job.error_traceback == f"No result from worker {job.worker}."
    assert job.finished_at is not None
    # A failed job keeps its image for the retention period.
    assert (media_root / job.image.name).is_file()

    # The scheduled sweep on the cluster: a second job loses its worker the same way.
    lost_too = submit(api_client, "test-sleeps", images.small_png(), "image/png", seconds=30)
    wait_for(lambda: status_of(lost_too) == JobStatus.RUNNING, timeout=15, what="RUNNING")
    os.kill(worker_pid(Job.objects.get(pk=lost_too)), signal.SIGKILL)
    # Scheduled only once the job is overdue, so the sweep's first run finds it.
    make_overdue(lost_too)
    call_command("ensure_schedules")
    Schedule.objects.filter(name=SWEEP_NAME).update(next_run=timezone.now() - timedelta(minutes=1))
    # What the cluster's scheduler does on its next tick (every 30 s, not configurable): turn
    # the due schedule into a task, which a worker of the cluster then runs.
    django_q_scheduler()
    # The task's record, which the monitor saves after the sweep has done its work.
    (sweep,) = wait_for(
        lambda: Task.objects.filter(func="execution.tasks.sweep"),
        timeout=15,
        interval=0.2,
        what="the scheduled sweep",
    )
    job = Job.objects.get(pk=lost_too)
    assert (job.status, job.error_code) == (JobStatus.FAILED, "WORKER_LOST")
    assert (sweep.success, sweep.group) == (True, SWEEP_NAME)
    assert swept(sweep.result) == {"worker_lost": [lost_too], "images_purged": 0}
    assert Schedule.objects.get(name=SWEEP_NAME).next_run > timezone.now()

    # The broker offers a lost task again after Q_RETRY; the worker refuses to run it twice.
    # (Successful run_job tasks leave no django-q2 record: the Job row is the record.)
    wait_for(
        lambda: all(f"Skipping job {job_id}: " in cluster.log() for job_id in (lost, lost_too)),
        timeout=Q_RETRY + 5,
        what="the redelivered tasks",
    )

    assert Job.objects.filter(status=JobStatus.RUNNING).count() == 0
    assert Counter(Job.objects.values_list("status", flat=True)) == {"SUCCESS": 4, "FAILED": 2}
    # No success counted for the lost runs, and each success counted once.
    counts = success_counts()
    assert counts["test-sleeps"] == 0
    assert success_jobs_per_plugin() == {"image-metadata": 2, "test-echo": 2}
    assert (counts["image-metadata"], counts["test-echo"]) == (2, 2)


# --- Two clusters on the scaled set-up (PostgreSQL, Redis broker) -------------------------

SHARES = {"image-metadata": 140, "qr-code": 40, "face-detection": 20}
# The text tests/execution/test_api.py reads too. Not one text per job: OpenCV 4.14's
# detectAndDecodeMulti, which the plugin uses, misses about 1 clean code in 13 (a plugin matter).
QR_TEXT = "https://example.org/job/42"


def sized_png(number: int) -> tuple[bytes, tuple[int, int]]:
    """A tiny PNG whose size is unique to ``number`` (< 200): each result names its own job."""
    size = (8 + number % 50, 6 + number // 50)
    return images.encode(Image.new("RGB", size, (200, 30, 30))), size


@pytest.mark.scaled
def test_two_clusters_share_200_jobs_and_run_each_once(
    api_client: APIClient, start_cluster: Callable[..., QCluster], media_root: Path
) -> None:
    assert connection.vendor == "postgresql"
    broker = get_broker()
    assert type(broker).__name__ == "Redis"
    broker.delete_queue()  # nothing left over from another run
    counts_before = success_counts()
    clusters = [start_cluster(workers=2), start_cluster(workers=2)]

    jobs: dict[str, str] = {}
    sizes: dict[str, tuple[int, int]] = {}
    for number in range(sum(SHARES.values())):
        # Interleaved, so every plugin's jobs are spread over the whole run.
        size = None
        if number % 10 == 0:
            plugin, image, mime_type = "face-detection", images.astronaut_jpeg(), "image/jpeg"
        elif number % 5 == 1:
            plugin, image, mime_type = "qr-code", images.qr_code_png(QR_TEXT), "image/png"
        else:
            (image, size), plugin, mime_type = sized_png(number), "image-metadata", "image/png"
        job_id = submit(api_client, plugin, image, mime_type)
        jobs[job_id] = plugin
        if size:
            sizes[job_id] = size
    assert Counter(jobs.values()) == SHARES

    wait_for(
        lambda: not Job.objects.filter(status__in=[JobStatus.PENDING, JobStatus.RUNNING]).exists(),
        timeout=90,
        interval=0.2,
        what="200 jobs to finish",
    )
    assert Counter(Job.objects.values_list("status", flat=True)) == {"SUCCESS": 200}

    # Each job ran once: counted once for its plugin, and one run_job task per job, which ran it.
    counts = success_counts()
    assert {name: counts[name] - counts_before[name] for name in SHARES} == SHARES
    assert success_jobs_per_plugin() == SHARES
    assert set(PluginRegistry.objects.values_list("plugin_fault_count", flat=True)) == {0}
    # No failed task either: django-q2 keeps those, and there are none.
    assert not Task.objects.filter(func=RUN_JOB_TASK).exists()

    results = {str(pk): result for pk, result in Job.objects.values_list("id", "result")}
    for job_id, plugin in jobs.items():
        if plugin == "face-detection":
            assert results[job_id]["count"] == 1
        elif plugin == "qr-code":
            assert [code["text"] for code in results[job_id]["codes"]] == [QR_TEXT]
        else:
            result = results[job_id]
            assert (result["format"], result["width"], result["height"]) == ("PNG", *sizes[job_id])
    assert stored_images(media_root) == []

    # Both clusters took work, and every job ran on a worker of one of them.
    pids = Counter(worker_pid(job) for job in Job.objects.all())
    per_cluster = [
        sum(count for pid, count in pids.items() if pid in cluster.announced_worker_pids())
        for cluster in clusters
    ]
    assert sum(per_cluster) == 200
    assert all(share > 0 for share in per_cluster), per_cluster
    assert broker.queue_size() == 0
