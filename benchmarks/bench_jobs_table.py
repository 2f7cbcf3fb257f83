"""The jobs table at 1,000 and 100,000 rows: the API's job list and the admin's job lists.

    .venv/bin/python benchmarks/bench_jobs_table.py                          # fresh SQLite files
    .venv/bin/python benchmarks/bench_jobs_table.py \\
        --database-url postgres://postgres@127.0.0.1:5432/jobs_bench

Each table size has a database of its own (a SQLite file each; a PostgreSQL schema each,
``size_1000`` and so on, in the one database), filled once, so the requests at every size take
turns: each figure is a whole request through Django (test client, in this process: URL
routing, authentication, the queries, serialization or templates), the median of ``--runs``
rounds in which every figure is requested once at each size, after two warm-up rounds. The
target is that none takes more than 1.5x as long at the largest size as at the smallest; a
figure whose page shows fewer rows at the smallest size says so. The API's last page is the one
a client reaches by following ``next`` from the first: the script walks there (and checks that
the walk met every job of the list once), then times it. The table is filled with jobs spread
over 30 days, 5 plugins, 4 clients (the owner whose list is measured has a quarter of them) and
30% failures. The PostgreSQL database is created if missing and its schemas' jobs are deleted:
its name must contain 'bench'.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.async_throughput import create_postgres_database  # noqa: E402
from benchmarks.routing import alias_for, on_table  # noqa: E402

PLUGINS = ("image-metadata", "qr-code", "face-detection", "ocr", "bench-noop")
CLIENTS = 4
# So that at 1,000 jobs every filtered first page is full (the owner's failed jobs: about 75;
# the failed jobs of one plugin: about 60), and both sizes compare pages of the same length.
FAILED_SHARE = 0.3
TARGET_RATIO = 1.5
SPREAD = timedelta(days=30)
JOBS = "/v1/analyze-execution/jobs"
CHANGELIST, FAILED = "/admin/execution/job/", "/admin/execution/failedjob/"


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument(
        "--sizes", default="1000,100000", help="table sizes, comma-separated (default %(default)s)"
    )
    parser.add_argument("--runs", type=int, default=7, help="timed rounds (default %(default)s)")
    args = parser.parse_args()
    if args.database_url and "bench" not in urlsplit(args.database_url).path:
        parser.error("--database-url: the database's name must contain 'bench' (it is emptied)")
    args.sizes = [int(size) for size in args.sizes.split(",")]
    return args


@contextmanager
def bench_django(database_url: str | None, sizes: list[int]) -> Iterator[None]:
    """Django set up with a migrated database per table size (``benchmarks.routing``), the
    plugins synced in each (the admin's plugin filter lists the registry's names), their jobs
    deleted before and after."""
    scratch = Path(tempfile.mkdtemp(prefix="jobs-bench-"))
    database_url = database_url or f"sqlite:///{scratch / 'bench.sqlite3'}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BENCH_TABLE_SIZES": ",".join(str(size) for size in sizes),
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
            create_schemas(database_url, [alias_for(size) for size in sizes])
        for alias in ["default", *(alias_for(size) for size in sizes)]:
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput", "-v0", "--database", alias],
                cwd=REPO_ROOT,
                env=env,
                check=True,
            )
        os.environ.clear()
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import transaction

        from execution.models import Job

        for size in sizes:
            # The registry's sync is atomic on the default database; its queries go to this one.
            with on_table(size) as alias, transaction.atomic(using=alias):
                call_command("sync_plugins", verbosity=0)
                Job.objects.all().delete()
        yield
        for size in sizes:
            with on_table(size):
                Job.objects.all().delete()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def create_schemas(url: str, names: list[str]) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        for name in names:
            connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')


def fill(total: int, make_job: Callable[[Any], Any]) -> None:
    """Add jobs made by ``make_job(created_at)`` until the table holds ``total``, created over
    the last 30 days."""
    from django.db import connections
    from django.utils import timezone

    from execution.models import Job

    rng = random.Random(total)
    missing = total - Job.objects.count()
    now = timezone.now()
    created_at = Job._meta.get_field("created_at")
    # The table's history is written as it would have accumulated; auto_now_add would stamp
    # every row with this moment.
    created_at.auto_now_add = False  # type: ignore[attr-defined]
    try:
        for start in range(0, missing, 2000):
            Job.objects.bulk_create(
                make_job(now - rng.uniform(0, 1) * SPREAD)
                for _ in range(min(2000, missing - start))
            )
    finally:
        created_at.auto_now_add = True  # type: ignore[attr-defined]
    connection = connections[Job.objects.db]
    # The table as autovacuum keeps one that grew over 30 days: its statistics, and on PostgreSQL
    # its visibility map. A table just written has none, so its counts read the rows as well as
    # the index, and the figures move whenever autovacuum happens to reach it during the run.
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE execution_job"
        )


def interleaved_medians(
    requests: dict[str, dict[int, Callable[[], Any]]], runs: int
) -> dict[int, dict[str, float]]:
    """Each request once per round at each size, in the same order, after two warm-up rounds:
    drift of the machine (other work on its cores) spreads over all figures and sizes alike.
    Medians in ms, by size and name."""
    times: dict[tuple[int, str], list[float]] = {}
    for round_number in range(runs + 2):
        for name, by_size in requests.items():
            for size, request in by_size.items():
                with on_table(size):
                    started = time.perf_counter()
                    request()
                    taken = (time.perf_counter() - started) * 1000
                if round_number >= 2:
                    times.setdefault((size, name), []).append(taken)
    results: dict[int, dict[str, float]] = {}
    for (size, name), taken in times.items():
        results.setdefault(size, {})[name] = statistics.median(taken)
    return results


# Rows each page showed, by size and figure: a page with fewer rows costs less to render.
ROWS: dict[tuple[int, str], int] = {}


def getter(client: Any, url: str, *, size: int, name: str) -> Callable[[], Any]:
    def request() -> Any:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code}")
        if response["Content-Type"] == "application/json":
            ROWS[size, name] = len(response.json()["results"])
        else:
            ROWS[size, name] = response.content.count(b'class="action-checkbox"')
        return response

    return request


def admin_deepest_full_page(model: Any, queryset: Any) -> int:
    """The deepest page the admin's list links to that is full, by the admin's own paginator: a
    page's rows cost more to render than its OFFSET to find, so a short last page would hide
    the depth's cost."""
    from django.contrib import admin

    model_admin = admin.site._registry[model]
    paginator = model_admin.get_paginator(None, queryset, model_admin.list_per_page)
    return max(1, int(paginator.count) // model_admin.list_per_page)


def days_ago(days: int) -> str:
    from django.utils import timezone

    return urlencode({"created_at__gte": (timezone.now() - timedelta(days=days)).isoformat()})


def print_table(
    results: dict[int, dict[str, float]], header: str, extra: dict[str, str] | None = None
) -> None:
    sizes = list(results)
    small, large = sizes[0], sizes[-1]
    print(f"\n{header}")
    print(f"{'':<44}{small:>10,}{large:>10,}{'ratio':>8}")
    for name in results[small]:
        ratio = results[large][name] / results[small][name]
        verdict = "" if ratio <= TARGET_RATIO else f"  ABOVE {TARGET_RATIO}"
        rows = ROWS.get((small, name)), ROWS.get((large, name))
        shown = f"  rows {rows[0]} → {rows[1]}" if rows[0] != rows[1] else ""
        print(
            f"{name:<44}{results[small][name]:>10.1f}{results[large][name]:>10.1f}"
            f"{ratio:>8.2f}{(extra or {}).get(name, '')}{verdict}{shown}"
        )


# --- this benchmark's table and figures ------------------------------------------------------


def random_job(rng: random.Random, owners: list[Any]) -> Callable[[Any], Any]:
    from execution.models import Job, JobMode, JobStatus

    def make(created: Any) -> Job:
        failed = rng.random() < FAILED_SHARE
        return Job(
            id=uuid.uuid4(),
            plugin=rng.choice(PLUGINS),
            mode=rng.choice([JobMode.SYNC, JobMode.ASYNC]),
            status=JobStatus.FAILED if failed else JobStatus.SUCCESS,
            mime_type="image/png",
            image_size=rng.randint(1000, 10**6),
            image_sha256=secrets.token_hex(32),
            error_code=rng.choice(["PLUGIN_FAILED", "IMAGE_NOT_BASE64"]) if failed else "",
            execution_time_ms=rng.uniform(1, 500),
            created_by=rng.choice(owners),
            created_at=created,
            started_at=created,
            finished_at=created + timedelta(milliseconds=200),
        )

    return make


def walk_to_last_page(client: Any, user: Any, query: dict[str, str]) -> str:
    """Follow ``next`` from the first page to the last, as a client would; the walk must meet
    every job of the list exactly once."""
    from execution import selectors

    url, seen = f"{JOBS}?{urlencode(query)}", set()
    while True:
        body = client.get(url).json()
        seen.update(job["job_id"] for job in body["results"])
        if not body["next"]:
            break
        url = body["next"]
    expected = selectors.job_list(user=user, **query).count()
    if len(seen) != expected:
        raise SystemExit(f"{query}: the walk met {len(seen)} jobs of {expected}")
    return str(url)


def figures(size: int, staff: Any, owner: Any) -> dict[str, Callable[[], Any]]:
    """This size's requests, by figure name; call within ``on_table(size)``."""
    from django.test import Client

    from execution.models import FailedJob, Job, JobStatus
    from tests.helpers import client_for

    sample = Job.objects.filter(status=JobStatus.FAILED).order_by("created_at").first()
    assert sample is not None
    requests: dict[str, Callable[[], Any]] = {}
    for who, user in (("staff", staff), ("owner", owner)):
        client = client_for(user)
        for name, query in (
            ("all", {}),
            ("status=failed", {"status": "failed"}),
            ("plugin=qr-code", {"plugin": "QR-Code"}),
        ):
            for page, url in (
                ("first", f"{JOBS}?{urlencode(query)}"),
                ("last", walk_to_last_page(client, user, query)),
            ):
                figure = f"API {who} {name}, {page} page"
                requests[figure] = getter(client, url, size=size, name=figure)
    admin = Client()
    admin.force_login(staff)
    newest_first = Job.objects.order_by("-created_at")
    deepest = admin_deepest_full_page(Job, newest_first)
    deepest_failed = admin_deepest_full_page(
        FailedJob, newest_first.filter(status=JobStatus.FAILED)
    )
    for name, url in (
        ("admin jobs", CHANGELIST),
        ("admin jobs, deepest page", f"{CHANGELIST}?p={deepest}"),
        ("admin failed jobs", FAILED),
        ("admin failed jobs, deepest page", f"{FAILED}?p={deepest_failed}"),
        ("admin jobs, status filter", f"{CHANGELIST}?status__exact=FAILED"),
        ("admin jobs, plugin filter", f"{CHANGELIST}?plugin=qr-code"),
        ("admin jobs, mode filter", f"{CHANGELIST}?mode__exact=SYNC"),
        ("admin jobs, error-code filter", f"{CHANGELIST}?error_code=PLUGIN_FAILED"),
        ("admin jobs, last 7 days", f"{CHANGELIST}?{days_ago(7)}"),
        ("admin failed jobs, plugin filter", f"{FAILED}?plugin=qr-code"),
        ("admin search by digest", f"{CHANGELIST}?q={sample.image_sha256}"),
        ("admin search by id", f"{CHANGELIST}?q={sample.pk}"),
        ("admin failed, search by id", f"{FAILED}?q={sample.pk}"),
    ):
        requests[name] = getter(admin, url, size=size, name=name)
    return requests


def by_figure(
    per_size: dict[int, dict[str, Callable[[], Any]]],
) -> dict[str, dict[int, Callable[[], Any]]]:
    names = next(iter(per_size.values()))
    return {name: {size: per_size[size][name] for size in per_size} for name in names}


def main() -> None:
    args = parse_args(__doc__ or "")
    with bench_django(args.database_url, args.sizes):
        from django.contrib.auth import get_user_model
        from django.db import connection

        per_size = {}
        for size in args.sizes:
            with on_table(size):
                users = get_user_model().objects
                staff = users.filter(username="ops").first() or users.create_superuser("ops")
                owners = [
                    users.get_or_create(username=f"client-{number}")[0] for number in range(CLIENTS)
                ]
                fill(size, random_job(random.Random(13), owners))
                per_size[size] = figures(size, staff, owners[0])
        results = interleaved_medians(by_figure(per_size), args.runs)
        print_table(
            results,
            f"database: {connection.vendor}  median of {args.runs} rounds, ms per request",
        )


if __name__ == "__main__":
    main()
