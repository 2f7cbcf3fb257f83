"""Reads of the plugin registry, named for their readers."""

from __future__ import annotations

import functools

from django.db import connection

from registry.models import PluginRegistry, PluginRegistryQuerySet


def plugin_list() -> PluginRegistryQuerySet:
    return PluginRegistry.objects.with_average().order_by("name")


def plugin_get(*, name: str) -> PluginRegistry | None:
    # No plugin's name holds a NUL (discovery refuses it), and PostgreSQL refuses one in a query.
    if "\x00" in name:
        return None
    return plugin_list().filter(name=name).first()


@functools.cache
def _gate_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(name) for name in ("id", "name", "state", "reason", "circuit_open_until")
    )
    return (
        f"SELECT {columns} FROM {quote(PluginRegistry._meta.db_table)} WHERE {quote('name')} = %s"
    )


def plugin_gate_row(*, name: str) -> PluginRegistry | None:
    """What the gate of every execution reads: the row's state, reason and circuit. Raw SQL
    written once per process: the same query built by the ORM cost ten times its run."""
    rows = PluginRegistry.objects.raw(_gate_sql(connection.vendor), [name])
    return next(iter(rows), None)
