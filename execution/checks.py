"""System checks for the settings that keep jobs from running twice or getting stuck."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from execution.conf import execution_settings


@register()
def check_worker_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    cluster = getattr(settings, "Q_CLUSTER", {})
    timeout, retry = cluster.get("timeout"), cluster.get("retry")
    errors: list[CheckMessage] = []
    if timeout is None or retry is None or not timeout < retry:
        errors.append(
            Error(
                f"Q_CLUSTER timeout ({timeout}) must be set and below retry ({retry}).",
                hint="Otherwise a task still running is handed to a second worker.",
                id="execution.E001",
            )
        )
    attempts = cluster.get("max_attempts")
    if not isinstance(attempts, int) or attempts < 1:
        errors.append(
            Error(
                f"Q_CLUSTER max_attempts ({attempts}) must be a positive integer.",
                hint="0 retries a failing task forever.",
                id="execution.E002",
            )
        )
    lost_after = execution_settings.LOST_JOB_AFTER_SECONDS
    if timeout is not None and not lost_after > timeout:
        errors.append(
            Error(
                f"EXECUTION LOST_JOB_AFTER_SECONDS ({lost_after}) must exceed the worker "
                f"timeout ({timeout}).",
                hint="Otherwise the sweep fails jobs that are still running.",
                id="execution.E003",
            )
        )
    return errors


@register(deploy=True)
def check_shared_job_storage(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Async images are files in MEDIA_ROOT: a worker on another machine must see them."""
    scaled = bool(getattr(settings, "REDIS_URL", "")) or "sqlite" not in settings.DATABASES[
        "default"
    ].get("ENGINE", "")
    backend = settings.STORAGES["default"]["BACKEND"]
    if scaled and backend == "django.core.files.storage.FileSystemStorage":
        return [
            Warning(
                f"Async job images are stored on this machine's disk ({settings.MEDIA_ROOT}).",
                hint="Workers on other machines need MEDIA_ROOT on a volume they all share.",
                id="execution.W001",
            )
        ]
    return []
