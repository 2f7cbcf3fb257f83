"""What an error answer of /v1 must be: exactly the envelope, with a stable code, and nothing of
the server's internals in it. Shared by the error tests, the schemathesis run and the OpenAPI
document's tests (its examples must be envelopes too)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

ENVELOPE_KEYS = {"type", "code", "message", "details", "plugin", "job_id", "timestamp"}
ERROR_TYPES = {"ValidationError", "PluginError", "ExecutionError"}
UPPER_SNAKE = re.compile(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*")
# What a leaked traceback or exception repr looks like inside a string of the body.
LEAKS = ("Traceback", 'File "', "<object", "Error(")


def strings(value: Any) -> Iterator[str]:
    """Every string in a decoded JSON value: keys and values, at any depth."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def assert_envelope(body: Any, *, sent: Iterable[str] = ()) -> dict[str, Any]:
    """Check that a decoded body is exactly the envelope and return its error. The schema's
    ErrorEnvelope allows extra keys and says nothing of what the strings hold, and clients branch
    on ``code``, so both are checked here. A leak-like string is allowed only as an echo of one
    of the strings the request ``sent`` ("no plugin is named 'Error('")."""
    assert isinstance(body, dict), body
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == ENVELOPE_KEYS, error
    assert error["type"] in ERROR_TYPES, error
    assert isinstance(error["code"], str), error
    assert UPPER_SNAKE.fullmatch(error["code"]), error
    assert isinstance(error["message"], str), error
    assert error["message"], error
    assert isinstance(error["details"], dict), error
    assert error["plugin"] is None or isinstance(error["plugin"], str), error
    assert error["job_id"] is None or str(uuid.UUID(error["job_id"])) == error["job_id"], error
    assert isinstance(error["timestamp"], str), error
    assert error["timestamp"].endswith("Z"), error
    sent = list(sent)
    for text in strings(body):
        for leak in LEAKS:
            if leak in text:
                assert any(leak in value for value in sent), f"{leak!r} leaked: {text!r}"
    return error


def envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    """The error of a Django test response, after checking it is exactly the envelope, with this
    status and code, and with nothing of the server's internals in it."""
    text = response.content.decode()
    assert response.status_code == status, text
    assert response["Content-Type"] == "application/json", text
    # In the raw text, and (assert_envelope) in every decoded string: JSON escapes the quote of
    # 'File "', so only the decoded strings show that one.
    for leak in LEAKS:
        assert leak not in text, text
    error = assert_envelope(json.loads(text))
    assert error["code"] == code, error
    return error
