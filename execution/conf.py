"""Our settings, read from the one namespaced ``settings.EXECUTION`` dict.

Read on every access (it is a dict lookup) so ``override_settings`` in tests just works.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "PLUGINS": [],
    "PLUGIN_ENTRY_POINT_GROUP": "execution_server.plugins",
    "MAX_IMAGE_BYTES": 10 * 1024 * 1024,
    "ACCEPTED_MIME_TYPES": ["image/png", "image/jpeg"],
    "FAILED_IMAGE_RETENTION_HOURS": 72,
    "LOST_JOB_AFTER_SECONDS": 300,
    "SWEEP_INTERVAL_MINUTES": 1,
    "MAX_REQUEST_BYTES": 14 * 1024 * 1024,
    "IDEMPOTENCY_KEY_TTL_HOURS": 24,
}


class ExecutionSettings:
    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown EXECUTION setting {name!r}")
        return getattr(settings, "EXECUTION", {}).get(name, DEFAULTS[name])


execution_settings = ExecutionSettings()
