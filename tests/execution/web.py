"""The real web tier for tests: gunicorn with the project's config, or the whole `serve`, on
the embedded set-up in a test's own VAR_DIR, stopped by pid however the test ends."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from tests.execution.cluster import (
    REPO_ROOT,
    start_in_own_session,
    stop_process_group,
    wait_for,
)
from tests.tcp_proxy import free_port

MANAGE = [sys.executable, "manage.py"]
ONE_PIXEL_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
)


def status_of(url: str, *, token: str | None = None, timeout: float = 2) -> int | None:
    headers = {"Authorization": f"Token {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout):
            return 200
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def api_request(
    url: str, token: str, payload: Any = None, *, method: str | None = None, timeout: float = 30
) -> tuple[int, Any]:
    """One request with the API token, JSON both ways (a POST when there is a payload): the
    status and the decoded body, an error's envelope included."""
    request = urllib.request.Request(
        url,
        data=None if payload is None else json.dumps(payload).encode(),
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def embedded_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The embedded set-up (SQLite, ORM broker) in ``var_dir``, whatever the caller's database."""
    env = {**os.environ, "VAR_DIR": str(var_dir), "Q_WORKERS": "1", **extra}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return env


def api_token(env: dict[str, str]) -> str:
    """Migrate the embedded database and return a new client's API token."""
    migrate(env)
    subprocess.run(
        [*MANAGE, "sync_plugins"], cwd=REPO_ROOT, env=env, check=True, capture_output=True
    )
    script = (
        "from django.contrib.auth import get_user_model; "
        "from rest_framework.authtoken.models import Token; "
        "print(Token.objects.create(user=get_user_model().objects.create_user('c')).key)"
    )
    shell = subprocess.run(
        [*MANAGE, "shell", "-c", script], cwd=REPO_ROOT, env=env, check=True, capture_output=True
    )
    return shell.stdout.decode().split()[-1]


def migrate(env: dict[str, str]) -> None:
    subprocess.run([*MANAGE, "migrate", "-v0"], cwd=REPO_ROOT, env=env, check=True)


@contextlib.contextmanager
def _answering(
    command: list[str], env: dict[str, str], log: Path, port: int
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` running until the block ends, once it answers on ``port``; then stopped
    (SIGTERM, then SIGKILL for its group and whatever it started in groups of their own)."""
    process = start_in_own_session(command, env=env, log_path=log)
    try:
        wait_for(
            lambda: status_of(f"http://127.0.0.1:{port}/v1/plugins") or process.poll() is not None,
            timeout=60,
            what=f"{command[1:4]} to answer",
        )
        assert process.poll() is None, log.read_text()
        yield process
    finally:
        descendants = _descendants(process.pid)
        stop_process_group(process, grace=20)
        # serve's children (gunicorn, qcluster) run in process groups of their own.
        for child in descendants:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@contextlib.contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`manage.py serve` (web and worker), answering on a free port."""
    port = free_port()
    command = [*MANAGE, "serve", "--port", str(port), "--web-workers", "1"]
    with _answering(command, env, log, port) as serve:
        yield serve, port


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str], log: Path, *, workers: int = 1
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """gunicorn as `serve` starts it (the project's config module), answering on a free port."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", "python:execution_project.gunicorn_conf"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    with _answering(command, env, log, port) as server:
        yield server, port
