"""The one place that builds the error envelope.

Clients get ``{"error": {...}}``. The ``_internal`` part (the traceback) is stored with the job
for operators and stripped by ``public_envelope`` before anything leaves the server.
"""

from __future__ import annotations

import traceback
from datetime import UTC, datetime
from typing import Any

from execution.exceptions import ExecutionFailure


def build_envelope(
    failure: ExecutionFailure,
    *,
    job_id: str | None = None,
    plugin: str | None = None,
    cause: BaseException | None = None,
) -> dict[str, Any]:
    envelope: dict[str, Any] = {
        "error": {
            "type": failure.type,
            "code": failure.code,
            "message": failure.message,
            "details": failure.details,
            "plugin": failure.plugin or plugin,
            "job_id": str(job_id) if job_id else None,
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
    }
    raised = cause or failure
    if raised.__traceback__ is not None:
        envelope["_internal"] = {"traceback": "".join(traceback.format_exception(raised))}
    return envelope


def public_envelope(envelope: dict[str, Any]) -> dict[str, Any]:
    return {"error": envelope["error"]}
