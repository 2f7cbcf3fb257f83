"""System checks for the settings that keep jobs from running twice or getting stuck."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from execution.conf import execution_settings
from execution.tool_runner.hosting import ISOLATIONS, configured_hostings, hosting_for
from execution.tool_runner.hosting import KEYS as HOSTING_KEYS


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


@register()
def check_plugin_hosting(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every plugin's limits must end its run before anything else gives up on it: the web
    tier's timeout (the client's answer), django-q2's (the task), and the sweep (which would
    fail the job as lost and count the run a second time)."""
    cluster = getattr(settings, "Q_CLUSTER", {})
    ceilings = {
        "Q_CLUSTER timeout": cluster.get("timeout"),
        "EXECUTION LOST_JOB_AFTER_SECONDS": execution_settings.LOST_JOB_AFTER_SECONDS,
        "EXECUTION WEB_TIMEOUT_SECONDS": execution_settings.WEB_TIMEOUT_SECONDS,
    }
    errors: list[CheckMessage] = []
    isolated = False
    for name, entry in configured_hostings().items():
        where = "PLUGIN_HOSTING_DEFAULTS" if name == "*" else f"PLUGIN_HOSTING[{name!r}]"
        if not isinstance(entry, dict) or set(entry) - HOSTING_KEYS:
            errors.append(
                Error(
                    f"EXECUTION {where} must be a dict of {sorted(HOSTING_KEYS)}.",
                    id="execution.E004",
                )
            )
            continue
        hosting = hosting_for("" if name == "*" else name)
        isolated = isolated or hosting.isolated
        if hosting.isolation not in ISOLATIONS:
            errors.append(
                Error(
                    f"EXECUTION {where} isolation {hosting.isolation!r} is not one of "
                    f"{list(ISOLATIONS)}.",
                    id="execution.E004",
                )
            )
        if name != "*" and "timeout_seconds" not in entry:
            continue  # the default's, checked once under its own name
        for ceiling, value in ceilings.items():
            if value is not None and not hosting.timeout_seconds < value:
                errors.append(
                    Error(
                        f"EXECUTION {where} timeout_seconds ({hosting.timeout_seconds:g}) must "
                        f"be below {ceiling} ({value}).",
                        hint="Otherwise a run outlives what waits for it, and may be counted "
                        "twice.",
                        id="execution.E005",
                    )
                )
    if isolated and cluster.get("daemonize_workers", True):
        errors.append(
            Error(
                "Q_CLUSTER daemonize_workers must be False when plugins run in processes.",
                hint="A daemonic django-q2 worker may not start the plugin pool's processes.",
                id="execution.E006",
            )
        )
    return errors
