from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from registry.display import format_ms
from registry.selectors import plugin_list


class Command(BaseCommand):
    help = "List plugins with their lifecycle state, reason and metrics."

    def handle(self, *args: Any, **options: Any) -> None:
        header = (
            f"{'NAME':<20} {'STATE':<12} {'OK':>7} {'ERR':>7} {'AVG MS':>9} {'LAST MS':>9}  REASON"
        )
        self.stdout.write(header)
        for plugin in plugin_list():
            self.stdout.write(
                f"{plugin.name:<20} {plugin.state:<12} {plugin.success_count:>7} "
                f"{plugin.error_count:>7} {format_ms(plugin.avg_execution_time_ms):>9} "  # type: ignore[attr-defined]
                f"{format_ms(plugin.last_execution_time_ms):>9}  {plugin.reason}"
            )
