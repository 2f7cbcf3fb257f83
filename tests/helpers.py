"""Small helpers the test modules share: clients, registry counts, the queue, job rows, and
what a plugin left behind."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psutil
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from execution.models import Job, JobMode, JobStatus
from registry.models import PluginRegistry
from tests.execution.cluster import wait_for


def client_for(user: Any) -> APIClient:
    """A client authenticated with the user's token (made on first use, then reused)."""
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def plugin_row(name: str) -> PluginRegistry:
    """The plugin's registry row as read now, with its average annotated."""
    return PluginRegistry.objects.with_average().get(name=name)


def plugin_counts(name: str) -> tuple[int, int]:
    """(success_count, error_count) of the plugin, as read now."""
    plugin = plugin_row(name)
    return plugin.success_count, plugin.error_count


def queued_tasks() -> list[dict[str, Any]]:
    """The task packages waiting on the ORM broker, oldest first, decoded as a worker would."""
    return [SignedPackage.loads(row.payload) for row in OrmQ.objects.order_by("id")]


def job_of(
    user: Any,
    status: JobStatus = JobStatus.PENDING,
    *,
    plugin: str = "image-metadata",
    mode: JobMode = JobMode.ASYNC,
    **fields: Any,
) -> Job:
    """A job row of the user's, written directly (no request, no run, no stored image)."""
    return Job.objects.create(plugin=plugin, mode=mode, status=status, created_by=user, **fields)


def running(pid: int) -> bool:
    """The process is there and not a zombie (a killed orphan is one until init reaps it)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@contextmanager
def left_behind(report: Path) -> Iterator[Callable[[], dict[str, Any]]]:
    """A reader of what test-leaves-process says it left (the process it started, its file, its
    temporary directory) in ``report``, waiting for it to be written. However the test ends,
    that process is killed if it still runs."""

    def read() -> dict[str, Any]:
        wait_for(report.exists, timeout=10, what=f"the plugin's report in {report}")
        left: dict[str, Any] = json.loads(report.read_text())
        return left

    try:
        yield read
    finally:
        if report.exists():
            with suppress(psutil.NoSuchProcess):
                process = psutil.Process(json.loads(report.read_text())["pid"])
                if process.name() == "sleep":  # not another process that took its pid since
                    process.kill()


def assert_gone(left: dict[str, Any]) -> None:
    """What ``left_behind`` read is gone: the plugin's process killed (soon: the kernel delivers
    the signal, init reaps the orphan), its file and the child's directory removed."""
    wait_for(lambda: not running(left["pid"]), timeout=5, what="the plugin's process to end")
    assert not Path(left["file"]).exists()
    assert not Path(left["temp_dir"]).exists()
