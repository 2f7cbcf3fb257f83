"""The ToolRunner: the plugin host, and the only code that calls a plugin's ``run``.

Callers name a plugin; the plugin instances stay in this package. Every execution passes
here, so every execution is validated on the way in and out, every failure becomes an error
envelope, and every execution is counted in the registry, whatever happens, from the
``finally`` of ``ToolRunner.run``. A plugin runs in a warm pool of worker processes (``pool``,
``child``) under a timeout and memory and CPU limits, unless settings make it ``inline``.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django_q.exceptions import TimeoutException as WorkerTimeout

from execution import exceptions, logs
from execution.conf import execution_settings
from execution.deferred_writes import DATABASE_UNAVAILABLE, write_later
from execution.envelope import build_envelope
from execution.tool_runner import child, pool
from execution.tool_runner.catalog import plugin_catalog
from execution.tool_runner.hosting import Hosting, hosting_for
from execution.validation import (
    ExecutionPayload,
    ExecutionRequest,
    ValidatedInput,
    validate_input,
    validate_output,
)
from plugins.base import ImageUnreadable as PluginImageUnreadable
from plugins.base import OptionsUnsupported as PluginOptionsUnsupported


def _lazy_import(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None, f"{name} is part of this project"
    assert spec.loader is not None, f"{name} is a module with source"
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    from registry import models as registry_models
    from registry import services as registry_services
else:
    # A pool child imports this package on its way to child.py and has no Django apps to
    # import models with: the registry is loaded on first use, which only the parent makes.
    registry_models = _lazy_import("registry.models")
    registry_services = _lazy_import("registry.services")

logger = logging.getLogger(__name__)

# Long enough to say what went wrong, short enough to keep a plugin's data out of the envelope.
MAX_PLUGIN_MESSAGE = 300
# Images larger than this reach the child through a file in shared memory, not the task pipe.
FILE_PAYLOAD_BYTES = 1024 * 1024
SHARED_MEMORY_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Failures that count toward the circuit breaker: the plugin's process died or hung.
CIRCUIT_FAILURES = frozenset({exceptions.PluginCrashed.code, exceptions.PluginTimeout.code})

# A job's record of a run: the UPDATE the registry writes first, in the transaction (on
# PostgreSQL, the statement) that counts the run. When it moves no row the run was recorded
# already (the sweep found its job lost), and it is not counted twice.
RecordRun = Callable[["ExecutionOutcome"], "registry_services.Precondition"]


@dataclass
class ExecutionOutcome:
    """What one execution produced: a validated result or an error envelope, never both."""

    plugin: str
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    elapsed_ms: float = 0.0
    image_size: int | None = None
    image_sha256: str = ""
    # False while the run's record (job and count) waits for the database to come back.
    recorded: bool = True
    # True when the job had been recorded already (the sweep found it lost): its verdict
    # stands and this run was not counted.
    superseded: bool = False

    @property
    def succeeded(self) -> bool:
        return self.result is not None and self.error is None

    @property
    def error_code(self) -> str:
        return self.error["error"]["code"] if self.error else ""


@dataclass(frozen=True)
class PluginDirectory:
    """What discovery found in this deployment, by name only: no instance leaves this package."""

    available: frozenset[str]
    unavailable: dict[str, str] = field(default_factory=dict)

    def knows(self, name: str) -> bool:
        return name in self.available or name in self.unavailable


def _plugin_failure(*, type_name: str, message: str) -> exceptions.PluginError:
    text = message.strip()[:MAX_PLUGIN_MESSAGE] or type_name
    return exceptions.PluginError(
        f"The plugin failed: {text}", details={"exception_type": type_name}
    )


def interruption_failure(stop: BaseException) -> exceptions.ExecutionFailure:
    """Our own code stopped by a BaseException: django-q2's time limit is EXECUTION_TIMEOUT;
    anything else (a shutdown) is EXECUTION_INTERRUPTED. A plugin's own SystemExit or
    KeyboardInterrupt never gets here: the ToolRunner reports those as plugin failures."""
    if isinstance(stop, WorkerTimeout):
        return exceptions.ExecutionTimeout(
            details={"timeout_seconds": settings.Q_CLUSTER.get("timeout")}
        )
    return exceptions.ExecutionInterrupted(details={"exception_type": type(stop).__name__})


class ToolRunner:
    def directory(self) -> PluginDirectory:
        catalog = plugin_catalog()
        return PluginDirectory(
            available=frozenset(catalog.available),
            unavailable={name: missing.reason for name, missing in catalog.unavailable.items()},
        )

    def start_plugin_processes(self) -> None:
        """Start this process's plugin processes now (a web worker, as it boots) if any plugin
        runs in one, rather than as concurrent runs first need them. From a thread of its own,
        as a web worker's pool has always been made: one made in the main thread also stops on
        SIGTERM, at once, where a web worker's graceful shutdown lets its runs finish (its pool
        stops when the process exits)."""
        catalog = plugin_catalog()
        if any(hosting_for(name).isolated for name in catalog.available):
            threading.Thread(target=_fill_pool, name="plugin-pool-fill", daemon=True).start()

    def sync_registry(self) -> registry_services.SyncReport:
        return registry_services.registry_sync(discovery=plugin_catalog())

    def validate(self, *, plugin: str, request: ExecutionRequest) -> ValidatedInput:
        """The input checks of a run, without the run (an async submission checks at once)."""
        instance = plugin_catalog().available.get(plugin)
        return validate_input(request, options_schema=instance.options_schema if instance else None)

    def run(
        self,
        *,
        plugin: str,
        request: ExecutionRequest,
        job_id: str | None = None,
        record: RecordRun | None = None,
    ) -> ExecutionOutcome:
        outcome = ExecutionOutcome(plugin=plugin)
        plugin_ran = input_refused = False
        started = time.perf_counter()
        try:
            instance = plugin_catalog().available.get(plugin)
            if instance is None:
                raise exceptions.PluginUnavailable(
                    f"The plugin {plugin!r} is not installed where this request ran.",
                    details={"reason": "not installed where this request ran"},
                )
            hosting = hosting_for(plugin)
            validated = validate_input(request, options_schema=instance.options_schema)
            outcome.image_size, outcome.image_sha256 = validated.size, validated.sha256
            registry_services.plugin_mark_running(plugin_name=plugin)
            plugin_ran = True
            if hosting.isolated:
                raw_result = _run_isolated(plugin, validated.payload, hosting)
            else:
                try:
                    raw_result = instance.run(dict(validated.payload))
                except PluginImageUnreadable as error:
                    raise exceptions.ImageUnreadable(str(error) or None) from error
                except PluginOptionsUnsupported as error:
                    raise exceptions.OptionsInvalid(str(error) or None) from error
                except MemoryError as error:
                    raise exceptions.ResourceLimit(
                        "The plugin ran out of memory.", details={"limit": "memory_mb"}
                    ) from error
                except WorkerTimeout:
                    raise  # django-q2's time limit, not the plugin's doing
                except SystemExit as error:
                    raise exceptions.PluginExited(details=_exit_details(error.code)) from error
                except KeyboardInterrupt as error:
                    raise exceptions.PluginInterrupted() from error
                except Exception as error:
                    raise _plugin_failure(
                        type_name=type(error).__name__, message=str(error)
                    ) from error
            outcome.result = validate_output(raw_result, instance.output_schema)
        except exceptions.ExecutionFailure as failure:
            input_refused = isinstance(failure, exceptions.InputValidationError)
            outcome.error = build_envelope(
                failure,
                job_id=job_id,
                plugin=plugin,
                cause=failure.__cause__,
                remote_traceback=failure.remote_traceback,
            )
        except DATABASE_UNAVAILABLE as error:
            # The database went away around the run (or stayed locked): a retry may succeed.
            logger.exception("Database unavailable executing plugin %r", plugin)
            outcome.error = build_envelope(
                exceptions.ServiceUnavailable(), job_id=job_id, plugin=plugin, cause=error
            )
        except Exception as error:
            # A fault of ours, not of the plugin or the input: still an envelope.
            logger.exception("Unexpected error executing plugin %r", plugin)
            outcome.error = build_envelope(
                exceptions.InternalError(), job_id=job_id, plugin=plugin, cause=error
            )
        except BaseException as stop:
            # This process is being stopped (django-q2's time limit, a shutdown): record why,
            # count the run once below, and let the stop go on.
            outcome.error = build_envelope(
                interruption_failure(stop), job_id=job_id, plugin=plugin, cause=stop
            )
            raise
        finally:
            outcome.elapsed_ms = (time.perf_counter() - started) * 1000
            metrics = _metrics_of(outcome, plugin_ran=plugin_ran, input_refused=input_refused)
            try:
                counted = registry_services.update_execution_metrics(
                    **metrics, only_if=_RunRecord(record, outcome)
                )
                outcome.superseded = not counted
            except DATABASE_UNAVAILABLE:
                outcome.recorded = False
                write_later(
                    functools.partial(_commit, record, outcome, metrics),
                    what=f"the run of {plugin!r} for job {job_id}",
                )
            logs.log_execution(
                plugin=plugin,
                job_id=job_id,
                outcome=metrics["outcome"],
                code=outcome.error_code,
                elapsed_ms=outcome.elapsed_ms,
            )
        return outcome


def _fill_pool() -> None:
    pool.plugin_pool().fill()


@dataclass(frozen=True)
class _RunRecord:
    """The job's record of a run, built when the registry writes the run's count."""

    record: RecordRun | None
    outcome: ExecutionOutcome

    def __call__(self) -> registry_services.Precondition | None:
        return self.record(self.outcome) if self.record is not None else None


def _commit(record: RecordRun | None, outcome: ExecutionOutcome, metrics: dict[str, Any]) -> None:
    """The finally's write, retried once the database is back."""
    counted = registry_services.update_execution_metrics(
        **metrics, only_if=_RunRecord(record, outcome)
    )
    outcome.superseded, outcome.recorded = not counted, True


