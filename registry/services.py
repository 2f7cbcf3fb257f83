"""Every write to the plugin registry. Counters move in single UPDATE statements, so any number
of web and worker processes can execute the same plugin without losing a count."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from plugins.discovery import Discovery
from registry.metrics import latency_bucket_index
from registry.models import Outcome, PluginMetricsBucket, PluginRegistry, PluginState

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
        elif is_new or (row.state == PluginState.UNAVAILABLE and not row.circuit_open):
            # An open circuit stays open: the breaker, not a sync, decides when to try again.
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


# --- Executions ---------------------------------------------------------------------------
#
# The hot path of every execution: one UPDATE as it starts, then two statements in one
# transaction as it ends, written as SQL once per process rather than rebuilt from ORM
# expressions on every call. Every change is relative to the row's current values (no
# read-modify-write), so concurrent processes never lose a count.


def plugin_mark_running(*, plugin_name: str) -> None:
    """RUNNING while a run is under way, unless UNAVAILABLE: an operator's decision, a missing
    dependency or an open circuit (whose trial this may be) is never overwritten by a run."""
    with connection.cursor() as cursor:
        cursor.execute(
            _statements(connection.vendor).mark_running,
            {
                "plugin_name": plugin_name,
                "running": PluginState.RUNNING.value,
                "reason": "executing",
                "unavailable": PluginState.UNAVAILABLE.value,
                "now": connection.ops.adapt_datetimefield_value(timezone.now()),
            },
        )


# A row the breaker did not close is never moved by a run: an operator disabled it, or a
# dependency is missing. A row the breaker opened (circuit_open_until set) is moved by its trial.
_PROTECTED = "(disabled OR (state = %(unavailable)s AND circuit_open_until IS NULL))"
# A trial run (the circuit is open) that fails opens it again, whatever the failure.
_IN_TRIAL = "circuit_open_until IS NOT NULL"

_COUNTERS = """
    success_count = success_count + %(successes)s,
    plugin_fault_count = plugin_fault_count + %(faults)s,
    input_refused_count = input_refused_count + %(refusals)s,
    total_execution_time_ms = total_execution_time_ms + %(elapsed_ms)s,
    last_execution_time_ms = %(elapsed_ms)s,
    last_used = %(now)s,
    updated_at = %(now)s"""

# A run that knows nothing of the plugin's health passes no state: COALESCE keeps the row's.
_NEW_STATE, _NEW_REASON = "COALESCE(%(state)s, state)", "COALESCE(%(reason)s, reason)"

_MOVE_STATE = f"""
    state = CASE WHEN {_PROTECTED} THEN state ELSE {_NEW_STATE} END,
    reason = CASE WHEN {_PROTECTED} THEN reason ELSE {_NEW_REASON} END"""


def _fault_changes(opens: str, failures: str) -> str:
    return f"""
    consecutive_failures = {failures},
    state = CASE WHEN {_PROTECTED} THEN state WHEN {opens} THEN %(unavailable)s
                 ELSE {_NEW_STATE} END,
    reason = CASE WHEN {_PROTECTED} THEN reason WHEN {_IN_TRIAL} THEN %(reopen_reason)s
                  WHEN {opens} THEN %(open_reason)s ELSE {_NEW_REASON} END,
    circuit_open_until = CASE WHEN {_PROTECTED} THEN circuit_open_until
                              WHEN {opens} THEN %(open_until)s ELSE NULL END"""


# What moves besides the counters, by kind of execution.
_STATE_CHANGES = {
    "success": f"""{_MOVE_STATE},
    consecutive_failures = 0,
    circuit_open_until = CASE WHEN {_PROTECTED} THEN circuit_open_until ELSE NULL END""",
    # The plugin ran and came back: the streak of crashes ends, but a failed trial reopens.
    "fault": _fault_changes(opens=_IN_TRIAL, failures="0"),
    "circuit_failure": _fault_changes(
        opens=f"({_IN_TRIAL} OR consecutive_failures + 1 >= %(threshold)s)",
        failures="consecutive_failures + 1",
    ),
    # The plugin refused its input itself: it works, but a refusal is no verdict on a trial.
    "refused_by_plugin": f"""
    state = CASE WHEN {_PROTECTED} OR {_IN_TRIAL} THEN state ELSE {_NEW_STATE} END,
    reason = CASE WHEN {_PROTECTED} OR {_IN_TRIAL} THEN reason ELSE {_NEW_REASON} END""",
    # Refused before the plugin ran: nothing is known of its health.
    "refused": "",
}


@dataclass(frozen=True)
class Precondition:
    """A caller's UPDATE of one row that a run's count depends on (the job's record of the run):
    written first, in the count's transaction, and the run is counted only if it moved its row.
    ``sql`` has no RETURNING and takes named parameters (``%(name)s``), none of them the
    registry's own (``plugin_name``, ``now``, ...): prefix them."""

    sql: str
    params: dict[str, Any]


@dataclass(frozen=True)
class _Statements:
    mark_running: str
    # What records each kind of execution: the row's UPDATE and the bucket's UPSERT, in order.
    record: dict[str, tuple[str, ...]]
    # On PostgreSQL, the same after a precondition, as one statement: {precondition} goes first.
    guarded: dict[str, str]


@functools.cache
def _statements(vendor: str) -> _Statements:
    """The hot path's SQL for this database."""
    quote = connection.ops.quote_name
    registry_table = quote(PluginRegistry._meta.db_table)
    mark_running = (
        f"UPDATE {registry_table} SET state = %(running)s, reason = %(reason)s, "
        "updated_at = %(now)s WHERE name = %(plugin_name)s AND state <> %(unavailable)s"
    )
    updates = {
        kind: f"UPDATE {registry_table} SET {_COUNTERS}{',' if changes else ''}{changes} "
        "WHERE name = %(plugin_name)s"
        for kind, changes in _STATE_CHANGES.items()
    }
    bucket_table = quote(PluginMetricsBucket._meta.db_table)
    key = ", ".join(
        quote(column)
        for column in ("plugin_name", "hour", "outcome", "error_code", "latency_bucket")
    )
    count, total = quote("count"), quote("total_ms")
    values = (
        "%(plugin_name)s, %(hour)s, %(outcome)s, %(error_code)s, %(latency_bucket)s, 1, "
        "%(elapsed_ms)s"
    )
    # ON CONFLICT ... DO UPDATE: the same in SQLite (3.24+) and PostgreSQL.
    conflict = (
        f"ON CONFLICT ({key}) DO UPDATE SET "
        f"{count} = {bucket_table}.{count} + 1, {total} = {bucket_table}.{total} + %(elapsed_ms)s"
    )
    insert = f"INSERT INTO {bucket_table} ({key}, {count}, {total})"
    record: dict[str, tuple[str, ...]] = {}
    guarded: dict[str, str] = {}
    for kind, update in updates.items():
        if vendor != "postgresql":
            record[kind] = (update, f"{insert} VALUES ({values}) {conflict}")
            continue
        # One statement, so one round trip, and no BEGIN or COMMIT either. PostgreSQL runs a
        # sub-statement that nothing reads once, after the main statement: the registry row
        # is locked before the bucket, in the order plugin_reset_metrics takes them (the other
        # order deadlocks with it).
        record[kind] = (f"WITH bucket AS ({insert} VALUES ({values}) {conflict}) {update}",)
        # The precondition is read by the main statement's condition, so it runs (and locks the
        # job's row) first: job, registry, bucket, the order the sweep takes them in as well.
        moved = "EXISTS (SELECT 1 FROM recorded)"
        guarded[kind] = (
            "WITH recorded AS ({precondition} RETURNING 1), "
            f"bucket AS ({insert} SELECT {values} WHERE {moved} {conflict}) "
            f"{update} AND {moved} RETURNING 1"
        )
    return _Statements(mark_running=mark_running, record=record, guarded=guarded)


def _execution_kind(outcome: Outcome, state: PluginState | None, circuit_failure: bool) -> str:
    if outcome == Outcome.SUCCESS:
        return "success"
    if outcome == Outcome.INPUT_REFUSED:
        return "refused" if state is None else "refused_by_plugin"
    return "circuit_failure" if circuit_failure else "fault"


def update_execution_metrics(
    *,
    plugin_name: str,
    outcome: Outcome,
    elapsed_ms: float,
    state: PluginState | None,
    reason: str = "",
    error_code: str = "",
    circuit_failure: bool = False,
    circuit_threshold: int = 3,
    circuit_cooldown_seconds: float = 60.0,
    only_if: Callable[[], Precondition | None] | None = None,
) -> bool:
    """Record one finished execution: the plugin's counters, timings, state and circuit breaker
    in one UPDATE, and its hourly latency bucket in one UPSERT, in one transaction; on
    PostgreSQL in one statement. False if the run was not counted: ``only_if`` gave a
    precondition that moved no row (the run was recorded elsewhere already, and nothing is
    written), or the plugin has no row (deleted since the gate read it).

    ``state=None`` counts the execution but leaves state and reason alone: a request refused
    before the plugin ran says nothing about the plugin's health. ``circuit_failure`` (a crash
    or a timeout) counts toward the breaker: ``circuit_threshold`` in a row make the plugin
    UNAVAILABLE for ``circuit_cooldown_seconds``; then one trial run is let through
    (``plugin_claim_circuit_trial``), and its success closes the circuit.
    """
    now = timezone.now()
    statements = _statements(connection.vendor)
    adapt = connection.ops.adapt_datetimefield_value
    params: dict[str, Any] = {
        "plugin_name": plugin_name,
        "successes": int(outcome == Outcome.SUCCESS),
        "faults": int(outcome == Outcome.PLUGIN_FAULT),
        "refusals": int(outcome == Outcome.INPUT_REFUSED),
        "elapsed_ms": elapsed_ms,
        "now": adapt(now),
        "unavailable": PluginState.UNAVAILABLE.value,
        "state": state.value if state is not None else None,
        "reason": reason if state is not None else None,
        "threshold": circuit_threshold,
        "open_reason": f"circuit open after {circuit_threshold} crashes: {error_code}",
        "reopen_reason": f"circuit open again: the trial run failed with {error_code}",
        "open_until": adapt(now + timedelta(seconds=circuit_cooldown_seconds)),
        "hour": adapt(now.replace(minute=0, second=0, microsecond=0)),
        "outcome": outcome.value,
        "error_code": error_code,
        "latency_bucket": latency_bucket_index(elapsed_ms),
    }
    kind = _execution_kind(outcome, state, circuit_failure)
    precondition = only_if() if only_if is not None else None
    if precondition is not None and connection.vendor == "postgresql":
        assert params.keys().isdisjoint(precondition.params), "a precondition's names are its own"
        with connection.cursor() as cursor:
            sql = statements.guarded[kind].replace("{precondition}", precondition.sql)
            cursor.execute(sql, {**params, **precondition.params})
            return cursor.fetchone() is not None
    # A single statement commits on its own; several take a transaction, without a savepoint
    # when a caller's transaction holds this one (nothing here is rolled back alone).
    single = len(statements.record[kind]) == 1 and precondition is None
    with (
        contextlib.nullcontext() if single else transaction.atomic(savepoint=False),
        connection.cursor() as cursor,
    ):
        if precondition is not None:
            cursor.execute(precondition.sql, precondition.params)
            if cursor.rowcount != 1:
                return False
        update, *bucket = statements.record[kind]
        cursor.execute(update, params)
        counted = cursor.rowcount == 1
        for statement in bucket:
            cursor.execute(statement, params)
    return counted


def plugin_claim_circuit_trial(*, plugin_name: str, cooldown_seconds: float) -> bool:
    """Let one trial run through a circuit whose cooldown has passed. The claim pushes the
    cooldown forward in the same UPDATE, so concurrent requests are still refused, and a trial
    whose process died frees the way for another after one more cooldown."""
    now = timezone.now()
    return bool(
        PluginRegistry.objects.filter(
            name=plugin_name,
            disabled=False,
            state=PluginState.UNAVAILABLE,
            circuit_open_until__lte=now,
        ).update(circuit_open_until=now + timedelta(seconds=cooldown_seconds), updated_at=now)
    )


def plugin_reset_metrics(*, plugin: PluginRegistry, by: str) -> None:
    """Start the plugin's figures afresh (counts, timings, hourly buckets), recording who did it
    and when. Prometheus sees a counter reset, which its rate functions handle."""
    now = timezone.now()
    with transaction.atomic():
        PluginRegistry.objects.filter(pk=plugin.pk).update(
            success_count=0,
            plugin_fault_count=0,
            input_refused_count=0,
            total_execution_time_ms=0.0,
            last_execution_time_ms=None,
            consecutive_failures=0,
            metrics_reset_at=now,
            metrics_reset_by=by,
            updated_at=now,
        )
        PluginMetricsBucket.objects.filter(plugin_name=plugin.name).delete()


def plugin_disable(*, plugin: PluginRegistry, by: str, reason: str) -> None:
    """UNAVAILABLE until an operator enables it again; every client refused is told who and why."""
    PluginRegistry.objects.filter(pk=plugin.pk).update(
        disabled=True,
        state=PluginState.UNAVAILABLE,
        reason=f"{DISABLED_REASON} ({by}: {reason})",
        circuit_open_until=None,
        consecutive_failures=0,
        updated_at=timezone.now(),
    )


def plugin_enable(*, plugin: PluginRegistry) -> None:
    """Lift an operator's disable. If this deployment cannot load the plugin after all, the first
    request for it finds out and marks the row UNAVAILABLE again with the real reason."""
    PluginRegistry.objects.filter(pk=plugin.pk, disabled=True).update(
        disabled=False,
        circuit_open_until=None,
        consecutive_failures=0,
        state=PluginState.LOADED,
        reason="enabled by an operator",
        updated_at=timezone.now(),
    )


def plugin_mark_unavailable(*, plugin_name: str, reason: str) -> None:
    """UNAVAILABLE for a reason no run can lift (a missing dependency): the breaker lets go."""
    PluginRegistry.objects.filter(name=plugin_name).update(
        state=PluginState.UNAVAILABLE,
        reason=reason,
        circuit_open_until=None,
        updated_at=timezone.now(),
    )
