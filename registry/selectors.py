"""Reads of the plugin registry, named for their readers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from registry.models import PluginRegistry, PluginRegistryQuerySet


def plugin_list() -> PluginRegistryQuerySet:
    return PluginRegistry.objects.with_average().order_by("name")


def plugin_get(*, name: str) -> PluginRegistry | None:
    # No plugin's name holds a NUL (discovery refuses it), and PostgreSQL refuses one in a query.
    if "\x00" in name:
        return None
    return plugin_list().filter(name=name).first()


@dataclass(frozen=True)
class GateRow:
    """What the gate of every execution reads of a plugin's row."""

    name: str
    state: str
    reason: str
    circuit_open_until: datetime | None


@functools.cache
def _gate_statement(vendor: str) -> tuple[str, Callable[[Any], datetime | None]]:
    """The gate's SELECT, and how a value of ``circuit_open_until`` is read back (text on
    SQLite): the converters Django's compiler would apply to that column."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in ("name", "state", "reason", "circuit_open_until"))
    sql = f"SELECT {columns} FROM {quote(PluginRegistry._meta.db_table)} WHERE {quote('name')} = %s"
    column = PluginRegistry._meta.get_field("circuit_open_until").get_col(
        PluginRegistry._meta.db_table
    )
    # Bound to this thread's connection: what they use of it (the backend, its time zone) is the
    # same on every connection to the database.
    converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)

    def convert(value: Any) -> datetime | None:
        for converter in converters:
            value = converter(value, column, connection)
        return value

    return sql, convert


def plugin_gate_row(*, name: str) -> GateRow | None:
    """The gate's read: SQL written once per process, and a plain row, not a model instance
    (the same read through the ORM cost ten times its run)."""
    sql, convert = _gate_statement(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [name])
        row = cursor.fetchone()
    if row is None:
        return None
    name, state, reason, open_until = row
    return GateRow(name=name, state=state, reason=reason, circuit_open_until=convert(open_until))
