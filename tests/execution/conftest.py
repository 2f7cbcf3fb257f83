"""Fixtures shared by the tests that start real servers on the test database."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.execution.cluster import QCluster, qcluster

# Small, so a lost task is offered again within the test; retry > timeout, as in production.
Q_TIMEOUT = 5
Q_RETRY = 8


@pytest.fixture
def start_cluster(
    server_env: Callable[..., dict[str, str]], tmp_path: Path
) -> Iterator[Callable[..., QCluster]]:
    """Starts clusters on the test database and broker (``server_env``, so every cluster is
    stopped before the database is flushed)."""
    with ExitStack() as running:
        log_paths: list[Path] = []

        def start(*, workers: int, env: Mapping[str, str] | None = None) -> QCluster:
            log_paths.append(tmp_path / f"qcluster-{len(log_paths)}.log")
            print(f"qcluster log: {log_paths[-1]}")  # shown when the test fails
            return running.enter_context(
                qcluster(
                    env=server_env(workers=workers, timeout=Q_TIMEOUT, retry=Q_RETRY, extra=env),
                    log_path=log_paths[-1],
                )
            )

        yield start
