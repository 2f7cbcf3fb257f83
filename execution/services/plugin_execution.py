from __future__ import annotations

import contextlib

from django.db import IntegrityError

from execution import exceptions
from execution.plugin_catalog import plugin_catalog
from execution.tool_runner import ExecutionOutcome, ToolRunner
from execution.validation import ExecutionRequest
from plugins.base import AnalysisPlugin
from registry import services as registry_services
from registry.models import PluginRegistry, PluginState


class PluginExecutionService:
    """Picks the plugin the registry allows and hands it to the ToolRunner."""

    def __init__(self, *, runner: ToolRunner | None = None) -> None:
        self.runner = runner or ToolRunner()

    def execute(self, *, request: ExecutionRequest, job_id: str | None = None) -> ExecutionOutcome:
        plugin = self.plugin_for(name=request.plugin)
        return self.runner.run(plugin=plugin, request=request, job_id=job_id)

    def plugin_for(self, *, name: str) -> AnalysisPlugin:
        catalog = plugin_catalog()
        rows = PluginRegistry.objects.filter(name=name).only("state", "reason")
        row = rows.first()
        if row is None and (name in catalog.available or name in catalog.unavailable):
            # Installed but never synced (a fresh database): sync instead of refusing. Two first
            # requests may race to insert the same rows; the loser reads the winner's.
            with contextlib.suppress(IntegrityError):
                registry_services.registry_sync(discovery=catalog)
            row = rows.first()
        if row is None:
            raise exceptions.PluginNotFound(
                f"No plugin is named {name!r}.",
                plugin=name,
                details={"available": sorted(catalog.available)},
            )
        if row.state == PluginState.UNAVAILABLE:
            raise exceptions.PluginUnavailable(
                f"The plugin {name!r} is unavailable: {row.reason}",
                plugin=name,
                details={"reason": row.reason},
            )
        plugin = catalog.available.get(name)
        if plugin is None:
            # The row says runnable but this process cannot load it: make the row true.
            missing = catalog.unavailable.get(name)
            reason = (
                missing.reason
                if missing
                else (
                    "installed after this process started, or not on this machine: install it on "
                    "every machine, restart the web and worker processes, then run "
                    "manage.py sync_plugins"
                )
            )
            registry_services.plugin_mark_unavailable(plugin_name=name, reason=reason)
            raise exceptions.PluginUnavailable(
                f"The plugin {name!r} is unavailable: {reason}",
                plugin=name,
                details={"reason": reason},
            )
        return plugin
