"""/healthz and /readyz, with each part they check taken away for real.

In-process on the embedded set-up (SQLite, ORM broker, diskcache) with a real cluster; and on
the scaled set-up, a real gunicorn whose PostgreSQL and Redis go through TCP proxies the test
stops and black-holes (the machine's servers are never touched), with a real cluster beside it.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import Client

from execution_project.settings import embedded_cache
from tests.conftest import BUILTIN_PLUGINS
from tests.execution.cluster import QCluster, cluster_env, database_url, qcluster, wait_for
from tests.execution.web import gunicorn
from tests.tcp_proxy import TcpProxy

CHECKS = {"database", "cache", "broker", "cluster", "sweep"}
# Short, so the tests are quick; the bound checked is this plus django-health-check's 1 s.
CHECK_TIMEOUT = 1.0
# What the bound may be exceeded by on a loaded machine: scheduling, not waiting.
SLACK = 1.5


def failing(body: dict[str, Any]) -> set[str]:
    return {name for name, check in body["checks"].items() if not check["ok"]}


@pytest.fixture
def shared_cache(settings: Any, tmp_path: Path) -> Path:
    """The cache a cluster started with VAR_DIR=tmp_path/var writes its status to."""
    var_dir = tmp_path / "var"
    settings.CACHES = {"default": embedded_cache(var_dir)}
    settings.EXECUTION = {**settings.EXECUTION, "READINESS_CHECK_TIMEOUT_SECONDS": CHECK_TIMEOUT}
    return var_dir


def test_healthz_answers_without_touching_the_database(client: Client) -> None:
    # No django_db mark: pytest-django makes any database access here an error.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_the_probes_answer_other_methods_405_not_a_csrf_page(path: str) -> None:
    """A real server checks CSRF on every POST; these read-only endpoints answer 405 first."""
    response = Client(enforce_csrf_checks=True).post(path)

    assert response.status_code == 405


@pytest.mark.every_database
@pytest.mark.django_db(transaction=True)
def test_readyz_follows_the_cluster_and_the_sweep_schedule(
    client: Client, settings: Any, shared_cache: Path, media_root: Path
) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert set(body["checks"]) == CHECKS
    assert failing(body) == {"cluster", "sweep"}
    assert body["checks"]["sweep"]["error"] == (
        "Unavailable: the sweep is not scheduled: run manage.py ensure_schedules"
    )
    assert body["checks"]["cluster"]["error"].startswith("Unavailable: no worker cluster seen")

    call_command("ensure_schedules", verbosity=0)
    env = cluster_env(
        database_url=database_url(connection.settings_dict),
        media_root=media_root,
        var_dir=shared_cache,
        secret_key=settings.SECRET_KEY,
        plugins=BUILTIN_PLUGINS,
        workers=1,
        # Its status goes where this process reads it: Redis when configured, else the cache.
        redis_url=settings.Q_CLUSTER.get("redis", ""),
    )
    with qcluster(env=env, log_path=shared_cache / "qcluster.log"):
        response = wait_for(
            lambda: (r := client.get("/readyz")).status_code == 200 and r,
            timeout=15,
            what="/readyz to see the cluster",
        )
        assert response.json()["status"] == "ready"
        assert failing(response.json()) == set()

    # Its status expires 3 s after its last write.
    response = wait_for(
        lambda: (r := client.get("/readyz")).status_code == 503 and r,
        timeout=15,
        what="/readyz to miss the stopped cluster",
    )
    assert failing(response.json()) == {"cluster"}


def test_readyz_says_when_the_embedded_cache_stays_locked(
    client: Client, shared_cache: Path
) -> None:
    """A process frozen in the middle of a write to the embedded cache (here, another
    connection holding each shard's write lock): the cache check fails within its timeout and
    says why, rather than that the value it wrote went missing."""
    caches["default"].get("any")  # the shards' databases exist once the cache is opened
    holders = []
    try:
        for path in sorted((shared_cache / "cache").glob("*/cache.db")):
            holder = sqlite3.connect(path, isolation_level=None)
            holders.append(holder)
            holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    finally:
        for holder in holders:
            holder.close()

    assert len(holders) == 8
    assert response.status_code == 503
    assert "cache" in failing(response.json())
    assert response.json()["checks"]["cache"]["error"] == (
        "Unavailable: cache write not taken within its timeout: another process holds its lock"
    )
    assert elapsed < CHECK_TIMEOUT + 1 + SLACK
    assert client.get("/readyz").json()["checks"]["cache"]["ok"]


# --- The scaled set-up: a real gunicorn, its services behind proxies ------------------------


def _through(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


def _get(url: str, *, timeout: float = 30) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, json.loads(body), time.monotonic() - started


class Stack:
    """gunicorn (through the proxies) and a qcluster (direct), both on the test database."""

    def __init__(
        self, *, env: dict[str, str], tmp_path: Path, database: TcpProxy, redis: TcpProxy
    ) -> None:
        self.env, self.tmp_path = env, tmp_path
        self.database, self.redis = database, redis
        self.stack = ExitStack()
        self.cluster: QCluster | None = None
        self.url = ""

    def start_cluster(self) -> None:
        log = self.tmp_path / f"qcluster-{time.monotonic_ns()}.log"
        self.cluster = self.stack.enter_context(qcluster(env=self.env, log_path=log))

    def readyz(self) -> tuple[int, dict[str, Any], float]:
        return _get(f"{self.url}/readyz")


@pytest.fixture
def scaled_stack(
    transactional_db: None, settings: Any, tmp_path: Path, media_root: Path
) -> Iterator[Stack]:
    db_url = database_url(connection.settings_dict)
    redis_url = settings.Q_CLUSTER["redis"]
    db_target = urlsplit(db_url)
    redis_target = urlsplit(redis_url)
    database = TcpProxy((db_target.hostname or "127.0.0.1", db_target.port or 5432)).start()
    redis = TcpProxy((redis_target.hostname or "127.0.0.1", redis_target.port or 6379)).start()
    common = {
        "media_root": media_root,
        "var_dir": tmp_path / "var",
        "secret_key": settings.SECRET_KEY,
        "plugins": BUILTIN_PLUGINS,
        "workers": 1,
    }
    cluster = cluster_env(database_url=db_url, redis_url=redis_url, **common)
    web = cluster_env(
        database_url=_through(db_url, database),
        redis_url=_through(redis_url, redis),
        extra={
            "EXECUTION_READINESS_CHECK_TIMEOUT_SECONDS": str(CHECK_TIMEOUT),
            # Longer than the check's bound: only the bound can end a black-holed check in time.
            "DATABASE_CONNECT_TIMEOUT": "10",
        },
        **common,
    )
    call_command("ensure_schedules", verbosity=0)
    stack = Stack(env=cluster, tmp_path=tmp_path, database=database, redis=redis)
    try:
        with stack.stack:
            _, port = stack.stack.enter_context(gunicorn(web, tmp_path / "gunicorn.log"))
            stack.url = f"http://127.0.0.1:{port}"
            stack.start_cluster()
            yield stack
    finally:
        database.stop()
        redis.stop()


def _until_ready(stack: Stack) -> dict[str, Any]:
    return wait_for(
        lambda: (r := stack.readyz())[0] == 200 and r[1], timeout=20, what="/readyz to be 200"
    )


@pytest.mark.scaled
def test_readyz_fails_the_right_check_in_time_and_recovers(scaled_stack: Stack) -> None:
    stack = scaled_stack
    bound = CHECK_TIMEOUT + 1 + SLACK
    assert failing(_until_ready(stack)) == set()

    # PostgreSQL gone: refused at once.
    stack.database.stop()
    status, body, seconds = stack.readyz()
    assert (status, failing(body)) == (503, {"database", "sweep"})
    assert seconds < bound
    # PostgreSQL hanging: only the check's timeout ends it.
    stack.database.start()
    stack.database.black_hole()
    status, body, seconds = stack.readyz()
    assert status == 503
    assert "database" in failing(body)
    assert body["checks"]["database"]["error"] == (
        f"Unavailable: Timed out after {CHECK_TIMEOUT:g} seconds"
    )
    assert seconds < bound
    stack.database.stop()
    stack.database.start()
    assert failing(_until_ready(stack)) == set()

    # Redis gone: the cache, the broker and the clusters' status all live there.
    stack.redis.stop()
    status, body, seconds = stack.readyz()
    assert (status, failing(body)) == (503, {"cache", "broker", "cluster"})
    assert seconds < bound
    stack.redis.start()
    assert failing(_until_ready(stack)) == set()

    # No cluster.
    assert stack.cluster is not None
    stack.cluster.stop()
    status, body = wait_for(
        lambda: (r := stack.readyz())[0] == 503 and r[:2], timeout=15, what="/readyz 503"
    )
    assert failing(body) == {"cluster"}
    stack.start_cluster()
    assert failing(_until_ready(stack)) == set()

    # /healthz never looked at any of it.
    stack.database.stop()
    stack.redis.stop()
    assert _get(f"{stack.url}/healthz")[:2] == (200, {"status": "alive"})
