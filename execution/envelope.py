"""The one place that builds the error envelope.

Clients get ``{"error": {...}}``. The ``_internal`` part (the traceback) is stored with the job
for operators and stripped by ``public_envelope`` before anything leaves the server.
"""

from __future__ import annotations

import traceback
from datetime import UTC, datetime
from typing import Any

from execution.exceptions import ExecutionFailure
from execution.validation import storable_text


def _storable(value: Any) -> Any:
    """Errors echo client input and plugin messages: keep only what a database can store."""
    if isinstance(value, str):
        return storable_text(value, limit=10_000)
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    return value


def build_envelope(
    failure: ExecutionFailure,
    *,
    job_id: str | None = None,
    plugin: str | None = None,
    cause: BaseException | None = None,
    remote_traceback: str = "",
) -> dict[str, Any]:
    envelope: dict[str, Any] = {
        "error": {
            "type": failure.type,
            "code": failure.code,
            "message": _storable(failure.message),
            "details": _storable(failure.details),
            "plugin": failure.plugin or plugin,
            "job_id": str(job_id or failure.job_id or "") or None,
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
    }
    raised = cause or failure
    trace = ""
    if raised.__traceback__ is not None:
        trace = "".join(traceback.format_exception(raised))
    if remote_traceback:
        trace += f"\nIn the plugin process:\n{remote_traceback}"
    if trace:
        envelope["_internal"] = {"traceback": storable_text(trace, limit=100_000)}
    return envelope


def public_envelope(envelope: dict[str, Any]) -> dict[str, Any]:
    return {"error": envelope["error"]}
