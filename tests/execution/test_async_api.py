"""The async half of /v1 end to end: HTTP → services → the queue → a worker's task → ToolRunner →
real plugin → database and storage.

The worker is played by calling ``execution.tasks.run_job`` directly: it is the function django-q2
runs for a queued task, so calling it is exactly what a worker does, minus the process.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from django_q.models import OrmQ
from rest_framework.test import APIClient

from execution import exceptions, tasks
from execution.models import Job, JobMode, JobStatus
from execution.services import JobExecutionService
from execution.validation import ExecutionRequest
from registry.models import PluginRegistry, PluginState
from tests import images
from tests.conftest import b64
from tests.helpers import client_for, job_of, plugin_counts, plugin_row, queued_tasks

# media_root: async jobs store their image; every file of a test stays in its own directory.
pytestmark = pytest.mark.usefixtures("synced_registry", "media_root")

ASYNC = "/v1/analyze-execution/async"
JOBS = "/v1/analyze-execution/jobs"
RUN_JOB = "execution.tasks.run_job"


# --- helpers ------------------------------------------------------------------------------


def submit(client: APIClient, transport: str = "json", **body: Any) -> Any:
    """POST to the async endpoint as JSON (image in base64) or as multipart (image as a file)."""
    if transport == "json":
        if isinstance(body.get("image"), bytes):
            body["image"] = b64(body["image"])
        return client.post(ASYNC, body, format="json")
    image = body.pop("image")
    mime_type = body.pop("mime_type")
    body["image"] = SimpleUploadedFile("upload", image, mime_type)
    if "options" in body:
        body["options"] = json.dumps(body["options"])
    return client.post(ASYNC, body, format="multipart")


def accepted(client: APIClient, **body: Any) -> str:
    """Submit a job that must be accepted; returns its id. Its task is never queued here: the
    test's transaction never commits, so the on-commit callback is dropped."""
    response = submit(client, **body)
    assert response.status_code == 202, response.json()
    return response.json()["job_id"]


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def set_created_at(job_id: Any, minutes_ago: int) -> None:
    """Give jobs distinct creation times, so "newest first" is not decided by a tie."""
    Job.objects.filter(pk=job_id).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))


