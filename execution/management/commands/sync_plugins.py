from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from execution.plugin_catalog import plugin_catalog
from registry.services import registry_sync


class Command(BaseCommand):
    help = "Discover plugins (settings and entry points) and make the registry rows match."

    def handle(self, *args: Any, **options: Any) -> None:
        catalog = plugin_catalog()
        report = registry_sync(discovery=catalog)
        for name in sorted(catalog.available):
            self.stdout.write(f"  ready        {name}")
        for name, missing in sorted(catalog.unavailable.items()):
            self.stdout.write(f"  UNAVAILABLE  {name}: {missing.reason}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Plugin registry synced: {len(report.created)} new, "
                f"{len(report.updated)} updated, {len(report.unavailable)} unavailable."
            )
        )
