"""The web tier on the real server (gunicorn, the project's config): slow bodies hold no thread,
are refused in time, and gunicorn's own refusals of malformed requests are the envelope."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from tests.conftest import BUILTIN_PLUGINS
from tests.execution.web import ONE_PIXEL_PNG, api_token, embedded_env, gunicorn, status_of

BODY_TIMEOUT = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """One web process with 4 request threads, as the old gthread set-up had per worker."""
    var_dir = tmp_path_factory.mktemp("server")
    env = embedded_env(
        var_dir,
        WEB_THREADS="4",
        WEB_BODY_TIMEOUT=str(BODY_TIMEOUT),
        EXECUTION_PLUGINS=",".join(
            [*BUILTIN_PLUGINS, "tests.misbehaving_plugins.RaisesSystemExit"]
        ),
        # In the web worker itself: what a SystemExit there can do is the point.
        EXECUTION_PLUGIN_ISOLATION="inline",
    )
    token = api_token(env)
    with gunicorn(env, var_dir / "gunicorn.log") as (_, port):
        yield port, token


def raw_request(port: int, data: bytes, *, timeout: float = 10) -> tuple[int, dict[str, Any]]:
    """Send bytes as they are; return the status and the JSON body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(data)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def api_post(token: str, rest: bytes, *, host: str = "127.0.0.1") -> bytes:
    """A POST to the sync API with the token's Authorization header, then ``rest`` as it is (the
    other headers, the blank line, a body)."""
    return (
        f"POST /v1/analyze-execution HTTP/1.1\r\nHost: {host}\r\n".encode()
        + f"Authorization: Token {token}\r\n".encode()
        + rest
    )


def json_api_post(token: str, plugin: str) -> bytes:
    """A whole sync run of ``plugin`` on a one-pixel PNG, the connection closed after it."""
    payload = json.dumps({"plugin": plugin, "mime_type": "image/png", "image": ONE_PIXEL_PNG})
    return api_post(
        token,
        f"Connection: close\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}"
        f"\r\n\r\n{payload}".encode(),
    )


