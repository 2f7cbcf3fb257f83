"""The embedded set-up's cache, as the settings configure it (diskcache in VAR_DIR/cache), under
what Django's file cache got wrong: counts from concurrent processes, and more keys than its 300.

Each test has a VAR_DIR of its own; the counting processes are real server processes' settings
(``python -m tests.api.count_failures``), stopped by pid however the test ends.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.signals import request_finished
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from execution.api.throttling import FailedAuthenticationThrottle
from execution_project.settings import embedded_cache
from tests.api.count_failures import WINDOW_MOMENT
from tests.execution.cluster import start_in_own_session, stop_process_group, wait_for

PROCESSES = 4
COUNTS_EACH = 50


@pytest.fixture
def var_dir(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process counts on the embedded cache a server in ``var_dir`` would use, in the same
    window as ``tests.api.count_failures``."""
    var_dir = tmp_path / "var"
    settings.CACHES = {"default": embedded_cache(var_dir)}
    monkeypatch.setattr(FailedAuthenticationThrottle, "timer", lambda self: WINDOW_MOMENT)
    return var_dir


def count_failure(address: str = "127.0.0.1") -> int | None:
    request = APIRequestFactory().get("/v1/plugins", REMOTE_ADDR=address)
    return FailedAuthenticationThrottle().count(Request(request), None)


def rows_in(cache_dir: Path) -> int:
    """The entries stored on disk, expired or not, in every shard's SQLite database."""
    total = 0
    for path in cache_dir.glob("*/cache.db"):
        with sqlite3.connect(path) as db:
            total += db.execute("SELECT COUNT(*) FROM Cache").fetchone()[0]
    return total


def test_concurrent_processes_count_every_failure(
    var_dir: Path, settings: Any, tmp_path: Path
) -> None:
    """4 processes counting one address's failures at once: each count is seen exactly once,
    none lost (the file cache's incr was a read and a write)."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="execution_project.settings",
        VAR_DIR=str(var_dir),
        SECRET_KEY=settings.SECRET_KEY,
    )
    go = tmp_path / "go"
    outs = [tmp_path / f"counts-{number}.json" for number in range(PROCESSES)]
    counter = [sys.executable, "-m", "tests.api.count_failures"]
    with ExitStack() as running:
        for number, out in enumerate(outs):
            process = start_in_own_session(
                [*counter, str(out), str(go), str(COUNTS_EACH)],
                env=env,
                log_path=tmp_path / f"counter-{number}.log",
            )
            running.callback(stop_process_group, process, grace=5)
        time.sleep(0.5)  # most of them set up and waiting: they start counting together
        go.touch()
        wait_for(lambda: all(out.exists() for out in outs), timeout=60, what="the counts")

    counts = sorted(count for out in outs for count in json.loads(out.read_text()))
    assert counts == list(range(1, PROCESSES * COUNTS_EACH + 1))
    # This process reads the same counter through the same settings.
    assert count_failure() == PROCESSES * COUNTS_EACH + 1


def test_a_live_counter_survives_more_keys_than_the_file_cache_kept(var_dir: Path) -> None:
    """Django's file cache deleted a random third of its files past 300, live counters
    included; here a counter lives until its window ends, whatever else is stored."""
    for _ in range(5):
        count_failure()
    for number in range(1000):
        cache.set(f"other-{number}", number, timeout=300)
    for number in range(400):
        count_failure(f"10.0.{number // 256}.{number % 256}")

    assert count_failure() == 6
    assert rows_in(var_dir / "cache") == 1 + 1000 + 400


def test_expired_entries_are_deleted_by_later_writes(var_dir: Path) -> None:
    for number in range(200):
        cache.set(f"short-{number}", number, timeout=1)
    time.sleep(1.2)

    for number in range(200):
        cache.set(f"long-{number}", number, timeout=300)

    assert rows_in(var_dir / "cache") == 200


def test_a_finished_request_leaves_the_shards_open(var_dir: Path) -> None:
    """Django closes every cache when a request ends. The shards stay open, as the database's
    connections do: closing the last connection to a shard checkpointed and deleted its WAL,
    and the next request connected again, on every request."""
    count_failure()
    wal_files = list((var_dir / "cache").glob("*/cache.db-wal"))
    assert wal_files, "the counter's shard is open, in WAL mode"

    request_finished.send(sender=None)

    assert all(path.exists() for path in wal_files)
    assert count_failure() == 2
