"""Reads of the plugin registry, named for their readers."""

from __future__ import annotations

from registry.models import PluginRegistry, PluginRegistryQuerySet


def plugin_list() -> PluginRegistryQuerySet:
    return PluginRegistry.objects.with_average().order_by("name")


def plugin_get(*, name: str) -> PluginRegistry | None:
    return plugin_list().filter(name=name).first()
