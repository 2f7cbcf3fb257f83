"""Redis away and back, on the real server and a real cluster (the scaled set-up's Redis, taken
away through a proxy in this process: the machine's Redis itself is never touched)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from execution.models import Job, JobStatus
from tests import images
from tests.conftest import BUILTIN_PLUGINS, b64
from tests.execution.cluster import (
    CLUSTER_RUNNING,
    REPO_ROOT,
    QCluster,
    cluster_env,
    database_url,
    qcluster,
    wait_for,
)
from tests.execution.web import api_request, gunicorn
from tests.tcp_proxy import TcpProxy

pytestmark = [
    pytest.mark.scaled,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("synced_registry"),
]

ANALYZE = "/v1/analyze-execution"


def redis_through(settings: Any) -> tuple[tuple[str, int], str]:
    """The test's Redis (host, port), and the path part (its db number) of its URL."""
    parts = urlsplit(settings.Q_CLUSTER["redis"])
    return (parts.hostname or "127.0.0.1", parts.port or 6379), parts.path or "/0"


def env_for(settings: Any, tmp_path: Path, media_root: Path, redis_url: str) -> dict[str, str]:
    return cluster_env(
        database_url=database_url(connection.settings_dict),
        media_root=media_root,
        var_dir=tmp_path / "var",
        secret_key=settings.SECRET_KEY,
        plugins=BUILTIN_PLUGINS,
        workers=1,
        redis_url=redis_url,
        # The sweep's schedule is not what this is about; no throttle in the way either.
        extra={"THROTTLE_USER_RATE": "100000/minute"},
    )


def post(port: int, token: str, path: str) -> tuple[int, dict[str, Any]]:
    body = {"plugin": "image-metadata", "mime_type": "image/png", "image": b64(images.small_png())}
    return api_request(f"http://127.0.0.1:{port}{path}", token, body, timeout=20)


@contextlib.contextmanager
def tcp_proxy(target: tuple[str, int]) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def finished(job_id: str) -> str | None:
    status = Job.objects.values_list("status", flat=True).get(pk=job_id)
    return status if status in (JobStatus.SUCCESS, JobStatus.FAILED) else None


def test_redis_away_sync_runs_go_on_async_answers_503_and_both_come_back(
    settings: Any, tmp_path: Path, media_root: Path, user: Any
) -> None:
    upstream, db = redis_through(settings)
    token = Token.objects.create(user=user).key
    with tcp_proxy(upstream) as proxy:
        env = env_for(settings, tmp_path, media_root, f"redis://127.0.0.1:{proxy.port}{db}")
        with (
            qcluster(env=env, log_path=tmp_path / "qcluster.log") as cluster,
            gunicorn(env, tmp_path / "gunicorn.log") as (_, port),
        ):
            assert post(port, token, ANALYZE)[0] == 200
            status, accepted = post(port, token, f"{ANALYZE}/async")
            assert status == 202
            assert wait_for(lambda: finished(accepted["job_id"]), timeout=30) == "SUCCESS"

            proxy.stop()  # Redis is away: the broker and the throttles' cache with it

            for _ in range(3):
                status, body = post(port, token, ANALYZE)
                assert (status, body["status"]) == (200, "SUCCESS")
            status, body = post(port, token, f"{ANALYZE}/async")
            assert status == 503
            assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
            assert Job.objects.get(pk=body["error"]["job_id"]).status == JobStatus.FAILED

            proxy.start()  # back, on the same port

            status, accepted = wait_for(
                lambda: (answer := post(port, token, f"{ANALYZE}/async"))[0] == 202 and answer,
                timeout=30,
                interval=0.5,
                what="the async endpoint to accept again",
            )
            # The cluster never stopped: its pusher reconnects, the job runs.
            assert wait_for(lambda: finished(accepted["job_id"]), timeout=60) == "SUCCESS"
            assert cluster.process.poll() is None
    assert "Throttle cache unreachable" in (tmp_path / "gunicorn.log").read_text()


def test_qcluster_waits_for_an_unreachable_broker_instead_of_exiting(
    settings: Any, tmp_path: Path, media_root: Path
) -> None:
    upstream, db = redis_through(settings)
    with tcp_proxy(upstream) as proxy:
        proxy.stop()
        env = env_for(settings, tmp_path, media_root, f"redis://127.0.0.1:{proxy.port}{db}")
        log_path = tmp_path / "qcluster.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        cluster = QCluster(process=process, log_path=log_path, workers=1)
        try:
            wait_for(
                lambda: cluster.log().count("The task broker is unreachable") >= 2,
                timeout=20,
                what="two retries",
            )
            assert process.poll() is None
            assert "retrying in 1 s" in cluster.log()
            assert "retrying in 2 s" in cluster.log()

            proxy.start()

            wait_for(cluster.is_ready, timeout=30, what="the cluster to start")
            assert CLUSTER_RUNNING.search(cluster.log())
        finally:
            cluster.stop()