def _metrics_of(
    outcome: ExecutionOutcome, *, plugin_ran: bool, input_refused: bool
) -> dict[str, Any]:
    state, reason = _lifecycle_after(outcome, plugin_ran=plugin_ran, input_refused=input_refused)
    if outcome.succeeded:
        result = registry_models.Outcome.SUCCESS
    elif input_refused:
        result = registry_models.Outcome.INPUT_REFUSED
    else:
        result = registry_models.Outcome.PLUGIN_FAULT
    return {
        "plugin_name": outcome.plugin,
        "outcome": result,
        "elapsed_ms": outcome.elapsed_ms,
        "state": state,
        "reason": reason,
        "error_code": outcome.error_code or ("" if outcome.succeeded else "INTERRUPTED"),
        "circuit_failure": outcome.error_code in CIRCUIT_FAILURES,
        "circuit_threshold": execution_settings.CIRCUIT_BREAKER_FAILURES,
        "circuit_cooldown_seconds": float(execution_settings.CIRCUIT_BREAKER_COOLDOWN_SECONDS),
    }


def _lifecycle_after(
    outcome: ExecutionOutcome, *, plugin_ran: bool, input_refused: bool
) -> tuple[registry_models.PluginState | None, str]:
    """INITIALIZED after a success, FAILED after the plugin (or its output) failed. Bad input says
    nothing about the plugin's health: refused before the plugin ran, the state stays as it was;
    refused by the plugin itself (an undecodable image, an unsupported option), it worked."""
    if outcome.succeeded:
        return registry_models.PluginState.INITIALIZED, "last execution succeeded"
    if not plugin_ran:
        return None, ""
    if input_refused:
        return (
            registry_models.PluginState.INITIALIZED,
            f"last execution refused its input: {outcome.error_code}",
        )
    return (
        registry_models.PluginState.FAILED,
        f"last execution failed: {outcome.error_code or 'interrupted'}",
    )


