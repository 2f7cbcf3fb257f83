"""How each plugin is hosted: isolation and limits, from settings.EXECUTION, per plugin name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from execution.conf import execution_settings

PROCESS = "process"
INLINE = "inline"
ISOLATIONS = (PROCESS, INLINE)
KEYS = frozenset({"isolation", "timeout_seconds", "memory_mb", "cpu_seconds"})
# A plugin given its own timeout but no CPU limit gets this much CPU beyond the timeout.
CPU_MARGIN_SECONDS = 5


@dataclass(frozen=True)
class Hosting:
    isolation: str
    timeout_seconds: float
    memory_mb: int
    cpu_seconds: int

    @property
    def isolated(self) -> bool:
        return self.isolation == PROCESS


def hosting_for(plugin: str) -> Hosting:
    defaults: dict[str, Any] = execution_settings.PLUGIN_HOSTING_DEFAULTS
    own: dict[str, Any] = execution_settings.PLUGIN_HOSTING.get(plugin, {})
    values = {**defaults, **own}
    if "timeout_seconds" in own and "cpu_seconds" not in own:
        values["cpu_seconds"] = max(
            int(defaults["cpu_seconds"]), int(own["timeout_seconds"]) + CPU_MARGIN_SECONDS
        )
    return Hosting(
        isolation=str(values["isolation"]),
        timeout_seconds=float(values["timeout_seconds"]),
        memory_mb=int(values["memory_mb"]),
        cpu_seconds=int(values["cpu_seconds"]),
    )


def configured_hostings() -> dict[str, dict[str, Any]]:
    """The defaults (under "*") and every per-plugin entry, as configured: for the checks."""
    return {"*": execution_settings.PLUGIN_HOSTING_DEFAULTS, **execution_settings.PLUGIN_HOSTING}
