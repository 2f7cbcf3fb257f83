"""Real django-q2 worker clusters for tests (and the benchmarks): `manage.py qcluster` subprocesses
against the database the caller uses, with helpers to find, kill and wait for their workers.

A cluster is ``manage.py qcluster`` (the main process) → sentinel → workers, monitor and pusher.
It runs in its own session, so stopping it can never touch anything else, and whatever survives
a graceful stop is killed with its process group. The web servers of tests/execution/web.py are
started and stopped the same way, by ``start_in_own_session`` and ``stop_process_group``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import psutil

REPO_ROOT = Path(__file__).resolve().parents[2]

# django-q2's own log lines (INFO, through the root handler to the subprocess's stderr).
WORKER_READY = re.compile(r"ready for work at (\d+)")
CLUSTER_RUNNING = re.compile(r"Q Cluster \S+ \[[^\]]*\] running\.")

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T], *, timeout: float, interval: float = 0.05, what: str = ""
) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that; fail on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


def start_in_own_session(
    command: list[str], *, env: Mapping[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """``command`` run from the repository in a session of its own, so that killing its process
    group (``stop_process_group``) can never touch anything else; its output appended to
    ``log_path``. The caller stops it, in a ``finally``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # Append mode: the processes it starts share the file and each line lands whole.
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_process_group(process: subprocess.Popen[bytes], *, grace: float) -> None:
    """SIGTERM, then (once it has exited, or after ``grace`` seconds) SIGKILL for its whole
    process group, which is its own (``start_in_own_session``); it is reaped before returning."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=grace)


def database_url(settings_dict: Mapping[str, Any]) -> str:
    """A DATABASE_URL for the database of a Django connection (in tests: the test database)."""
    engine = settings_dict["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(settings_dict['NAME']).resolve()}"
    if engine == "django.db.backends.postgresql":
        user = quote(settings_dict.get("USER") or "", safe="")
        password = settings_dict.get("PASSWORD") or ""
        auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
        host = settings_dict.get("HOST") or "localhost"
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{quote(settings_dict['NAME'], safe='')}"
    raise ValueError(f"No DATABASE_URL for the {engine} engine")


def _live_children(process: psutil.Process) -> list[psutil.Process]:
    # A zombie is dead already; it only waits for its parent to reap it.
    children = []
    for child in process.children():
        with suppress(psutil.NoSuchProcess):
            if child.status() != psutil.STATUS_ZOMBIE:
                children.append(child)
    return children


@dataclass
class QCluster:
    process: subprocess.Popen[bytes]
    log_path: Path
    workers: int

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def announced_worker_pids(self) -> set[int]:
        """Every worker the cluster ever started, respawned ones included, dead or alive."""
        return {int(pid) for pid in WORKER_READY.findall(self.log())}

    def worker_pids(self) -> set[int]:
        """The workers alive now: children of the sentinel that announced themselves as workers
        (the sentinel's other children are the monitor and the pusher)."""
        try:
            sentinels = _live_children(psutil.Process(self.pid))
        except psutil.NoSuchProcess:
            return set()
        live = {worker.pid for sentinel in sentinels for worker in _live_children(sentinel)}
        return live & self.announced_worker_pids()

    def is_ready(self) -> bool:
        return bool(CLUSTER_RUNNING.search(self.log())) and len(self.worker_pids()) == self.workers

    def stop(self, *, grace: float = 10.0) -> None:
        """SIGTERM (django-q2 finishes the tasks in hand), then SIGKILL for the whole group: a
        worker stuck in a long task, or any process the graceful stop left behind."""
        stop_process_group(self.process, grace=grace)


def cluster_env(
    *,
    database_url: str,
    media_root: Path,
    var_dir: Path,
    secret_key: str,
    plugins: list[str] | None = None,
    workers: int = 2,
    timeout: int = 10,
    retry: int = 15,
    redis_url: str = "",
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a cluster sharing the caller's database, broker, images and key (the
    broker's payloads are signed with SECRET_KEY, so a cluster with another key rejects them)."""
    if retry <= timeout:
        raise ValueError("Q_RETRY must exceed Q_TIMEOUT, or a slow task is delivered twice")
    # The caller's broker and EXECUTION_* settings stay out: the cluster gets what it is given.
    env = {
        key: value
        for key, value in os.environ.items()
        if key != "REDIS_URL" and not key.startswith("EXECUTION_")
    }
    env.update(
        # A plugin's own timeout must sit below the worker's (manage.py check refuses otherwise).
        EXECUTION_PLUGIN_TIMEOUT_SECONDS=str(max(1, timeout - 1)),
        DJANGO_SETTINGS_MODULE="execution_project.settings",
        DATABASE_URL=database_url,
        MEDIA_ROOT=str(media_root),
        VAR_DIR=str(var_dir),
        SECRET_KEY=secret_key,
        Q_WORKERS=str(workers),
        Q_TIMEOUT=str(timeout),
        Q_RETRY=str(retry),
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    if plugins is not None:
        env["EXECUTION_PLUGINS"] = ",".join(plugins)
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra or {})
    return env


@contextmanager
def qcluster(
    *, env: Mapping[str, str], log_path: Path, ready_timeout: float = 30.0
) -> Iterator[QCluster]:
    """A running cluster (all its workers up) for the length of the block; stopped after it."""
    process = start_in_own_session(
        [sys.executable, "manage.py", "qcluster"], env=env, log_path=log_path
    )
    cluster = QCluster(process=process, log_path=log_path, workers=int(env["Q_WORKERS"]))
    try:
        wait_for(
            lambda: cluster.is_ready() or process.poll() is not None,
            timeout=ready_timeout,
            what=f"the cluster to start (log: {log_path})",
        )
        if process.poll() is not None:
            raise RuntimeError(f"qcluster exited with {process.returncode}:\n{cluster.log()}")
        yield cluster
    finally:
        cluster.stop()
