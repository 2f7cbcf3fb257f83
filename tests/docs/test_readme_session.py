"""The README's curl session, run as a newcomer runs it: against a live `manage.py serve` (gunicorn
and a django-q2 worker) on the embedded default, each command as written, each answer checked
against the one the README promises on the `# → ` line below the command.

A promise is JSON, or an HTTP status then JSON when the command asks for headers (`curl -i`).
It holds part of the answer: an object matches when each of its keys matches, a list when each
of its items matches some item of the answer, and "…" matches anything. `<job_id>` is the job id
of the latest answer that had one, as the README tells its reader.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.docs import live
from tests.docs.markdown import REPO_ROOT, document
from tests.execution.cluster import wait_for

README_URL = "http://127.0.0.1:8000"
PROMISE = "# → "
ANYTHING = "…"


@dataclass
class Step:
    command: str
    promise: str


def session_steps() -> list[Step]:
    """The commands of the README's first block that runs curl, each with its promise."""
    block = next(body for body in document("README.md").code_blocks("bash") if "curl" in body)
    steps: list[Step] = []
    command = ""
    for line in block.splitlines():
        if line.startswith(PROMISE):
            steps.append(Step(command.strip(), line.removeprefix(PROMISE)))
            command = ""
        elif line.startswith("TOKEN=") or line.startswith("#") or not line.strip():
            continue
        else:
            command += line.removesuffix("\\") + " " if line.endswith("\\") else line
    return steps


def matches(promised: Any, actual: Any) -> bool:
    if promised == ANYTHING:
        return True
    if isinstance(promised, dict):
        return isinstance(actual, dict) and all(
            key in actual and matches(value, actual[key]) for key, value in promised.items()
        )
    if isinstance(promised, list):
        return isinstance(actual, list) and all(
            any(matches(item, candidate) for candidate in actual) for item in promised
        )
    return bool(promised == actual)


def _parse_answer(output: str) -> tuple[int | None, Any]:
    status = None
    if output.startswith("HTTP/"):
        head, _, output = output.replace("\r\n", "\n").partition("\n\n")
        status = int(head.split()[1])
        assert re.search(r"^location: \S+/v1/analyze-execution/jobs/", head, re.I | re.M), head
    return status, json.loads(output)


@dataclass
class Server:
    url: str
    token: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def live_server_of_make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """What `make run` does, on a state directory of the test's own."""
    env = live.deployment_env(var_dir=tmp_path_factory.mktemp("var"))
    live.prepare(env)
    with live.serving(env) as url:
        yield Server(url=url, token=live.api_token(env, url), env=env)


def _run(command: str, server: Server) -> str:
    completed = subprocess.run(
        ["bash", "-c", command],
        cwd=REPO_ROOT,
        env={**server.env, "TOKEN": server.token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_the_readme_session_gets_the_answers_it_promises(live_server_of_make_run: Server) -> None:
    server = live_server_of_make_run
    steps = session_steps()
    assert len(steps) >= 7  # the parse found the session, not a stray block
    job_id = None
    for step in steps:
        assert README_URL in step.command, step.command
        command = step.command.replace(README_URL, server.url)
        if "<job_id>" in command:
            assert job_id, f"no job id yet for: {step.command}"
            command = command.replace("<job_id>", job_id)
        promised_status, _, promised_body = step.promise.partition(" ")
        if not promised_status.isdigit():
            promised_status, promised_body = "", step.promise
        promise = json.loads(promised_body)

        def finished(command: str = command) -> tuple[int | None, Any] | None:
            # Only a job's result is worth waiting for: the worker runs it when it runs it.
            status, body = _parse_answer(_run(command, server))
            if (
                isinstance(body, dict)
                and (body.get("error") or {}).get("code") == "JOB_NOT_FINISHED"
            ):
                return None
            return status, body

        status, body = wait_for(
            finished, timeout=60, interval=0.5, what=f"{step.command} to finish its job"
        )
        assert matches(promise, body), f"{step.command}\npromised {promise}\ngot {body}"
        if promised_status:
            assert status == int(promised_status), step.command
        if isinstance(body, dict) and body.get("job_id"):
            job_id = body["job_id"]


def test_the_promises_are_checked_for_what_they_say() -> None:
    assert matches({"a": ANYTHING, "b": [{"c": 1}]}, {"a": 2, "b": [{"c": 0}, {"c": 1, "d": 3}]})
    assert not matches({"a": 1}, {"a": 2})
    assert not matches({"a": 1}, {"b": 1})
    assert not matches([{"c": 2}], [{"c": 1}])
    assert not matches({"error": None}, {})
    steps = session_steps()
    assert all(step.command.startswith("curl ") for step in steps)


def test_the_session_needs_no_optional_system_package() -> None:
    """OCR needs the Tesseract binary; a newcomer's first session must work without it."""
    plugins = {
        m for step in session_steps() for m in re.findall(r"plugin\W+(\w[\w-]*)", step.command)
    }
    assert plugins
    assert "ocr" not in plugins
