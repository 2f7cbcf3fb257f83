"""`make run`'s last step: the web tier and a worker together, kept up by serve, both stopped by
one Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.execution.cluster import wait_for
from tests.execution.web import (
    ONE_PIXEL_PNG,
    api_token,
    embedded_env,
    migrate,
    serving,
    status_of,
)


def _leader(serve: subprocess.Popen[bytes], word: str) -> psutil.Process | None:
    """serve's direct child whose command line has ``word`` (gunicorn or qcluster), if alive."""
    for child in psutil.Process(serve.pid).children():
        with contextlib.suppress(psutil.NoSuchProcess):
            if word in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                return child
    return None


def test_serve_runs_web_and_worker_and_ctrl_c_stops_both(tmp_path: Path) -> None:
    env = embedded_env(tmp_path)
    migrate(env)
    with serving(env, tmp_path / "serve.log") as (serve, port):
        children = psutil.Process(serve.pid).children(recursive=True)
        assert _leader(serve, "gunicorn") is not None
        assert _leader(serve, "qcluster") is not None
        # Unauthenticated, so the envelope's 401: the whole Django stack answered.
        assert status_of(f"http://127.0.0.1:{port}/v1/plugins") == 401
        # gunicorn's control socket is this instance's own, in VAR_DIR, not ~/.gunicorn.
        gunicorn = _leader(serve, "gunicorn")
        assert gunicorn is not None
        assert (tmp_path / f"gunicorn-{gunicorn.pid}.ctl").is_socket()

        os.killpg(serve.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group

        # Well inside serve's 20 s grace: the graceful stop works, no SIGKILL was needed.
        assert serve.wait(timeout=10) == 0
        _, alive = psutil.wait_procs(children, timeout=10)
        assert alive == []
        assert status_of(f"http://127.0.0.1:{port}/v1/plugins") is None


def exits_process_env(tmp_path: Path) -> dict[str, str]:
    return embedded_env(
        tmp_path,
        EXECUTION_PLUGINS="tests.misbehaving_plugins.ExitsProcess",
        # Inline: the plugin runs in the web worker itself, the worst case.
        EXECUTION_PLUGIN_ISOLATION="inline",
    )


def exit_in_a_request(port: int, token: str, **options: Any) -> None:
    body = {"plugin": "test-exits-process", "mime_type": "image/png"}
    body |= {"image": ONE_PIXEL_PNG, "options": options}
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/analyze-execution",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with contextlib.suppress(OSError):  # the connection dies with its worker
        urllib.request.urlopen(request, timeout=10)


def test_os_exit_3_in_a_request_ends_only_its_web_worker(tmp_path: Path) -> None:
    """gunicorn halts its master when a worker exits with 3; after boot, os._exit(3) exits
    with 1 instead, so gunicorn replaces just that worker."""
    env = exits_process_env(tmp_path)
    token = api_token(env)
    log = tmp_path / "serve.log"
    with serving(env, log) as (serve, port):
        gunicorn = _leader(serve, "gunicorn")
        assert gunicorn is not None
        [worker] = gunicorn.children()

        exit_in_a_request(port, token, status=3)

        wait_for(lambda: not worker.is_running(), timeout=10, what="the worker to end")
        url = f"http://127.0.0.1:{port}/v1/plugins"
        wait_for(lambda: status_of(url, token=token) == 200, timeout=30, what="a new worker")
        assert _leader(serve, "gunicorn") == gunicorn  # the same master, never halted
        text = log.read_text()
        assert "exiting with 1 so that only this worker is replaced" in text
        assert "Starting web again" not in text


@pytest.mark.parametrize("how", ["native exit(3) in a request", "SIGKILL"])
def test_serve_starts_a_dead_child_again_and_keeps_the_other(tmp_path: Path, how: str) -> None:
    """Native code calling exit(3) in a web worker still halts gunicorn's master (Python cannot
    intercept it); serve starts the web tier again, and the worker cluster never stops."""
    env = exits_process_env(tmp_path)
    token = api_token(env)
    log = tmp_path / "serve.log"
    with serving(env, log) as (serve, port):
        url = f"http://127.0.0.1:{port}/v1/plugins"
        assert status_of(url, token=token) == 200
        qcluster, gunicorn = _leader(serve, "qcluster"), _leader(serve, "gunicorn")
        assert qcluster is not None
        assert gunicorn is not None
        if how == "SIGKILL":
            gunicorn.kill()
        else:
            exit_in_a_request(port, token, status=3, native=True)
        wait_for(lambda: not gunicorn.is_running(), timeout=10, what="gunicorn to stop")
        wait_for(lambda: status_of(url, token=token) == 200, timeout=30, what="web back")

        restarted = _leader(serve, "gunicorn")
        assert restarted is not None
        assert restarted.pid != gunicorn.pid
        assert _leader(serve, "qcluster") == qcluster
        text = log.read_text()
        expected = (
            "web killed by SIGKILL" if how == "SIGKILL" else "a web worker exited with status 3"
        )
        assert expected in text
        assert "Starting web again (restart 1)." in text

        qcluster.kill()
        wait_for(
            lambda: (found := _leader(serve, "qcluster")) is not None and found.pid != qcluster.pid,
            timeout=10,
            what="qcluster started again",
        )
        assert "worker killed by SIGKILL; starting it again in 1 s" in log.read_text()

        os.killpg(serve.pid, signal.SIGTERM)
        assert serve.wait(timeout=30) == 0
        assert status_of(url) is None
