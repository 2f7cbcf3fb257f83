"""The overview on the admin index: executions and latency, plugins not healthy, jobs in flight,
the worker cluster and the sweep."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule

from execution.dashboard import BROKER_TIMEOUT_SECONDS, sweep_figures
from execution.management.commands.ensure_schedules import SWEEP_NAME
from execution.models import Job, JobMode, JobStatus
from execution.selectors import SWEEP_GRACE
from registry import services as registry_services
from registry.models import PluginRegistry

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("synced_registry")]


def test_index_shows_unhealthy_plugins_and_jobs_in_flight(ops_client: Client) -> None:
    registry_services.plugin_disable(
        plugin=PluginRegistry.objects.get(name="ocr"), by="ops", reason="maintenance"
    )
    now = timezone.now()
    for minutes in (5, 50):
        job = Job.objects.create(plugin="ocr", mode=JobMode.ASYNC, status=JobStatus.PENDING)
        Job.objects.filter(pk=job.pk).update(created_at=now - timedelta(minutes=minutes))
    Job.objects.create(
        plugin="ocr",
        mode=JobMode.ASYNC,
        status=JobStatus.RUNNING,
        started_at=now - timedelta(hours=2),
    )

    response = ops_client.get("/admin/")

    overview = response.context["overview"]
    assert [(row.status, row.count) for row in overview.queue] == [("PENDING", 2), ("RUNNING", 1)]
    html = response.content.decode()
    assert "oldest 50\xa0minutes ago" in html
    assert "oldest 2\xa0hours ago" in html
    assert "disabled by an operator (ops: maintenance)" in html
    assert [plugin.name for plugin in overview.unhealthy] == ["ocr"]


def test_index_says_when_no_cluster_runs_and_the_sweep_is_not_scheduled(ops_client: Client) -> None:
    html = ops_client.get("/admin/").content.decode()

    assert "No worker cluster seen" in html
    assert "not scheduled" in html


@pytest.fixture
def redis_broker_at(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """django-q2 configured for a Redis broker at the given address (its Conf is read once, at
    import: the settings alone would not move it)."""

    def configure(url: str) -> None:
        monkeypatch.setattr(Conf, "ORM", None)
        monkeypatch.setattr(Conf, "BROKER_CLASS", None)
        monkeypatch.setattr(Conf, "REDIS", url)

    return configure


def test_index_answers_with_the_clusters_unknown_when_redis_is_down(
    ops_client: Client, redis_broker_at: Callable[[str], None]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redis_broker_at(f"redis://127.0.0.1:{port}/0")

    response = ops_client.get("/admin/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Worker clusters unknown: the broker did not answer: ConnectionError" in html
    assert "No worker cluster seen" not in html
    assert "not scheduled" in html  # the rest of the overview is there


def test_index_gives_up_on_a_redis_that_never_answers(
    ops_client: Client, redis_broker_at: Callable[[str], None]
) -> None:
    """A Redis that accepts connections and never replies (paused, or a network dropping the
    replies) holds the page for the broker's timeout, not for ever."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes connections; nothing ever reads or answers
        redis_broker_at(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")

        started = time.monotonic()
        response = ops_client.get("/admin/")
        waited = time.monotonic() - started

    assert response.status_code == 200
    assert "the broker did not answer: TimeoutError" in response.content.decode()
    assert BROKER_TIMEOUT_SECONDS <= waited < BROKER_TIMEOUT_SECONDS + 5


def test_sweep_is_on_time_until_it_is_an_interval_and_the_grace_overdue(settings: Any) -> None:
    settings.EXECUTION = {**settings.EXECUTION, "SWEEP_INTERVAL_MINUTES": 5}
    call_command("ensure_schedules")
    now = timezone.now()
    limit = now - timedelta(minutes=5) - SWEEP_GRACE
    Schedule.objects.filter(name=SWEEP_NAME).update(next_run=limit + timedelta(seconds=1))
    assert sweep_figures(now=now).on_time

    Schedule.objects.filter(name=SWEEP_NAME).update(next_run=limit - timedelta(seconds=1))
    assert not sweep_figures(now=now).on_time
