"""Our settings, read from the one namespaced ``settings.EXECUTION`` dict.

``execution_project/settings.py`` is their single home, defaults included; this object only
reads them, on every access (a dict lookup), so ``override_settings`` in tests just works.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEYS = frozenset(
    {
        "PLUGINS",
        "PLUGIN_ENTRY_POINT_GROUP",
        "MAX_IMAGE_BYTES",
        "MAX_IMAGE_PIXELS",
        "MAX_REQUEST_BYTES",
        "ACCEPTED_MIME_TYPES",
        "FAILED_IMAGE_RETENTION_HOURS",
        "JOB_RETENTION_DAYS",
        "FAILED_JOB_RETENTION_DAYS",
        "LOST_JOB_AFTER_SECONDS",
        "REQUEUE_AFTER_SECONDS",
        "SWEEP_INTERVAL_MINUTES",
        "IDEMPOTENCY_KEY_TTL_HOURS",
        "PLUGIN_HOSTING_DEFAULTS",
        "PLUGIN_HOSTING",
        "POOL_SIZE",
        "WEB_THREADS",
        "TASKS_PER_CHILD",
        "WEB_TIMEOUT_SECONDS",
        "MAX_RESULT_BYTES",
        "MAX_OPTIONS_BYTES",
        "MAX_STORED_IMAGE_BYTES",
        "MAX_STORED_IMAGE_BYTES_PER_CLIENT",
        "CIRCUIT_BREAKER_FAILURES",
        "CIRCUIT_BREAKER_COOLDOWN_SECONDS",
        "READINESS_CHECK_TIMEOUT_SECONDS",
        "CLUSTER_SEEN_WITHIN_SECONDS",
        "METRICS_TOKEN",
        "METRICS_ALLOWED_IPS",
        "BODY_TIMEOUT_SECONDS",
    }
)


class ExecutionSettings:
    def __getattr__(self, name: str) -> Any:
        if name not in KEYS:
            raise AttributeError(f"Unknown EXECUTION setting {name!r}")
        try:
            return settings.EXECUTION[name]
        except (AttributeError, KeyError) as error:
            raise ImproperlyConfigured(f"settings.EXECUTION has no {name!r}") from error


execution_settings = ExecutionSettings()