# --- submission ---------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["json", "multipart"])
def test_submit_answers_202_stores_the_image_and_queues_the_task_on_commit_only(
    api_client: APIClient,
    user: Any,
    media_root: Path,
    transport: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The worker looks the job up by id, so the task must leave only once the PENDING row (and
    its stored image) is committed: before the commit nothing is on the queue."""
    image = images.astronaut_jpeg()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = submit(
            api_client, transport, plugin="face-detection", image=image, mime_type="image/jpeg"
        )
        # Still inside the transaction: the task waits for the commit.
        assert OrmQ.objects.count() == 0
    # Leaving the block plays the commit: exactly one callback, and it queued the task.
    assert len(callbacks) == 1

    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"job_id", "status", "plugin", "created_at"}
    assert (body["status"], body["plugin"]) == ("PENDING", "face-detection")
    job_id = body["job_id"]
    assert response["Location"] == f"http://testserver{JOBS}/{job_id}"

    job = Job.objects.get(pk=job_id)
    assert (job.status, job.mode, job.created_by) == (JobStatus.PENDING, JobMode.ASYNC, user)
    assert job.mime_type == "image/jpeg"
    assert job.image_size == len(image)
    assert job.image_sha256 == hashlib.sha256(image).hexdigest()
    assert (job.started_at, job.result, job.error) == (None, None, None)
    assert job.image.name.startswith("jobs/")
    assert stored_files(media_root) == [Path(job.image.path)]
    with job.image.open("rb") as stored:
        assert stored.read() == image

    [task] = queued_tasks()
    assert task["func"] == RUN_JOB
    assert task["args"] == (job_id,)
    assert task["kwargs"] == {}


def test_submit_passes_the_options_to_the_worker(api_client: APIClient) -> None:
    """Options travel in the row, not in the task: the worker's run sees what the client sent."""
    job_id = accepted(
        api_client,
        plugin="test-echo",
        image=images.small_png(),
        mime_type="image/png",
        options={"level": 3},
    )

    assert tasks.run_job(job_id) == "SUCCESS"

    assert Job.objects.get(pk=job_id).result == {
        "size": len(images.small_png()),
        "mime_type": "image/png",
        "options": {"level": 3},
        "image_is_bytes": True,
    }


PNG = images.small_png()


DOOR_REFUSALS = [
    (
        {"plugin": "image-metadata", "image": "@@@", "mime_type": "image/png"},
        400,
        "ValidationError",
        "IMAGE_NOT_BASE64",
    ),
    (
        {"plugin": "image-metadata", "image": PNG, "mime_type": "text/plain"},
        400,
        "ValidationError",
        "MIME_TYPE_UNSUPPORTED",
    ),
    (
        {"plugin": "image-metadata", "image": PNG, "mime_type": "image/jpeg"},
        400,
        "ValidationError",
        "MIME_TYPE_MISMATCH",
    ),
    (
        {"plugin": "tarot-reader", "image": PNG, "mime_type": "image/png"},
        400,
        "PluginError",
        "PLUGIN_NOT_FOUND",
    ),
    (
        {"plugin": "test-echo", "image": PNG, "mime_type": "image/png", "options": {"level": -1}},
        400,
        "ValidationError",
        "OPTIONS_INVALID",
    ),
]


@pytest.mark.parametrize(
    ("transport", "body", "status", "error_type", "code"),
    [
        (transport, *refusal)
        for transport in ("json", "multipart")
        for refusal in DOOR_REFUSALS
        # A file part carries bytes: garbage base64 can only come as JSON.
        if transport == "json" or isinstance(refusal[0]["image"], bytes)
    ],
)
def test_input_refused_at_the_door_fails_the_job_and_queues_nothing(
    api_client: APIClient,
    media_root: Path,
    django_capture_on_commit_callbacks: Any,
    transport: str,
    body: dict[str, Any],
    status: int,
    error_type: str,
    code: str,
) -> None:
    """A client learns of garbage at once, from a FAILED job it can read back, and no worker is
    ever bothered with it: no task, and no image left behind in storage."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = submit(api_client, transport, **dict(body))

    assert response.status_code == status
    error = response.json()["error"]
    assert (error["type"], error["code"], error["plugin"]) == (error_type, code, body["plugin"])
    assert callbacks == []
    assert queued_tasks() == []
    assert stored_files(media_root) == []
    job = Job.objects.get(pk=error["job_id"])
    assert (job.status, job.mode, job.error_code) == (JobStatus.FAILED, JobMode.ASYNC, code)
    assert job.error == response.json()
    assert job.finished_at is not None
    assert not job.image


def test_an_oversized_image_is_refused_at_the_door_with_413(
    api_client: APIClient, settings: Any, media_root: Path
) -> None:
    settings.EXECUTION = {**settings.EXECUTION, "MAX_IMAGE_BYTES": 100}

    response = submit(api_client, plugin="image-metadata", image=PNG * 10, mime_type="image/png")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "IMAGE_TOO_LARGE"
    assert Job.objects.get().status == JobStatus.FAILED
    assert stored_files(media_root) == []


def test_a_malformed_async_request_writes_no_job(
    api_client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post(ASYNC, {"image": b64(PNG)}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "REQUEST_INVALID"
    assert "plugin" in response.json()["error"]["details"]["fields"]
    assert callbacks == []
    assert Job.objects.count() == 0


# --- the worker ---------------------------------------------------------------------------


def test_a_worker_runs_the_job_through_the_real_plugin_and_removes_the_image(
    api_client: APIClient, media_root: Path
) -> None:
    job_id = accepted(
        api_client,
        plugin="qr-code",
        image=images.qr_code_png("https://example.org/async/7"),
        mime_type="image/png",
    )

    assert tasks.run_job(job_id) == "SUCCESS"

    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.SUCCESS
    assert [code["text"] for code in job.result["codes"]] == ["https://example.org/async/7"]
    assert (job.error, job.error_code) == (None, "")
    assert job.worker == f"{socket.gethostname()}:{os.getpid()}"  # the task ran in this process
    assert job.created_at <= job.started_at <= job.finished_at
    assert job.execution_time_ms > 0
    assert not job.image
    assert stored_files(media_root) == []
    assert plugin_counts("qr-code") == (1, 0)

    response = api_client.get(f"{JOBS}/{job_id}/result")
    assert response.status_code == 200
    assert response.json() == {
        "job_id": job_id,
        "status": "SUCCESS",
        "plugin": "qr-code",
        "result": job.result,
        "error": None,
        "execution_time_ms": job.execution_time_ms,
    }
    detail = api_client.get(f"{JOBS}/{job_id}").json()
    assert (detail["status"], detail["mode"]) == ("SUCCESS", "ASYNC")


def test_faces_found_by_a_worker_in_a_real_photograph(api_client: APIClient) -> None:
    job_id = accepted(
        api_client, plugin="face-detection", image=images.astronaut_jpeg(), mime_type="image/jpeg"
    )

    tasks.run_job(job_id)

    result = api_client.get(f"{JOBS}/{job_id}/result").json()["result"]
    assert result["count"] == 1
    assert 150 < result["faces"][0]["x"] < 220


def test_a_failed_run_keeps_the_image_and_stores_the_envelope(
    api_client: APIClient, media_root: Path
) -> None:
    """A failed job's image is retained so an operator can look at it or re-run it; the client
    reads the envelope, never the traceback."""
    job_id = accepted(api_client, plugin="test-raises", image=PNG, mime_type="image/png")

    assert tasks.run_job(job_id) == "FAILED"

    job = Job.objects.get(pk=job_id)
    assert (job.status, job.error_code) == (JobStatus.FAILED, "PLUGIN_FAILED")
    assert job.error["error"]["type"] == "PluginError"
    assert (job.error["error"]["job_id"], job.error["error"]["plugin"]) == (job_id, "test-raises")
    assert set(job.error) == {"error"}
    assert "RuntimeError: model weights are corrupt" in job.error_traceback
    assert stored_files(media_root) == [Path(job.image.path)]
    with job.image.open("rb") as stored:
        assert stored.read() == PNG
    assert plugin_counts("test-raises") == (0, 1)

    response = api_client.get(f"{JOBS}/{job_id}/result")
    assert response.status_code == 200
    assert response.json() == {
        "job_id": job_id,
        "status": "FAILED",
        "plugin": "test-raises",
        "result": None,
        "error": job.error,
        "execution_time_ms": job.execution_time_ms,
    }
    assert "Traceback" not in response.content.decode()


def test_a_plugin_disabled_while_the_job_waited_fails_it_on_the_worker(
    api_client: APIClient,
) -> None:
    """The worker asks the registry again: an operator's decision made after the submission
    still holds."""
    job_id = accepted(api_client, plugin="image-metadata", image=PNG, mime_type="image/png")
    PluginRegistry.objects.filter(name="image-metadata").update(
        state=PluginState.UNAVAILABLE, reason="disabled by an operator (ops)"
    )

    assert tasks.run_job(job_id) == "FAILED"

    job = Job.objects.get(pk=job_id)
    assert job.error_code == "PLUGIN_UNAVAILABLE"
    assert job.error["error"]["details"] == {"reason": "disabled by an operator (ops)"}
    assert plugin_counts("image-metadata") == (0, 0)


def test_a_job_failed_on_the_worker_keeps_the_input_metadata_of_its_submission(
    api_client: APIClient,
) -> None:
    job_id = accepted(api_client, plugin="image-metadata", image=PNG, mime_type="image/png")
    PluginRegistry.objects.filter(name="image-metadata").update(
        state=PluginState.UNAVAILABLE, reason="disabled by an operator (ops)"
    )

    tasks.run_job(job_id)

    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.FAILED
    assert (job.image_size, job.image_sha256) == (len(PNG), hashlib.sha256(PNG).hexdigest())


def test_a_job_whose_stored_image_vanished_fails_with_image_missing(
    api_client: APIClient,
) -> None:
    """Storage lost the file (a wiped volume): the job fails with an envelope, not a crash."""
    job_id = accepted(api_client, plugin="image-metadata", image=PNG, mime_type="image/png")
    job = Job.objects.get(pk=job_id)
    job.image.storage.delete(job.image.name)

    assert tasks.run_job(job_id) == "FAILED"

    assert Job.objects.get(pk=job_id).error_code == "IMAGE_MISSING"


def test_a_redelivered_task_runs_the_plugin_once(api_client: APIClient) -> None:
    """The broker may deliver a task twice (a worker timed out, a retry); the conditional claim
    makes the second delivery a no-op instead of a second run and a second count."""
    job_id = accepted(api_client, plugin="image-metadata", image=PNG, mime_type="image/png")
    before = plugin_counts("image-metadata")

    assert tasks.run_job(job_id) == "SUCCESS"
    first = Job.objects.get(pk=job_id)
    assert tasks.run_job(job_id) is None

    again = Job.objects.get(pk=job_id)
    assert plugin_counts("image-metadata") == (before[0] + 1, before[1])
    assert (again.status, again.finished_at, again.result) == (
        JobStatus.SUCCESS,
        first.finished_at,
        first.result,
    )


def test_a_task_for_a_deleted_job_is_skipped() -> None:
    assert tasks.run_job("00000000-0000-0000-0000-000000000000") is None


# --- cancel -------------------------------------------------------------------------------


def test_cancel_a_pending_job_removes_its_image_and_the_worker_skips_it(
    api_client: APIClient, media_root: Path
) -> None:
    job_id = accepted(api_client, plugin="image-metadata", image=PNG, mime_type="image/png")
    assert len(stored_files(media_root)) == 1

    response = api_client.delete(f"{JOBS}/{job_id}")

    assert response.status_code == 200
    body = response.json()
    assert (body["job_id"], body["status"], body["mode"]) == (job_id, "CANCELLED", "ASYNC")
    assert body["finished_at"] is not None
    assert body["started_at"] is None
    assert stored_files(media_root) == []
    assert not Job.objects.get(pk=job_id).image

    assert tasks.run_job(job_id) is None

    job = Job.objects.get(pk=job_id)
    assert (job.status, job.started_at, job.worker) == (JobStatus.CANCELLED, None, "")
    assert plugin_counts("image-metadata") == (0, 0)
    result = api_client.get(f"{JOBS}/{job_id}/result")
    assert result.status_code == 200
    assert (result.json()["status"], result.json()["result"]) == ("CANCELLED", None)


def test_staff_can_cancel_any_clients_job(api_client: APIClient) -> None:
    job_id = accepted(api_client, plugin="image-metadata", image=PNG, mime_type="image/png")
    operator = get_user_model().objects.create_user(username="operator", is_staff=True)

    response = client_for(operator).delete(f"{JOBS}/{job_id}")

    assert response.status_code == 200
    assert Job.objects.get(pk=job_id).status == JobStatus.CANCELLED


def test_a_cancel_between_a_workers_load_and_its_claim_wins_and_nothing_runs(
    api_client: APIClient,
) -> None:
    """The worker read the job while it was PENDING; the client cancelled before the claim.
    The claim is a conditional UPDATE, so the stale instance cannot start the job."""
    job_id = accepted(api_client, plugin="image-metadata", image=PNG, mime_type="image/png")
    stale = Job.objects.get(pk=job_id)
    assert api_client.delete(f"{JOBS}/{job_id}").status_code == 200

    with pytest.raises(exceptions.JobStateConflict):
        JobExecutionService().run_job(
            job=stale,
            request=ExecutionRequest(plugin="image-metadata", image=PNG, mime_type="image/png"),
        )

    job = Job.objects.get(pk=job_id)
    assert (job.status, job.started_at, job.result) == (JobStatus.CANCELLED, None, None)
    assert plugin_counts("image-metadata") == (0, 0)


RACE_JOBS = 16


@pytest.mark.django_db(transaction=True)
def test_cancels_racing_a_worker_each_win_or_lose_cleanly(user: Any, media_root: Path) -> None:
    """One thread cancels every job (last first) while another runs them (first first), on
    their own connections with real commits. Whoever claims a job first wins it: a cancelled job
    never ran, a run job was never cancelled, and both sides' reports match the rows."""
    client = client_for(user)
    job_ids = [
        accepted(client, plugin="image-metadata", image=PNG, mime_type="image/png")
        for _ in range(RACE_JOBS)
    ]
    # Committed for real here: every submission's task reached the queue.
    assert sorted(task["args"][0] for task in queued_tasks()) == sorted(job_ids)
    before = plugin_counts("image-metadata")
    start = threading.Barrier(2)
    ran: dict[str, str | None] = {}
    cancels: dict[str, tuple[int, str | None]] = {}

    def work() -> None:
        try:
            start.wait()
            for job_id in job_ids:
                ran[job_id] = tasks.run_job(job_id)
        finally:
            connection.close()

    def cancel() -> None:
        client = client_for(user)
        try:
            start.wait()
            for job_id in reversed(job_ids):
                response = client.delete(f"{JOBS}/{job_id}")
                code = None if response.status_code == 200 else response.json()["error"]["code"]
                cancels[job_id] = (response.status_code, code)
        finally:
            connection.close()

    threads = [threading.Thread(target=work), threading.Thread(target=cancel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    jobs = {str(job.pk): job for job in Job.objects.filter(pk__in=job_ids)}
    cancelled = {job_id for job_id, job in jobs.items() if job.status == JobStatus.CANCELLED}
    succeeded = {job_id for job_id, job in jobs.items() if job.status == JobStatus.SUCCESS}
    assert cancelled | succeeded == set(job_ids)
    assert plugin_counts("image-metadata") == (before[0] + len(succeeded), before[1])
    assert {job_id for job_id, (status, _) in cancels.items() if status == 200} == cancelled
    for job_id in succeeded:
        assert cancels[job_id] in {(409, "JOB_ALREADY_FINISHED"), (409, "JOB_STATE_CONFLICT")}
        assert ran[job_id] == "SUCCESS"
    for job_id in cancelled:
        assert ran[job_id] is None
        assert (jobs[job_id].started_at, jobs[job_id].worker) == (None, "")
    assert stored_files(media_root) == []


# --- the list -----------------------------------------------------------------------------


@pytest.fixture
def listed_jobs(user: Any) -> dict[str, list[str]]:
    """Five jobs of the client (newest first) and one of another client, with set ages."""
    other = get_user_model().objects.create_user(username="other")
    made = [
        ("image-metadata", JobStatus.SUCCESS, user),
        ("qr-code", JobStatus.FAILED, user),
        ("image-metadata", JobStatus.FAILED, user),
        ("qr-code", JobStatus.PENDING, user),
        ("image-metadata", JobStatus.SUCCESS, other),
        ("qr-code", JobStatus.SUCCESS, user),
    ]
    ids: dict[str, list[str]] = {"mine": [], "other": []}
    for age, (plugin, status, owner) in enumerate(made):
        job = job_of(owner, status, plugin=plugin)
        set_created_at(job.pk, minutes_ago=age)
        ids["mine" if owner == user else "other"].append(str(job.pk))
    return ids


def listed(client: APIClient, query: str = "") -> list[str]:
    response = client.get(f"{JOBS}{query}")
    assert response.status_code == 200, response.json()
    return [job["job_id"] for job in response.json()["results"]]


def test_the_list_shows_the_clients_own_jobs_newest_first(
    api_client: APIClient, listed_jobs: dict[str, list[str]]
) -> None:
    response = api_client.get(JOBS)

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (5, None, None)
    assert [job["job_id"] for job in body["results"]] == listed_jobs["mine"]
    assert set(body["results"][0]) == {
        "job_id",
        "plugin",
        "mode",
        "status",
        "mime_type",
        "image_size",
        "image_sha256",
        "execution_time_ms",
        "error",
        "created_at",
        "started_at",
        "finished_at",
    }


def test_staff_see_every_clients_jobs(listed_jobs: dict[str, list[str]]) -> None:
    operator = get_user_model().objects.create_user(username="operator", is_staff=True)

    assert set(listed(client_for(operator))) == set(listed_jobs["mine"] + listed_jobs["other"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?status=success", [0, 4]),
        ("?status=Failed", [1, 2]),
        ("?status=PENDING", [3]),
        ("?status=cancelled", []),
        ("?plugin=qr-code", [1, 3, 4]),
        ("?plugin=qr-code&status=failed", [1]),
        ("?plugin=tarot-reader", []),
    ],
)
def test_the_list_filters_by_plugin_and_status_in_any_case(
    api_client: APIClient, listed_jobs: dict[str, list[str]], query: str, expected: list[int]
) -> None:
    assert listed(api_client, query) == [listed_jobs["mine"][index] for index in expected]


def test_an_unknown_status_filter_is_a_request_invalid_envelope(api_client: APIClient) -> None:
    response = api_client.get(f"{JOBS}?status=done")

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("ValidationError", "REQUEST_INVALID")
    assert list(error["details"]["fields"]) == ["status"]


def test_the_list_pages_by_the_configured_page_size(
    api_client: APIClient, user: Any, settings: Any
) -> None:
    """PAGE_SIZE + 1 jobs make two pages: a full first one linking (by cursor) to a second
    with one job, which page 2 names too; a page past the end is a 404 envelope."""
    page_size = settings.REST_FRAMEWORK["PAGE_SIZE"]
    Job.objects.bulk_create(
        Job(plugin="image-metadata", mode=JobMode.ASYNC, created_by=user)
        for _ in range(page_size + 1)
    )

    first = api_client.get(JOBS).json()
    assert (first["count"], len(first["results"])) == (page_size + 1, page_size)
    assert first["next"].startswith(f"http://testserver{JOBS}?cursor=")
    second = api_client.get(first["next"]).json()
    assert (len(second["results"]), second["next"]) == (1, None)
    assert api_client.get(f"{JOBS}?page=2").json()["results"] == second["results"]
    seen = {job["job_id"] for job in first["results"] + second["results"]}
    assert len(seen) == page_size + 1

    beyond = api_client.get(f"{JOBS}?page=3")
    assert beyond.status_code == 404
    assert beyond.json()["error"]["code"] == "NOT_FOUND"


def test_the_page_size_follows_a_settings_override(
    api_client: APIClient, listed_jobs: dict[str, list[str]], settings: Any
) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": 2}

    body = api_client.get(JOBS).json()

    assert (body["count"], len(body["results"])) == (5, 2)


@pytest.mark.django_db(transaction=True)
def test_a_job_the_queue_cannot_take_is_refused_with_503_and_left_failed(
    api_client: APIClient, media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker is a boundary we do not own: make it refuse, as a Redis that is down does.
    The client must hear it now, not wait for a job no worker will ever see."""
    from execution.services import job_execution

    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(job_execution, "async_task", broker_down)

    response = submit(
        api_client, plugin="image-metadata", image=images.small_png(), mime_type="image/png"
    )

    assert response.status_code == 503
    error = response.json()["error"]
    assert (error["code"], error["plugin"]) == ("SERVICE_UNAVAILABLE", "image-metadata")
    job = Job.objects.get(pk=error["job_id"])
    assert (job.status, job.error_code) == (JobStatus.FAILED, "SERVICE_UNAVAILABLE")
    assert "Connection refused" not in response.content.decode()


def test_a_run_stopped_at_the_worker_timeout_fails_its_job_at_once(
    api_client: APIClient, settings: Any
) -> None:
    """django-q2 stops a task past Q_TIMEOUT with its TimeoutException (a SystemExit) from a
    SIGALRM handler, as here: the job says EXECUTION_TIMEOUT at once, the run is counted once,
    its plugin process is stopped with it, and the worker process still stops."""
    from django_q.timeout import TimeoutHandler

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 1}
    job_id = accepted(
        api_client,
        plugin="test-sleeps",
        image=images.small_png(),
        mime_type="image/png",
        options={"seconds": 5},
    )

    with pytest.raises(SystemExit), TimeoutHandler(1):
        tasks.run_job(job_id)

    job = Job.objects.get(pk=job_id)
    assert (job.status, job.error_code) == (JobStatus.FAILED, "EXECUTION_TIMEOUT")
    assert job.error["error"]["details"] == {"timeout_seconds": 1}
    assert 900 < job.execution_time_ms < 5000
    plugin = plugin_row("test-sleeps")
    assert (plugin.plugin_fault_count, plugin.state) == (1, "FAILED")
