"""The ToolRunner: the only code that calls a plugin's ``run``.

Every execution passes here, so every execution is validated on the way in and out, every
failure becomes an error envelope, and every execution is counted in the registry, whatever
happens, from the ``finally`` of ``ToolRunner.run``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.db import InterfaceError, OperationalError

from execution import exceptions, logs
from execution.envelope import build_envelope
from execution.validation import ExecutionRequest, validate_input, validate_output
from plugins.base import AnalysisPlugin
from plugins.base import ImageUnreadable as PluginImageUnreadable
from plugins.base import OptionsUnsupported as PluginOptionsUnsupported
from registry import services as registry_services
from registry.models import Outcome, PluginState

logger = logging.getLogger(__name__)

# Long enough to say what went wrong, short enough to keep a plugin's data out of the envelope.
MAX_PLUGIN_MESSAGE = 300


@dataclass
class ExecutionOutcome:
    """What one execution produced: a validated result or an error envelope, never both."""

    plugin: str
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    elapsed_ms: float = 0.0
    image_size: int | None = None
    image_sha256: str = ""

    @property
    def succeeded(self) -> bool:
        return self.result is not None and self.error is None

    @property
    def error_code(self) -> str:
        return self.error["error"]["code"] if self.error else ""


def _plugin_failure(error: Exception) -> exceptions.PluginError:
    message = str(error).strip()[:MAX_PLUGIN_MESSAGE] or type(error).__name__
    return exceptions.PluginError(
        f"The plugin failed: {message}", details={"exception_type": type(error).__name__}
    )


class ToolRunner:
    def run(
        self, *, plugin: AnalysisPlugin, request: ExecutionRequest, job_id: str | None = None
    ) -> ExecutionOutcome:
        outcome = ExecutionOutcome(plugin=plugin.name)
        plugin_ran = input_refused = False
        started = time.perf_counter()
        try:
            validated = validate_input(request, options_schema=plugin.options_schema)
            outcome.image_size, outcome.image_sha256 = validated.size, validated.sha256
            registry_services.plugin_mark_running(plugin_name=plugin.name)
            plugin_ran = True
            try:
                raw_result = plugin.run(dict(validated.payload))
            except PluginImageUnreadable as error:
                raise exceptions.ImageUnreadable(str(error) or None) from error
            except PluginOptionsUnsupported as error:
                raise exceptions.OptionsInvalid(str(error) or None) from error
            except Exception as error:
                raise _plugin_failure(error) from error
            outcome.result = validate_output(raw_result, plugin.output_schema)
        except exceptions.ExecutionFailure as failure:
            input_refused = isinstance(failure, exceptions.InputValidationError)
            outcome.error = build_envelope(
                failure, job_id=job_id, plugin=plugin.name, cause=failure.__cause__
            )
        except (OperationalError, InterfaceError) as error:
            # The database went away around the run (or stayed locked): a retry may succeed.
            logger.exception("Database unavailable executing plugin %r", plugin.name)
            outcome.error = build_envelope(
                exceptions.ServiceUnavailable(), job_id=job_id, plugin=plugin.name, cause=error
            )
        except Exception as error:
            # A fault of ours, not of the plugin or the input: still an envelope.
            logger.exception("Unexpected error executing plugin %r", plugin.name)
            outcome.error = build_envelope(
                exceptions.InternalError(), job_id=job_id, plugin=plugin.name, cause=error
            )
        finally:
            outcome.elapsed_ms = (time.perf_counter() - started) * 1000
            state, reason = _lifecycle_after(
                outcome, plugin_ran=plugin_ran, input_refused=input_refused
            )
            registry_services.update_execution_metrics(
                plugin_name=plugin.name,
                outcome=_metric_outcome(outcome, input_refused=input_refused),
                elapsed_ms=outcome.elapsed_ms,
                state=state,
                reason=reason,
                error_code=outcome.error_code,
            )
            # After the metrics: a logging failure must not cost the execution its count.
            logs.log_execution(plugin=plugin.name, job_id=job_id, outcome=_metric_outcome(outcome, input_refused=input_refused), code=outcome.error_code, elapsed_ms=outcome.elapsed_ms)  # fmt: skip
        return outcome


def _metric_outcome(outcome: ExecutionOutcome, *, input_refused: bool) -> Outcome:
    if outcome.succeeded:
        return Outcome.SUCCESS
    # Our own faults (the database went away) count with the plugin's: rare, and still failures.
    return Outcome.INPUT_REFUSED if input_refused else Outcome.PLUGIN_FAULT


def _lifecycle_after(
    outcome: ExecutionOutcome, *, plugin_ran: bool, input_refused: bool
) -> tuple[PluginState | None, str]:
    """INITIALIZED after a success, FAILED after the plugin (or its output) failed. Bad input says
    nothing about the plugin's health: refused before the plugin ran, the state stays as it was;
    refused by the plugin itself (an undecodable image, an unsupported option), it worked."""
    if outcome.succeeded:
        return PluginState.INITIALIZED, "last execution succeeded"
    if not plugin_ran:
        return None, ""
    if input_refused:
        return PluginState.INITIALIZED, f"last execution refused its input: {outcome.error_code}"
    return PluginState.FAILED, f"last execution failed: {outcome.error_code or 'interrupted'}"
