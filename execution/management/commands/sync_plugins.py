from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from execution.services import PluginExecutionService


class Command(BaseCommand):
    help = "Discover plugins (settings and entry points) and make the registry rows match."

    def handle(self, *args: Any, **options: Any) -> None:
        plugins = PluginExecutionService()
        report = plugins.sync_registry()
        directory = plugins.directory()
        for name in sorted(directory.available):
            self.stdout.write(f"  ready        {name}")
        for name, reason in sorted(directory.unavailable.items()):
            self.stdout.write(f"  UNAVAILABLE  {name}: {reason}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Plugin registry synced: {len(report.created)} new, "
                f"{len(report.updated)} updated, {len(report.unavailable)} unavailable."
            )
        )
