"""Fixtures shared by the tests that start real servers on the test database."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.conftest import BUILTIN_PLUGINS, MISBEHAVING_PLUGINS
from tests.execution.cluster import QCluster, cluster_env, database_url, qcluster

# Small, so a lost task is offered again within the test; retry > timeout, as in production.
Q_TIMEOUT = 5
Q_RETRY = 8


@pytest.fixture
def start_cluster(
    transactional_db: None, settings: Any, media_root: Path, tmp_path: Path
) -> Iterator[Callable[..., QCluster]]:
    """Starts clusters on the test database and broker. It depends on the database fixture, so
    every cluster is stopped before the database is flushed."""
    with ExitStack() as running:
        log_paths: list[Path] = []

        def start(*, workers: int, env: Mapping[str, str] | None = None) -> QCluster:
            log_paths.append(tmp_path / f"qcluster-{len(log_paths)}.log")
            print(f"qcluster log: {log_paths[-1]}")  # shown when the test fails
            return running.enter_context(
                qcluster(
                    env=cluster_env(
                        database_url=database_url(connection.settings_dict),
                        media_root=media_root,
                        var_dir=tmp_path / "var",
                        secret_key=settings.SECRET_KEY,
                        plugins=BUILTIN_PLUGINS + MISBEHAVING_PLUGINS,
                        workers=workers,
                        timeout=Q_TIMEOUT,
                        retry=Q_RETRY,
                        # The broker this process enqueues into: Redis when configured, else ORM.
                        redis_url=settings.Q_CLUSTER.get("redis", ""),
                        extra=env,
                    ),
                    log_path=log_paths[-1],
                )
            )

        yield start
