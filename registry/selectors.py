"""Reads of the plugin registry, named for their readers."""

from __future__ import annotations

from registry.models import PluginRegistry, PluginRegistryQuerySet


def plugin_list() -> PluginRegistryQuerySet:
    return PluginRegistry.objects.with_average().order_by("name")


def plugin_get(*, name: str) -> PluginRegistry | None:
    # No plugin's name holds a NUL (discovery refuses it), and PostgreSQL refuses one in a query.
    if "\x00" in name:
        return None
    return plugin_list().filter(name=name).first()
