"""Misbehaving plugins on the real servers: a django-q2 cluster and gunicorn, as subprocesses on
the test database. No misbehaviour kills a worker or web process; the server answers other
requests while a plugin hangs; and a stopped server leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from execution.models import Job, JobStatus
from registry.models import PluginState
from tests import images
from tests.conftest import BUILTIN_PLUGINS, MISBEHAVING_PLUGINS, b64
from tests.execution import web
from tests.execution.cluster import QCluster, database_url, wait_for
from tests.helpers import plugin_row

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("synced_registry"),
]

# The same short limits as the in-process tests, given to the servers through the environment.
HOSTING = {
    "test-sleeps-forever": {"timeout_seconds": 2},
    "test-spins-in-c": {"timeout_seconds": 2, "cpu_seconds": 10},
    "test-allocates-forever": {"memory_mb": 1024},
}
EXPECTED = {
    "test-sleeps-forever": ({}, "PLUGIN_TIMEOUT", {"timeout_seconds": 2.0}),
    "test-spins-in-c": ({}, "PLUGIN_TIMEOUT", {"timeout_seconds": 2.0}),
    "test-exits-process": ({"status": 3}, "PLUGIN_CRASHED", {"exit_code": 3}),
    "test-segfaults": ({}, "PLUGIN_CRASHED", {"signal": "SIGSEGV", "signal_number": 11}),
    "test-allocates-forever": ({}, "RESOURCE_LIMIT", {"limit": "memory_mb", "memory_mb": 1024}),
    "test-returns-list": ({}, "OUTPUT_NOT_A_DICT", {"returned_type": "list"}),
    "test-raises": ({}, "PLUGIN_FAILED", {"exception_type": "RuntimeError"}),
    "test-raises-system-exit": ({}, "PLUGIN_EXITED", {"exit_code": 3}),
    "test-raises-keyboard-interrupt": ({}, "PLUGIN_INTERRUPTED", {}),
}


def body(plugin: str, options: dict[str, Any]) -> dict[str, Any]:
    return {
        "plugin": plugin,
        "image": b64(images.small_png()),
        "mime_type": "image/png",
        "options": options,
    }


def assert_each_counted_once_as_a_fault() -> None:
    for plugin, (_, code, _) in EXPECTED.items():
        row = plugin_row(plugin)
        assert (row.success_count, row.plugin_fault_count, row.input_refused_count) == (0, 1, 0)
        assert (row.state, row.reason) == (PluginState.FAILED, f"last execution failed: {code}")


# --- The async API on a real qcluster ----------------------------------------------------------


def test_misbehaving_plugins_on_a_real_cluster_fail_their_jobs_and_kill_no_worker(
    api_client: APIClient, start_cluster: Callable[..., QCluster]
) -> None:
    cluster = start_cluster(workers=2, env={"EXECUTION_PLUGIN_HOSTING": json.dumps(HOSTING)})
    workers = cluster.worker_pids()
    jobs = {}
    for plugin, (options, _, _) in EXPECTED.items():
        response = api_client.post(
            "/v1/analyze-execution/async", body(plugin, options), format="json"
        )
        assert response.status_code == 202, response.content
        jobs[plugin] = response.json()["job_id"]

    wait_for(
        lambda: (
            Job.objects.filter(pk__in=jobs.values(), status=JobStatus.FAILED).count() == len(jobs)
        ),
        timeout=90,
        interval=0.2,
        what="every misbehaving job to fail",
    )
    for plugin, (_, code, details) in EXPECTED.items():
        job = Job.objects.get(pk=jobs[plugin])
        assert (job.error_code, job.error["error"]["details"]) == (code, details), plugin
    assert_each_counted_once_as_a_fault()

    healthy = api_client.post(
        "/v1/analyze-execution/async", body("image-metadata", {}), format="json"
    ).json()["job_id"]
    wait_for(
        lambda: Job.objects.get(pk=healthy).status == JobStatus.SUCCESS,
        timeout=30,
        what="a healthy job to succeed",
    )
    # The same worker processes ran all of it: none was killed or replaced.
    assert cluster.worker_pids() == workers
    assert cluster.announced_worker_pids() == workers
    # A graceful stop takes the workers' plugin processes with them.
    pool = [child for pid in workers for child in psutil.Process(pid).children(recursive=True)]
    assert len(pool) >= 2
    cluster.process.send_signal(signal.SIGTERM)
    cluster.process.wait(timeout=30)
    assert psutil.wait_procs(pool, timeout=10)[1] == []


# --- The sync API on real gunicorn ------------------------------------------------------------


class Server:
    def __init__(self, process: subprocess.Popen[bytes], port: int, token: str) -> None:
        self.process, self.port, self.token = process, port, token

    def request(self, method: str, path: str, payload: Any = None, timeout: float = 30) -> Any:
        url = f"http://127.0.0.1:{self.port}{path}"
        return web.api_request(url, self.token, payload, method=method, timeout=timeout)

    def web_workers(self) -> set[int]:
        return {child.pid for child in psutil.Process(self.process.pid).children()}


@pytest.fixture
def gunicorn(user: Any, media_root: Path, tmp_path: Path, settings: Any) -> Iterator[Server]:
    """gunicorn as `serve` starts it, on the test database, with the misbehaving plugins."""
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("EXECUTION_")},
        "DATABASE_URL": database_url(connection.settings_dict),
        "VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(media_root),
        "SECRET_KEY": settings.SECRET_KEY,
        "EXECUTION_PLUGINS": ",".join(BUILTIN_PLUGINS + MISBEHAVING_PLUGINS),
        "EXECUTION_PLUGIN_HOSTING": json.dumps(HOSTING),
        "EXECUTION_POOL_SIZE": "2",
    }
    env.pop("REDIS_URL", None)
    print(f"gunicorn log: {tmp_path / 'gunicorn.log'}")  # shown when the test fails
    with web.gunicorn(env, tmp_path / "gunicorn.log") as (process, port):
        yield Server(process, port, Token.objects.create(user=user).key)


def test_a_web_worker_starts_its_plugin_processes_as_it_boots(gunicorn: Server) -> None:
    """Before any execution (the fixture only listed the plugins), the worker's pool is full:
    EXECUTION_POOL_SIZE children under its forkserver, which the first runs then use."""
    [worker] = gunicorn.web_workers()

    def pool_children() -> set[int]:
        forkservers = [
            process
            for process in psutil.Process(worker).children()
            if "forkserver" in " ".join(process.cmdline())
        ]
        return {child.pid for server in forkservers for child in server.children()}

    wait_for(lambda: len(pool_children()) == 2, timeout=30, what="the pool's two children")
    started = pool_children()
    assert Job.objects.count() == 0

    for _ in range(3):
        status, result = gunicorn.request(
            "POST", "/v1/analyze-execution", body("image-metadata", {})
        )
        assert (status, result["status"]) == (200, "SUCCESS")
    assert pool_children() == started


def test_a_graceful_shutdown_lets_a_run_in_a_plugin_process_finish(gunicorn: Server) -> None:
    """SIGTERM to gunicorn: the worker stops taking requests but finishes the one in hand, whose
    plugin process is not stopped under it (its pool stops when the worker exits)."""
    answers: list[tuple[int, Any]] = []
    running = threading.Thread(
        target=lambda: answers.append(
            gunicorn.request("POST", "/v1/analyze-execution", body("test-sleeps", {"seconds": 3}))
        )
    )
    running.start()
    wait_for(
        lambda: plugin_row("test-sleeps").state == PluginState.RUNNING,
        timeout=30,
        what="the plugin to run",
    )

    gunicorn.process.send_signal(signal.SIGTERM)
    running.join(timeout=30)

    [(status, result)] = answers
    assert (status, result["status"], result["result"]) == (200, "SUCCESS", {"slept": 3})
    assert gunicorn.process.wait(timeout=20) == 0


def test_a_hanging_plugin_holds_only_its_own_request(gunicorn: Server) -> None:
    answers: list[tuple[int, Any]] = []
    hanging = threading.Thread(
        target=lambda: answers.append(
            gunicorn.request("POST", "/v1/analyze-execution", body("test-sleeps-forever", {}))
        )
    )
    hanging.start()
    wait_for(
        lambda: plugin_row("test-sleeps-forever").state == PluginState.RUNNING,
        timeout=30,
        what="the hanging plugin to run",
    )

    status, plugins = gunicorn.request("GET", "/v1/plugins")
    assert status == 200
    assert hanging.is_alive(), "the list answered only after the hanging request"
    assert "test-sleeps-forever" in {plugin["name"] for plugin in plugins}

    hanging.join(timeout=30)
    [(status, error)] = answers
    assert (status, error["error"]["code"]) == (400, "PLUGIN_TIMEOUT")


def test_crashing_plugins_leave_the_web_worker_serving_and_nothing_behind_at_stop(
    gunicorn: Server,
) -> None:
    web_workers = gunicorn.web_workers()
    for plugin in ("test-exits-process", "test-segfaults", "test-raises-system-exit"):
        options, code, details = EXPECTED[plugin]
        status, error = gunicorn.request("POST", "/v1/analyze-execution", body(plugin, options))
        assert (status, error["error"]["code"], error["error"]["details"]) == (400, code, details)

    status, result = gunicorn.request("POST", "/v1/analyze-execution", body("image-metadata", {}))
    assert (status, result["status"]) == (200, "SUCCESS")
    # gunicorn's master took no exit status 3 for a boot error, and no web worker was replaced.
    assert gunicorn.process.poll() is None
    assert gunicorn.web_workers() == web_workers
    pool = psutil.Process(next(iter(web_workers))).children(recursive=True)
    assert len(pool) >= 2  # the plugin processes (and the forkserver), stopped with the server

    gunicorn.process.send_signal(signal.SIGTERM)
    assert gunicorn.process.wait(timeout=20) == 0
    _, alive = psutil.wait_procs(pool, timeout=10)
    assert alive == []
