"""The web tier's ASGI application, called as gunicorn's worker calls it (receive and send are
the server's side of the ASGI boundary), around a real WSGI application."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

from execution.api.server import BufferedWsgiApp


def echo_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Answers with what it was given: the environ's strings and the body it read."""
    body = environ["wsgi.input"].read()
    seen = {key: value for key, value in environ.items() if isinstance(value, str)}
    start_response("201 Created", [("Content-Type", "application/json"), ("X-Seen", "yes")])
    return [json.dumps({"environ": seen, "body": body.decode()}).encode()]


def exits(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    raise SystemExit(3)


def call(
    app: BufferedWsgiApp,
    *,
    path: str = "/v1/x",
    headers: list[tuple[bytes, bytes]] | None = None,
    chunks: list[bytes] | None = None,
    pause: float = 0.0,
) -> tuple[int, dict[bytes, bytes], bytes]:
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "query_string": b"a=1",
        "root_path": "",
        "headers": headers or [],
        "server": ("127.0.0.1", 8000),
        "client": ("203.0.113.9", 5000),
    }
    pending = list(chunks or [b""])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(pause)
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, body = sent
    return start["status"], dict(start["headers"]), body["body"]


def app_for(wsgi: Any, **limits: Any) -> BufferedWsgiApp:
    return BufferedWsgiApp(
        wsgi, threads=2, body_timeout=limits.get("body_timeout", 5), max_body_bytes=1000
    )


def test_the_body_arrives_whole_and_the_environ_is_wsgi() -> None:
    headers = [
        (b"content-type", b"text/plain"),
        (b"content-length", b"10"),
        (b"x-forwarded-for", b"10.0.0.1"),
        (b"x-forwarded-for", b"10.0.0.2"),
        (b"x_forwarded_for", b"spoofed"),
    ]

    status, response_headers, body = call(
        app_for(echo_app), headers=headers, chunks=[b"01234", b"56789"]
    )

    assert status == 201
    assert response_headers[b"x-seen"] == b"yes"
    assert response_headers[b"content-length"] == str(len(body)).encode()
    answer = json.loads(body)
    assert answer["body"] == "0123456789"
    environ = answer["environ"]
    assert environ["CONTENT_LENGTH"] == "10"
    assert environ["CONTENT_TYPE"] == "text/plain"
    # Repeated headers joined, as WSGI servers do; one with an underscore dropped, since it
    # would read as the same header once dashes become underscores.
    assert environ["HTTP_X_FORWARDED_FOR"] == "10.0.0.1,10.0.0.2"
    assert (environ["REMOTE_ADDR"], environ["QUERY_STRING"]) == ("203.0.113.9", "a=1")
    assert (environ["PATH_INFO"], environ["REQUEST_METHOD"]) == ("/v1/x", "POST")


def test_a_body_longer_than_the_limit_is_refused_while_it_is_read() -> None:
    # Chunked outside /v1 (no Content-Length to refuse it by): counted as it arrives.
    status, _, body = call(app_for(echo_app), path="/admin/x", chunks=[b"x" * 600] * 2)

    assert status == 413
    assert json.loads(body)["error"]["code"] == "REQUEST_TOO_LARGE"


def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    status, _, body = call(app_for(echo_app), headers=[(b"content-length", b"5000")])

    assert status == 413
    assert json.loads(body)["error"]["details"] == {"max_bytes": 1000, "size": 5000}


def test_a_slow_body_is_refused_with_408() -> None:
    status, _, body = call(
        app_for(echo_app, body_timeout=0.2), chunks=[b"a", b"b", b"c"], pause=0.15
    )

    assert status == 408
    assert json.loads(body)["error"]["code"] == "REQUEST_TIMEOUT"


def test_system_exit_in_the_application_is_answered_500() -> None:
    """Code run for a request must never end the worker: gunicorn halts on its status 3."""
    status, _, body = call(app_for(exits))

    assert status == 500
    assert json.loads(body)["error"]["code"] == "INTERNAL_ERROR"
