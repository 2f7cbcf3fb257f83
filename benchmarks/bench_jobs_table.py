"""The jobs table at 1,000 and 100,000 rows: the API's job list and the admin's job lists.

    .venv/bin/python benchmarks/bench_jobs_table.py                          # fresh SQLite file
    .venv/bin/python benchmarks/bench_jobs_table.py \\
        --database-url postgres://postgres@127.0.0.1:5432/jobs_bench

Each figure is a whole request through Django (test client, in this process: URL routing,
authentication, the queries, serialization or templates), the median of ``--runs`` after two
warm-ups, at each table size; the target is that none takes more than 1.5x as long at the larger
size. The table is filled with jobs spread over 30 days, 5 plugins, 4 clients (the owner whose
list is measured has a quarter of them) and 10% failures. A PostgreSQL database is created if
missing and its jobs are deleted: its name must contain 'bench'.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.async_throughput import create_postgres_database  # noqa: E402

PLUGINS = ("image-metadata", "qr-code", "face-detection", "ocr", "bench-noop")
CLIENTS = 4
FAILED_SHARE = 0.1
TARGET_RATIO = 1.5
JOBS = "/v1/analyze-execution/jobs"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument(
        "--sizes", default="1000,100000", help="table sizes, comma-separated (default %(default)s)"
    )
    parser.add_argument("--runs", type=int, default=7, help="timed runs per figure (default 7)")
    args = parser.parse_args()
    if args.database_url and "bench" not in urlsplit(args.database_url).path:
        parser.error("--database-url: the database's name must contain 'bench' (it is emptied)")
    return args


def fill(total: int, owners: list[Any], rng: random.Random) -> None:
    """Add jobs until the table holds ``total``, spread over the last 30 days."""
    from django.db import connection
    from django.utils import timezone

    from execution.models import Job, JobMode, JobStatus

    missing = total - Job.objects.count()
    now = timezone.now()
    created_at = Job._meta.get_field("created_at")
    # The table's history is written as it would have accumulated; auto_now_add would stamp
    # every row with this moment.
    created_at.auto_now_add = False  # type: ignore[attr-defined]
    try:
        for start in range(0, missing, 2000):
            batch = []
            for _ in range(min(2000, missing - start)):
                created = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
                failed = rng.random() < FAILED_SHARE
                batch.append(
                    Job(
                        id=uuid.uuid4(),
                        plugin=rng.choice(PLUGINS),
                        mode=rng.choice([JobMode.SYNC, JobMode.ASYNC]),
                        status=JobStatus.FAILED if failed else JobStatus.SUCCESS,
                        mime_type="image/png",
                        image_size=rng.randint(1000, 10**6),
                        image_sha256=secrets.token_hex(32),
                        error_code=rng.choice(["PLUGIN_FAILED", "IMAGE_NOT_BASE64"])
                        if failed
                        else "",
                        execution_time_ms=rng.uniform(1, 500),
                        created_by=rng.choice(owners),
                        created_at=created,
                        started_at=created,
                        finished_at=created + timedelta(milliseconds=200),
                    )
                )
            Job.objects.bulk_create(batch)
    finally:
        created_at.auto_now_add = True  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "ANALYZE execution_job")


def timed(get: Callable[[], Any], runs: int) -> float:
    for _ in range(2):
        get()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        get()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def figures(runs: int, staff: Any, owner: Any) -> dict[str, float]:
    from django.test import Client

    from execution.models import Job, JobStatus
    from tests.helpers import client_for

    api = {"staff": client_for(staff), "owner": client_for(owner)}
    admin = Client()
    admin.force_login(staff)
    sample = Job.objects.filter(status=JobStatus.FAILED).order_by("created_at").first()
    assert sample is not None

    def get(client: Any, url: str) -> Callable[[], Any]:
        def request() -> Any:
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code}")
            return response

        return request

    def last_page(client: Any, query: str) -> str:
        body = client.get(f"{JOBS}?{query}").json()
        pages = max(1, -(-body["count"] // max(1, len(body["results"]))))
        return f"{JOBS}?{query}&page={pages}"

    found: dict[str, float] = {}
    for who, client in api.items():
        for name, query in (
            ("all", "x=1"),
            ("status=failed", "status=failed"),
            ("plugin=qr-code", "plugin=QR-Code"),
        ):
            found[f"API {who} {name}, first page"] = timed(get(client, f"{JOBS}?{query}"), runs)
            found[f"API {who} {name}, last page"] = timed(
                get(client, last_page(client, query)), runs
            )
    changelist, failed = "/admin/execution/job/", "/admin/execution/failedjob/"
    for name, url in (
        ("admin jobs", changelist),
        ("admin failed jobs", failed),
        ("admin jobs, status filter", f"{changelist}?status__exact=FAILED"),
        ("admin jobs, plugin filter", f"{changelist}?plugin=qr-code"),
        ("admin jobs, error-code filter", f"{changelist}?error_code=PLUGIN_FAILED"),
        ("admin jobs, last 7 days", f"{changelist}?created_at__gte={_days_ago(7)}"),
        ("admin search by digest", f"{changelist}?q={sample.image_sha256}"),
        ("admin search by id", f"{changelist}?q={sample.pk}"),
        ("admin failed, search by id", f"{failed}?q={sample.pk}"),
    ):
        found[name] = timed(get(admin, url), runs)
    return found


def _days_ago(days: int) -> str:
    from django.utils import timezone

    return (timezone.now() - timedelta(days=days)).date().isoformat()


def main() -> None:
    args = parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="jobs-bench-"))
    database_url = args.database_url or f"sqlite:///{scratch / 'bench.sqlite3'}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "VAR_DIR": str(scratch / "var"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "THROTTLE_USER_RATE": "100000000/hour",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
    }
    env.pop("REDIS_URL", None)
    try:
        if database_url.startswith(("postgres://", "postgresql://")):
            create_postgres_database(database_url)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=REPO_ROOT,
            env=env,
            check=True,
        )
        os.environ.clear()
        os.environ.update(env)
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.db import connection

        from execution.models import Job

        Job.objects.all().delete()
        users = get_user_model().objects
        staff = users.filter(username="ops").first() or users.create_superuser("ops")
        owners = [users.get_or_create(username=f"client-{number}")[0] for number in range(CLIENTS)]
        rng = random.Random(13)
        results: dict[int, dict[str, float]] = {}
        for size in sizes:
            fill(size, owners, rng)
            results[size] = figures(args.runs, staff, owners[0])
        Job.objects.all().delete()

        small, large = sizes[0], sizes[-1]
        print(f"\ndatabase: {connection.vendor}  median of {args.runs} runs, ms per request")
        print(f"{'':<40}{small:>10,}{large:>10,}{'ratio':>8}")
        for name in results[small]:
            ratio = results[large][name] / results[small][name]
            verdict = "" if ratio <= TARGET_RATIO else f"  ABOVE {TARGET_RATIO}"
            print(
                f"{name:<40}{results[small][name]:>10.1f}{results[large][name]:>10.1f}"
                f"{ratio:>8.2f}{verdict}"
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
