from __future__ import annotations

import json

from execution import exceptions
from execution.envelope import build_envelope, public_envelope


def test_the_envelope_has_the_documented_shape() -> None:
    envelope = build_envelope(
        exceptions.MimeTypeMismatch(details={"declared": "image/jpeg"}, plugin="ocr"),
        job_id="0b9a3f5e-0000-4000-8000-000000000001",
    )

    error = envelope["error"]
    assert list(error) == ["type", "code", "message", "details", "plugin", "job_id", "timestamp"]
    assert (error["type"], error["code"], error["plugin"]) == (
        "ValidationError",
        "MIME_TYPE_MISMATCH",
        "ocr",
    )
    assert error["message"] == "The mime_type does not match the image bytes."
    assert error["timestamp"].endswith("Z")
    assert "_internal" not in envelope  # never raised: no traceback to keep


def test_the_traceback_is_internal_only() -> None:
    try:
        raise exceptions.PluginError("boom")
    except exceptions.PluginError as failure:
        envelope = build_envelope(failure)

    assert "raise exceptions.PluginError" in envelope["_internal"]["traceback"]
    assert public_envelope(envelope) == {"error": envelope["error"]}


def test_text_no_database_stores_is_removed_from_what_clients_sent_back() -> None:
    failure = exceptions.MimeTypeUnsupported(
        "bad\x00type", details={"mime_type": "image/p\x00ng", "seen": ["lone \ud800 half"]}
    )

    error = build_envelope(failure)["error"]

    assert error["message"] == "badtype"
    assert error["details"] == {"mime_type": "image/png", "seen": ["lone  half"]}
    json.dumps(error).encode("utf-8")  # storable and sendable
