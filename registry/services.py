"""Every write to the plugin registry. Counters move in single UPDATE statements, so any number
of web and worker processes can execute the same plugin without losing a count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Case, CharField, F, TextField, Value, When
from django.utils import timezone

from plugins.discovery import Discovery
from registry.models import PluginRegistry, PluginState

NOT_DISCOVERED_REASON = "not found by plugin discovery in this deployment"
DISABLED_REASON = "disabled by an operator"


@dataclass(frozen=True)
class SyncReport:
    created: list[str]
    updated: list[str]
    unavailable: list[str]


@transaction.atomic
def registry_sync(*, discovery: Discovery) -> SyncReport:
    """Make the rows match what discovery found, keeping metrics and operator decisions.

    A plugin that runs here keeps INITIALIZED/FAILED/RUNNING (its history); one that was
    UNAVAILABLE and is now importable becomes LOADED again, unless an operator disabled it.
    """
    rows = {row.name: row for row in PluginRegistry.objects.select_for_update()}
    created: list[str] = []
    updated: list[str] = []

    for name, plugin in discovery.available.items():
        row = rows.pop(name) if name in rows else PluginRegistry(name=name)
        is_new = row.pk is None
        row.version = plugin.version
        row.description = plugin.description
        row.source = f"{type(plugin).__module__}.{type(plugin).__qualname__}"
        row.options_schema = plugin.options_schema
        row.output_schema = plugin.output_schema
        if row.disabled:
            row.state, row.reason = PluginState.UNAVAILABLE, row.reason or DISABLED_REASON
        elif is_new or row.state == PluginState.UNAVAILABLE:
            row.state, row.reason = PluginState.LOADED, "discovered and set up"
        row.save()
        (created if is_new else updated).append(name)

    unavailable: list[str] = []
    for name, missing in discovery.unavailable.items():
        row = rows.pop(name) if name in rows else PluginRegistry(name=name)
        is_new = row.pk is None
        row.version = missing.version or row.version
        row.description = missing.description or row.description
        row.source = missing.source
        row.state = PluginState.UNAVAILABLE
        row.reason = DISABLED_REASON if row.disabled else missing.reason
        row.save()
        (created if is_new else updated).append(name)
        unavailable.append(name)

    # Rows whose plugin is gone keep their history but can no longer be run.
    for name, row in rows.items():
        if row.state != PluginState.UNAVAILABLE or row.reason != NOT_DISCOVERED_REASON:
            row.state, row.reason = PluginState.UNAVAILABLE, NOT_DISCOVERED_REASON
            row.save(update_fields=["state", "reason", "updated_at"])
            updated.append(name)
        unavailable.append(name)
    return SyncReport(
        created=sorted(created), updated=sorted(updated), unavailable=sorted(unavailable)
    )


def _unless_unavailable(state: str, reason: str) -> dict[str, Case]:
    """Values that move the state, except on rows that are UNAVAILABLE: an operator's decision
    or a missing dependency is never overwritten by the outcome of a run."""
    keep = When(state=PluginState.UNAVAILABLE, then=F("state"))
    keep_reason = When(state=PluginState.UNAVAILABLE, then=F("reason"))
    return {
        "state": Case(keep, default=Value(state), output_field=CharField()),
        "reason": Case(keep_reason, default=Value(reason), output_field=TextField()),
    }


def plugin_mark_running(*, plugin_name: str) -> None:
    PluginRegistry.objects.filter(name=plugin_name).update(
        **_unless_unavailable(PluginState.RUNNING, "executing"), updated_at=timezone.now()
    )


def update_execution_metrics(
    *,
    plugin_name: str,
    state: PluginState | None,
    elapsed_ms: float,
    had_error: bool,
    reason: str = "",
) -> None:
    """Record one finished execution in one atomic UPDATE: counts, timings, state and reason.

    ``state=None`` counts the execution but leaves state and reason alone: a request refused
    before the plugin ran says nothing about the plugin's health.
    """
    now = timezone.now()
    changes: dict[str, Any] = {
        "success_count": F("success_count") + (0 if had_error else 1),
        "error_count": F("error_count") + (1 if had_error else 0),
        "total_execution_time_ms": F("total_execution_time_ms") + elapsed_ms,
        "last_execution_time_ms": elapsed_ms,
        "last_used": now,
        "updated_at": now,
    }
    if state is not None:
        changes.update(_unless_unavailable(state, reason))
    PluginRegistry.objects.filter(name=plugin_name).update(**changes)


def plugin_disable(*, plugin: PluginRegistry, by: str) -> None:
    PluginRegistry.objects.filter(pk=plugin.pk).update(
        disabled=True,
        state=PluginState.UNAVAILABLE,
        reason=f"{DISABLED_REASON} ({by})",
        updated_at=timezone.now(),
    )


def plugin_enable(*, plugin: PluginRegistry) -> None:
    """Lift an operator's disable. If this deployment cannot load the plugin after all, the first
    request for it finds out and marks the row UNAVAILABLE again with the real reason."""
    PluginRegistry.objects.filter(pk=plugin.pk, disabled=True).update(
        disabled=False,
        state=PluginState.LOADED,
        reason="enabled by an operator",
        updated_at=timezone.now(),
    )


def plugin_mark_unavailable(*, plugin_name: str, reason: str) -> None:
    PluginRegistry.objects.filter(name=plugin_name).update(
        state=PluginState.UNAVAILABLE, reason=reason, updated_at=timezone.now()
    )
