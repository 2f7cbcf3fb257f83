"""A live deployment as the docs describe it: the management commands `make run` runs, then
`manage.py serve` (gunicorn and a django-q2 worker, through tests/execution/web.py, which stops
it by pid whatever happens) on a state directory of the test's own, on the embedded default."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.docs.markdown import REPO_ROOT
from tests.execution import web


def deployment_env(*, var_dir: Path, **extra: str) -> dict[str, str]:
    """The embedded default, in ``var_dir``: no DATABASE_URL, no REDIS_URL, one worker."""
    var_dir.mkdir(parents=True, exist_ok=True)
    return web.embedded_env(var_dir, **extra)


def manage(env: Mapping[str, str], *arguments: str) -> str:
    completed = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=REPO_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def prepare(env: Mapping[str, str]) -> None:
    """`make run`'s steps before it serves."""
    steps = [
        ["migrate", "--noinput", "-v0"],
        ["collectstatic", "--noinput", "--verbosity", "0"],
        ["sync_plugins"],
        ["ensure_schedules"],
    ]
    for command in steps:
        manage(env, *command)


def api_token(env: Mapping[str, str], url: str) -> str:
    printed = manage(env, "bootstrap_local", "--base-url", url)
    token = re.search(r"API token:\s+(\w+)", printed)
    assert token, printed
    return token.group(1)


@contextlib.contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """`manage.py serve` (web and worker) on a free port, for the block; yields its base URL."""
    with web.serving(env, Path(env["VAR_DIR"]) / "serve.log") as (_, port):
        yield f"http://127.0.0.1:{port}"


def call(
    url: str, token: str, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    """One request with the API token: (status, decoded JSON body)."""
    request = urllib.request.Request(
        f"{url}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
