"""Small helpers the test modules share: clients, registry counts, the queue, job rows."""

from __future__ import annotations

from typing import Any

from django_q.models import OrmQ
from django_q.signing import SignedPackage
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from execution.models import Job, JobMode, JobStatus
from registry.models import PluginRegistry


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