def slow_post(port: int, token: str) -> socket.socket:
    """A POST that declares 1000 bytes of body and sends 10."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    connection.sendall(
        api_post(token, b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n0123456789")
    )
    return connection


def test_32_slow_bodies_leave_the_api_answering_within_a_second(server: tuple[int, str]) -> None:
    port, token = server
    slow = [slow_post(port, token) for _ in range(32)]
    try:
        time.sleep(0.5)  # every slow request has reached the server and waits for its body
        answers = [
            status_of(f"http://127.0.0.1:{port}/v1/plugins", token=token, timeout=1)
            for _ in range(8)
        ]
    finally:
        for connection in slow:
            connection.close()
    assert answers == [200] * 8


def test_a_body_not_received_in_time_is_refused_with_408(server: tuple[int, str]) -> None:
    port, token = server
    connection = slow_post(port, token)
    with connection:
        started = time.monotonic()
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        waited = time.monotonic() - started
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.split()[1] == b"408"
    error = json.loads(body)["error"]
    assert error["code"] == "REQUEST_TIMEOUT"
    assert error["details"] == {"timeout_seconds": BODY_TIMEOUT}
    assert waited >= BODY_TIMEOUT - 0.5  # refused by the timeout, not at once


@pytest.mark.parametrize("sent", [b"", b"GET /v1/plugins HTTP/1.1\r\nHost: 127.0.0.1\r\n"])
def test_a_request_whose_headers_never_arrive_is_refused_with_408(
    server: tuple[int, str], sent: bytes
) -> None:
    """Nothing, or headers that never end: gunicorn would hold the socket forever."""
    started = time.monotonic()
    status, body = raw_request(server[0], sent)

    assert (status, body["error"]["code"]) == (408, "REQUEST_TIMEOUT")
    assert time.monotonic() - started >= BODY_TIMEOUT - 0.5


MALFORMED = {
    "two different Content-Lengths": (
        b"POST /v1/analyze-execution HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Content-Length: 6\r\n\r\nhello!",
        400,
        "MALFORMED_REQUEST",
    ),
    "Content-Length and Transfer-Encoding": (
        b"POST /v1/analyze-execution HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        "MALFORMED_REQUEST",
    ),
    "a Content-Length that is no number": (
        b"POST /v1/analyze-execution HTTP/1.1\r\nHost: x\r\nContent-Length: five\r\n\r\n",
        400,
        "MALFORMED_REQUEST",
    ),
    "a request line over the limit": (
        b"GET /v1/plugins?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        414,
        "REQUEST_LINE_TOO_LONG",
    ),
    "a header over the limit": (
        b"GET /v1/plugins HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
        431,
        "REQUEST_HEADERS_TOO_LARGE",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_requests_answer_the_envelope(server: tuple[int, str], case: str) -> None:
    data, status, code = MALFORMED[case]
    answered, body = raw_request(server[0], data)
    assert (answered, body["error"]["code"]) == (status, code)
    assert body["error"]["type"] == "ValidationError"


# Refused from the head alone: the body is never read, nor waited for.
UNREAD = {
    "a chunked body": (
        b"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        411,
        "LENGTH_REQUIRED",
    ),
    "an oversized body": (b"Content-Length: 999999999\r\n\r\n", 413, "REQUEST_TOO_LARGE"),
    # gunicorn knows these codings and takes only chunked last; others it does not know.
    "a coding chunked does not end": (b"Transfer-Encoding: gzip\r\n\r\n", 400, "MALFORMED_REQUEST"),
    "a coding it does not know": (
        b"Transfer-Encoding: br\r\n\r\n",
        501,
        "TRANSFER_CODING_UNSUPPORTED",
    ),
}


@pytest.mark.parametrize("case", UNREAD)
def test_an_api_body_it_cannot_take_is_refused_unread(server: tuple[int, str], case: str) -> None:
    port, token = server
    rest, status, code = UNREAD[case]
    answered, body = raw_request(port, api_post(token, rest, host="x"))
    assert (answered, body["error"]["code"]) == (status, code)


def test_a_sync_run_goes_through_the_threads(server: tuple[int, str]) -> None:
    port, token = server
    status, body = raw_request(port, json_api_post(token, "image-metadata"))
    assert status == 200
    assert body["status"] == "SUCCESS"
    assert (body["result"]["width"], body["result"]["height"]) == (1, 1)


def test_a_valid_token_keeps_working_while_its_address_sends_100_bad_ones(
    server: tuple[int, str],
) -> None:
    port, token = server
    url = f"http://127.0.0.1:{port}/v1/plugins"
    bad, good = [], []
    for _ in range(100):
        bad.append(status_of(url, token="0" * 40))
        good.append(status_of(url, token=token))

    assert good == [200] * 100
    # THROTTLE_FAILED_AUTH_RATE's default, 30 a minute, then 429 for the rest of the minute (a
    # minute that turns within the loop lets up to 30 more through as 401).
    assert bad[0] == 401
    assert set(bad) == {401, 429}
    assert bad.count(401) <= 60


def test_system_exit_in_a_request_never_ends_the_web_worker(server: tuple[int, str]) -> None:
    """A plugin raising SystemExit inline: the request is answered, the worker lives on."""
    port, token = server
    workers = _web_workers(port)

    status, body = raw_request(port, json_api_post(token, "test-raises-system-exit"))

    assert (status, body["error"]["code"]) == (400, "PLUGIN_EXITED")
    assert status_of(f"http://127.0.0.1:{port}/v1/plugins", token=token) == 200
    assert _web_workers(port) == workers


def _web_workers(port: int) -> set[int]:
    """The pids of the gunicorn workers serving ``port`` (the master's children)."""
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "gunicorn" in cmdline and f"127.0.0.1:{port}" in cmdline:
            return {child.pid for child in process.children()}
    raise AssertionError(f"no gunicorn master for port {port}")
