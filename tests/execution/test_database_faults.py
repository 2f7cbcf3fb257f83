"""A database that is away when a run ends: never a 500, and every run counted exactly once.

The fault is real: another connection holds SQLite's write lock (as a long migration or a stuck
transaction would) past the busy timeout, which is lowered here so the test takes seconds.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from execution.deferred_writes import wait_for_deferred_writes
from execution.models import Job, JobStatus
from execution.services import AnalysisExecutionService
from registry.models import PluginState
from tests import images
from tests.conftest import b64
from tests.envelopes import envelope
from tests.execution.cluster import wait_for
from tests.helpers import plugin_row

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("synced_registry"),
]


@pytest.fixture
def short_busy_timeout() -> Iterator[None]:
    """Connections made from now on give up on a lock after 1 s (every connection of this
    process shares the settings dict, so the request's and the retrying thread's do too)."""
    if connection.vendor != "sqlite":
        pytest.fail("this test holds SQLite's write lock")
    options = connection.settings_dict["OPTIONS"]
    saved = options["timeout"]
    options["timeout"] = 1
    connection.close()
    yield
    options["timeout"] = saved
    connection.close()


def sleep_in_a_thread(client: APIClient, seconds: float) -> tuple[threading.Thread, list[Any]]:
    responses: list[Any] = []

    def post() -> None:
        try:
            responses.append(
                client.post(
                    "/v1/analyze-execution",
                    {
                        "plugin": "test-sleeps",
                        "image": b64(images.small_png()),
                        "mime_type": "image/png",
                        "options": {"seconds": seconds},
                    },
                    format="json",
                )
            )
        finally:
            connection.close()

    thread = threading.Thread(target=post)
    thread.start()
    return thread, responses


def running_job() -> Job:
    """The job, once its plugin is running (the claim and the RUNNING state are committed)."""
    wait_for(
        lambda: plugin_row("test-sleeps").state == PluginState.RUNNING, timeout=20, what="RUNNING"
    )
    return Job.objects.get(status=JobStatus.RUNNING)


@pytest.mark.usefixtures("short_busy_timeout")
def test_a_run_whose_record_meets_a_locked_database_answers_503_and_is_recorded_later(
    api_client: APIClient,
) -> None:
    thread, responses = sleep_in_a_thread(api_client, 1.0)
    job = running_job()
    lock = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")  # the write lock, until ROLLBACK
        thread.join(timeout=30)
        [response] = responses

        error = envelope(response, 503, "SERVICE_UNAVAILABLE")
        assert error["job_id"] == str(job.pk)
        assert error["details"] == {"job_id": str(job.pk)}
        assert response["Retry-After"] == "5"
        # Nothing is written while the lock is held: the job waits, still RUNNING, uncounted.
        assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING
        assert plugin_row("test-sleeps").success_count == 0
    finally:
        lock.execute("ROLLBACK")
        lock.close()

    assert wait_for_deferred_writes(timeout=30)
    job.refresh_from_db()
    assert (job.status, job.result) == (JobStatus.SUCCESS, {"slept": 1.0})
    row = plugin_row("test-sleeps")
    assert (row.success_count, row.plugin_fault_count, row.state) == (
        1,
        0,
        PluginState.INITIALIZED,
    )
    # The sweep finds nothing to settle: counted once.
    assert AnalysisExecutionService().jobs.fail_lost_jobs(older_than=timedelta(0)) == []
    assert plugin_row("test-sleeps").success_count == 1


def test_a_run_the_sweep_settled_first_is_not_counted_again(api_client: APIClient) -> None:
    thread, responses = sleep_in_a_thread(api_client, 1.0)
    job = running_job()

    assert AnalysisExecutionService().jobs.fail_lost_jobs(older_than=timedelta(0)) == [str(job.pk)]
    thread.join(timeout=30)

    envelope(responses[0], 400, "WORKER_LOST")
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "WORKER_LOST")
    row = plugin_row("test-sleeps")
    assert (row.success_count, row.plugin_fault_count) == (0, 1)
