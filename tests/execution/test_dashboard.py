"""The overview on the admin index: executions and latency, plugins not healthy, jobs in flight,
the worker cluster and the sweep."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule

from execution.dashboard import sweep_figures
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


def test_sweep_is_on_time_until_it_is_an_interval_and_the_grace_overdue(settings: Any) -> None:
    settings.EXECUTION = {**settings.EXECUTION, "SWEEP_INTERVAL_MINUTES": 5}
    call_command("ensure_schedules")
    now = timezone.now()
    limit = now - timedelta(minutes=5) - SWEEP_GRACE
    Schedule.objects.filter(name=SWEEP_NAME).update(next_run=limit + timedelta(seconds=1))
    assert sweep_figures(now=now).on_time

    Schedule.objects.filter(name=SWEEP_NAME).update(next_run=limit - timedelta(seconds=1))
    assert not sweep_figures(now=now).on_time
