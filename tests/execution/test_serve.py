"""`make run`'s last step: the web tier and a worker together, both stopped by one Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def status_of(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def test_serve_runs_web_and_worker_and_ctrl_c_stops_both(tmp_path: Path) -> None:
    env = {**os.environ, "VAR_DIR": str(tmp_path), "Q_WORKERS": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    serve = subprocess.Popen(
        [*manage, "serve", "--port", str(port), "--web-workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so a failed test can kill it all
    )
    try:
        deadline = time.monotonic() + 60
        while status_of(f"http://127.0.0.1:{port}/v1/plugins") is None:
            assert time.monotonic() < deadline, "the web tier never answered"
            assert serve.poll() is None, "serve exited early"
            time.sleep(0.3)
        children = psutil.Process(serve.pid).children(recursive=True)
        commands = [" ".join(child.cmdline()) for child in children]
        assert any("gunicorn" in command for command in commands)
        assert any("qcluster" in command for command in commands)
        # Unauthenticated, so the envelope's 401: the whole Django stack answered.
        assert status_of(f"http://127.0.0.1:{port}/v1/plugins") == 401

        os.killpg(serve.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group

        # Well inside serve's 20 s grace: the graceful stop works, no SIGKILL was needed.
        assert serve.wait(timeout=10) == 0
        _, alive = psutil.wait_procs(children, timeout=10)
        assert alive == []
        assert status_of(f"http://127.0.0.1:{port}/v1/plugins") is None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(serve.pid, signal.SIGKILL)
