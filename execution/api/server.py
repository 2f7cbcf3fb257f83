"""The web tier under gunicorn: Django's WSGI application behind an asynchronous body buffer.

gunicorn's ASGI worker reads sockets on an event loop; this application reads each request's
whole body there, within ``BODY_TIMEOUT_SECONDS`` and ``MAX_REQUEST_BYTES``, and only then
hands the request to a thread of its pool, where Django runs it as WSGI. A client that sends
its body slowly (or never) costs a coroutine and a socket, never a thread, and is answered 408.

Why not Django's own ASGI handler: it runs every sync middleware and view through
``sync_to_async(thread_sensitive=True)``, one thread per process for all of them, so one slow
plugin run would stall every other request of its process. asgiref's ``WsgiToAsgi`` buffers the
body the same way but also runs the WSGI call on that single thread. Here the pool has
``WEB_THREADS`` threads, as gunicorn's gthread worker had, and the response is buffered too, so a
client that reads slowly holds no thread either.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, NoReturn

from gunicorn.workers import gasgi

from execution import exceptions
from execution.conf import execution_settings
from execution.envelope import build_envelope, public_envelope

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

API_PREFIX = "/v1/"
# Bodies up to this size stay in memory; larger ones (an image upload) spill to a temporary file.
SPOOL_MAX_BYTES = 2 * 1024 * 1024


def body_refusal(
    *, path: str, content_length: str | None, transfer_encoding: str, limit: int
) -> exceptions.ExecutionFailure | None:
    """Why a /v1 body is refused before a byte of it is read, or None.

    Shared by this server (before the body is buffered) and by the middleware (behind any other
    WSGI server, and in tests): the same request gets the same answer either way.
    """
    if not path.startswith(API_PREFIX):
        return None
    if "chunked" in transfer_encoding.lower():
        # Django reads no more than Content-Length: a chunked body would read as empty.
        return exceptions.RequestRejected(
            "Send the body with a Content-Length; chunked bodies are not read.",
            code="LENGTH_REQUIRED",
            status_code=411,
        )
    try:
        length = int(content_length or 0)
    except ValueError:
        length = 0
    if length > limit:
        return exceptions.RequestTooLarge(
            f"The request body is {length} bytes; the limit is {limit}.",
            details={"max_bytes": limit, "size": length},
        )
    return None


def envelope_bytes(failure: exceptions.ExecutionFailure) -> bytes:
    return json.dumps(public_envelope(build_envelope(failure))).encode()


class BufferedWsgiApp:
    """An ASGI application that runs a WSGI one on a thread pool, body and response buffered."""

    def __init__(
        self,
        wsgi_app: WsgiApp,
        *,
        threads: int,
        body_timeout: float,
        max_body_bytes: int,
    ) -> None:
        self.wsgi_app = wsgi_app
        self.body_timeout = body_timeout
        self.max_body_bytes = max_body_bytes
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        # Anything else (websocket) is not ours: returning closes it.

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.pool.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _header_dict(scope["headers"])
        refusal = body_refusal(
            path=scope["path"],
            content_length=headers.get("content-length"),
            transfer_encoding=headers.get("transfer-encoding", ""),
            limit=self.max_body_bytes,
        )
        if refusal is not None:
            await _send_envelope(send, refusal)
            return
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES) as body:
            try:
                size = await asyncio.wait_for(
                    self._read_body(receive, body), timeout=self.body_timeout
                )
            except TimeoutError:
                await _send_envelope(
                    send,
                    exceptions.RequestTimeout(
                        f"The request body was not received within {self.body_timeout:g} s.",
                        details={"timeout_seconds": self.body_timeout},
                    ),
                )
                return
            except exceptions.RequestTooLarge as too_large:
                await _send_envelope(send, too_large)
                return
            if size is None:
                return  # the client went away: nobody to answer
            body.seek(0)
            environ = _environ(scope, headers=scope["headers"], body=body, size=size)
            loop = asyncio.get_running_loop()
            try:
                status, response_headers, content = await loop.run_in_executor(
                    self.pool, self._call_wsgi, environ
                )
            except (Exception, SystemExit, KeyboardInterrupt):
                # SystemExit included: code run for a request (an inline plugin among it) must
                # never stop this worker process, and gunicorn halts everything when a worker
                # exits with status 3 or 4.
                logger.exception("Unhandled error serving %s %s", scope["method"], scope["path"])
                await _send_envelope(send, exceptions.InternalError())
                return
        await _send_response(send, status, response_headers, content)

    async def _read_body(self, receive: Receive, body: IO[bytes]) -> int | None:
        """The body's size once it is all in ``body``, or None if the client went away."""
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                # A chunked body outside /v1, or a body longer than it declared.
                raise exceptions.RequestTooLarge(details={"max_bytes": self.max_body_bytes})
            body.write(chunk)
            if not message.get("more_body", False):
                return size

    def _call_wsgi(self, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        started: list[Any] = []
        written: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started[:] = [status, headers]
            return written.append

        result = self.wsgi_app(environ, start_response)
        try:
            written.extend(chunk for chunk in result if chunk)
        finally:
            # Django sends request_finished (and closes the thread's old connections) here.
            if close := getattr(result, "close", None):
                close()
        status, headers = started
        return (
            int(status.split(" ", 1)[0]),
            [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers],
            b"".join(written),
        )


def _header_dict(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in headers}


def _environ(
    scope: Scope, *, headers: list[tuple[bytes, bytes]], body: IO[bytes], size: int
) -> dict[str, Any]:
    """A WSGI environ (PEP 3333) for an ASGI HTTP scope whose body has been read whole."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode().decode("latin-1"),
        "PATH_INFO": scope["path"].encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        # The body is whole: its length is known, whatever framing it came with.
        "CONTENT_LENGTH": str(size),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if "_" in name:
            # X_Forwarded_For would pass for X-Forwarded-For once dashes become underscores;
            # WSGI servers drop such headers (gunicorn's own WSGI workers do).
            continue
        key = name.upper().replace("-", "_")
        if key == "CONTENT_LENGTH":
            continue
        if key != "CONTENT_TYPE":
            key = f"HTTP_{key}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


async def _send_envelope(send: Send, failure: exceptions.ExecutionFailure) -> None:
    # Connection: close, as the body may not have been read: what follows it on the connection
    # cannot be told from the next request.
    headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
    await _send_response(send, failure.status_code, headers, envelope_bytes(failure))


async def _send_response(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], content: bytes
) -> None:
    if not any(name == b"content-length" for name, _ in headers):
        headers = [*headers, (b"content-length", str(len(content)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


# --- gunicorn's malformed-request answers ---------------------------------------------------


def malformed_request_failure(status: int, message: str) -> exceptions.ExecutionFailure:
    """The envelope of a request gunicorn's parser refused (bad framing, a header or request line
    over its limits): it is refused before any path is known, so every path gets it."""
    reason = message[:300]
    if status == 408:
        return exceptions.RequestTimeout(reason)
    codes = {
        400: "MALFORMED_REQUEST",
        414: "REQUEST_LINE_TOO_LONG",
        431: "REQUEST_HEADERS_TOO_LARGE",
        426: "UPGRADE_REQUIRED",
        501: "TRANSFER_CODING_UNSUPPORTED",
    }
    return exceptions.RequestRejected(
        f"The HTTP request was refused by the server: {reason}",
        code=codes.get(status, "MALFORMED_REQUEST" if status < 500 else "INTERNAL_ERROR"),
        status_code=status,
        type="ValidationError" if status < 500 else "ExecutionError",
    )


# gunicorn's master halts, stopping every worker, when one exits with these (a boot failure,
# an application that cannot load), whatever happened after boot.
GUNICORN_HALT_STATUSES = frozenset({3, 4})


def guard_exit_status() -> None:
    """Make ``os._exit(3)`` (or 4) in a booted web worker end only that worker.

    Called from gunicorn's post_worker_init hook, so a worker that fails to boot still halts
    the master as gunicorn intends. After boot, code run for a request (an inline plugin, a
    native library's Python wrapper) that ends the process with 3 or 4 exits with 1 instead:
    gunicorn replaces the worker and the others keep serving. C code calling exit() directly
    is beyond this; `manage.py serve` (or the supervisor) starts gunicorn again then.
    """
    real_exit = os._exit

    def exit_without_halting(status: int) -> NoReturn:
        if status in GUNICORN_HALT_STATUSES:
            logger.error(
                "A request ended this web worker with os._exit(%s), which would halt gunicorn; "
                "exiting with 1 so that only this worker is replaced.",
                status,
            )
            status = 1
        real_exit(status)

    os._exit = exit_without_halting


class EnvelopeASGIProtocol(gasgi.ASGIProtocol):
    """gunicorn's protocol, answering with the envelope, and bounding the first request's wait.

    gunicorn times out the wait for a keep-alive connection's next request, but arms nothing
    before its first: a connection that never completes its request line and headers would
    hold its socket until the worker restarts. Here it gets 408 after BODY_TIMEOUT_SECONDS.
    """

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._first_request_timer = self.worker.loop.call_later(
            execution_settings.BODY_TIMEOUT_SECONDS, self._first_request_overdue
        )

    def _first_request_overdue(self) -> None:
        # req_count is 1 while the first request is awaited; its parsed headers set
        # _current_request. Anything else means the first request arrived in time.
        if self._closed or self.req_count > 1 or self._current_request is not None:
            return
        self._send_error_response(408, "The request was not received in time.")
        self._close_transport()

    def connection_lost(self, exc: Exception | None) -> None:
        self._first_request_timer.cancel()
        super().connection_lost(exc)

    def _send_error_response(
        self, status: int, message: str, extra_headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        body = envelope_bytes(malformed_request_failure(status, str(message)))
        head = "".join(
            [
                f"HTTP/1.1 {status} {self._get_reason_phrase(status)}\r\n",
                "Content-Type: application/json\r\n",
                f"Content-Length: {len(body)}\r\n",
                *(f"{name}: {value}\r\n" for name, value in extra_headers),
                "Connection: close\r\n\r\n",
            ]
        )
        self._safe_write(head.encode("latin-1") + body)


class EnvelopeASGIWorker(gasgi.ASGIWorker):
    """gunicorn's ASGI worker, answering the requests its parser refuses with the envelope.

    gunicorn offers no hook for those answers: the worker builds its protocol from the module's
    ``ASGIProtocol`` name, so this worker points that name at the subclass above in its own
    process (a worker process runs no other gunicorn worker). tests/execution/test_server.py
    sends malformed requests to a real server, so an upgrade that changes this is caught.
    """

    def init_process(self) -> None:
        gasgi.ASGIProtocol = EnvelopeASGIProtocol
        super().init_process()
