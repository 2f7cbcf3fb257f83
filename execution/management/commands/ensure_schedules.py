from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django_q.models import Schedule

from execution.conf import execution_settings

SWEEP_NAME = "execution: sweep lost jobs and expired images"


class Command(BaseCommand):
    help = "Create or update the periodic sweep on the worker cluster (idempotent; run on deploy)."

    def handle(self, *args: Any, **options: Any) -> None:
        minutes = execution_settings.SWEEP_INTERVAL_MINUTES
        Schedule.objects.update_or_create(
            name=SWEEP_NAME,
            defaults={
                "func": "execution.tasks.sweep",
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            },
        )
        self.stdout.write(f"Sweep scheduled every {minutes} minute(s).")