# --- Isolated runs: the parent's side ------------------------------------------------------


def _run_isolated(plugin: str, payload: ExecutionPayload, hosting: Hosting) -> Any:
    """Run the plugin in a pool child and return what it returned (decoded from JSON), or raise
    the failure that says what happened to it."""
    image, image_path = payload["image"], None
    if len(image) > FILE_PAYLOAD_BYTES:
        image, image_path = b"", _image_file(image)
    task = child.ChildTask(
        plugin=plugin,
        mime_type=payload["mime_type"],
        options=payload["options"],
        memory_mb=hosting.memory_mb,
        cpu_seconds=hosting.cpu_seconds,
        image=image,
        image_path=image_path,
    )
    try:
        reply = pool.plugin_pool().call(task, timeout=hosting.timeout_seconds)
        for name, level, message in reply.logs:
            logging.getLogger(name).log(level, "%s", message)
        return _from_reply(reply, hosting)
    finally:
        if image_path is not None:
            os.unlink(image_path)


def _image_file(image: bytes) -> str:
    descriptor, path = tempfile.mkstemp(prefix="plugin-image-", dir=SHARED_MEMORY_DIR)
    with os.fdopen(descriptor, "wb") as stored:
        stored.write(image)
    return path


def _exit_details(code: object) -> dict[str, Any]:
    return {"exit_code": code if isinstance(code, int) else None}


def _from_reply(reply: child.ChildReply, hosting: Hosting) -> Any:
    """The child's reply as the same failure an inline run would raise, or the result."""
    kind = reply.kind
    if kind == child.OK:
        return json.loads(reply.result_json)
    if kind == child.NOT_A_DICT:
        raise exceptions.OutputNotADict(details={"returned_type": reply.exception_type})
    if kind == child.NOT_JSON:
        raise exceptions.OutputNotJson(details={"reason": reply.message})
    failure: exceptions.ExecutionFailure
    if kind == child.IMAGE_UNREADABLE:
        failure = exceptions.ImageUnreadable(reply.message or None)
    elif kind == child.OPTIONS_UNSUPPORTED:
        failure = exceptions.OptionsInvalid(reply.message or None)
    elif kind == child.MEMORY:
        failure = exceptions.ResourceLimit(
            f"The plugin ran out of memory under its limit of {hosting.memory_mb} MB.",
            details={"limit": "memory_mb", "memory_mb": hosting.memory_mb},
        )
    elif kind == child.EXITED:
        failure = exceptions.PluginExited(details=_exit_details(reply.exit_code))
    elif kind == child.INTERRUPTED:
        failure = exceptions.PluginInterrupted()
    elif kind == child.NOT_INSTALLED:
        failure = exceptions.PluginUnavailable(
            f"The plugin is unavailable in the plugin process: {reply.message}",
            details={"reason": reply.message},
        )
    else:
        failure = _plugin_failure(type_name=reply.exception_type, message=reply.message)
    failure.remote_traceback = reply.traceback
    raise failure
