from __future__ import annotations

import contextlib

from django.db import IntegrityError
from django.utils import timezone

from execution import exceptions
from execution.conf import execution_settings
from execution.tool_runner import ExecutionOutcome, PluginDirectory, RecordRun, ToolRunner
from execution.validation import ExecutionRequest, ValidatedInput, storable_text
from registry import selectors as registry_selectors
from registry import services as registry_services
from registry.models import PluginState


class PluginExecutionService:
    """The registry's gate: hands the ToolRunner the name of a plugin the registry allows."""

    def __init__(self, *, runner: ToolRunner | None = None) -> None:
        self.runner = runner or ToolRunner()

    def execute(
        self,
        *,
        request: ExecutionRequest,
        job_id: str | None = None,
        record: RecordRun | None = None,
    ) -> ExecutionOutcome:
        self.check_runnable(name=request.plugin, claim_trial=True)
        return self.runner.run(plugin=request.plugin, request=request, job_id=job_id, record=record)

    def validate(self, *, request: ExecutionRequest) -> ValidatedInput:
        """Check a request now that a worker runs later. A circuit due for its trial run is
        let through, but not claimed: the worker's run claims it."""
        self.check_runnable(name=request.plugin, claim_trial=False)
        return self.runner.validate(plugin=request.plugin, request=request)

    def sync_registry(self) -> registry_services.SyncReport:
        return self.runner.sync_registry()

    def start_plugin_processes(self) -> None:
        self.runner.start_plugin_processes()

    def directory(self) -> PluginDirectory:
        return self.runner.directory()

    def not_found(self, *, name: str, status_code: int | None = None) -> exceptions.PluginNotFound:
        """What a client naming no plugin is told: the names there are, and its name as a job
        would store it."""
        shown = storable_text(name, limit=100)
        return exceptions.PluginNotFound(
            f"No plugin is named {shown!r}.",
            plugin=shown,
            details={"available": sorted(self.directory().available)},
            status_code=status_code,
        )

    def check_runnable(self, *, name: str, claim_trial: bool) -> None:
        """Refuse a plugin that is unknown, UNAVAILABLE (its circuit open included, until the
        trial run after the cooldown) or not installed in this process."""
        directory = self.runner.directory()
        row = registry_selectors.plugin_gate_row(name=name)
        if row is None and directory.knows(name):
            # Installed but never synced (a fresh database): sync instead of refusing. Two first
            # requests may race to insert the same rows; the loser reads the winner's.
            with contextlib.suppress(IntegrityError):
                self.runner.sync_registry()
            row = registry_selectors.plugin_gate_row(name=name)
        if row is None:
            raise self.not_found(name=name)
        if row.state == PluginState.UNAVAILABLE and not self._trial_allowed(row, claim=claim_trial):
            details: dict[str, str] = {"reason": row.reason}
            if row.circuit_open_until is not None:
                details["circuit_open_until"] = row.circuit_open_until.isoformat()
            raise exceptions.PluginUnavailable(
                f"The plugin {name!r} is unavailable: {row.reason}", plugin=name, details=details
            )
        if name not in directory.available:
            # The row says runnable but this process cannot load it: make the row true.
            reason = directory.unavailable.get(
                name,
                "installed after this process started, or not on this machine: install it on "
                "every machine, restart the web and worker processes, then run "
                "manage.py sync_plugins",
            )
            registry_services.plugin_mark_unavailable(plugin_name=name, reason=reason)
            raise exceptions.PluginUnavailable(
                f"The plugin {name!r} is unavailable: {reason}",
                plugin=name,
                details={"reason": reason},
            )

    @staticmethod
    def _trial_allowed(row: registry_selectors.GateRow, *, claim: bool) -> bool:
        """Only the circuit breaker's UNAVAILABLE ends by itself: once its cooldown has passed,
        one run is let through as a trial."""
        if row.circuit_open_until is None or row.circuit_open_until > timezone.now():
            return False
        if not claim:
            return True
        return registry_services.plugin_claim_circuit_trial(
            plugin_name=row.name,
            cooldown_seconds=float(execution_settings.CIRCUIT_BREAKER_COOLDOWN_SECONDS),
        )
