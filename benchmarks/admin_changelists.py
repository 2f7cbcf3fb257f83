"""The dashboard's pages with many jobs: how long each takes and how many queries it makes.

    .venv/bin/python benchmarks/admin_changelists.py [--jobs 100000]
    .venv/bin/python benchmarks/admin_changelists.py \\
        --database-url postgres://postgres@127.0.0.1:5432/admin_bench

It migrates its own database (by default a fresh SQLite file in a temporary directory; a
PostgreSQL database must have "bench" in its name, and its jobs are deleted first), writes N
finished jobs over 30 days and 11 plugins, then opens each page five times as a superuser and
prints the median time and the number of queries. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

PAGES = (
    ("index", "/admin/"),
    ("plugins", "/admin/registry/pluginregistry/"),
    ("jobs", "/admin/execution/job/"),
    ("jobs, status + plugin", "/admin/execution/job/?status__exact=FAILED&plugin=ocr"),
    ("jobs, error code", "/admin/execution/job/?error_code=PLUGIN_FAILED"),
    ("jobs, past 7 days", "/admin/execution/job/?created_at__gte={week_ago}"),
    ("jobs, search sha256", "/admin/execution/job/?q={sha}"),
    ("failed jobs", "/admin/execution/failedjob/"),
    ("failed jobs, page 100", "/admin/execution/failedjob/?p=100"),
)
RUNS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    if args.database_url and "bench" not in args.database_url.rsplit("/", 1)[-1]:
        parser.error("the PostgreSQL database's name must contain 'bench': its jobs are deleted")
    workdir = Path(tempfile.mkdtemp(prefix="admin-bench-"))
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir / 'db.sqlite3'}"
    os.environ.setdefault("VAR_DIR", str(workdir))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "execution_project.settings")

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from execution.models import Job

    settings.ALLOWED_HOSTS = ["testserver"]
    if args.database_url:
        # The server's database, not a test copy: make it if it is missing.
        from django.db.utils import OperationalError

        try:
            connection.ensure_connection()
        except OperationalError:
            import psycopg

            base, name = args.database_url.rsplit("/", 1)
            with psycopg.connect(f"{base}/postgres", autocommit=True) as admin_connection:
                admin_connection.execute(f'CREATE DATABASE "{name}"')
            connections.close_all()
    call_command("migrate", verbosity=0)
    call_command("sync_plugins", verbosity=0)
    Job.objects.all().delete()
    plugins = ["image-metadata", "qr-code", "face-detection", "ocr"] + [
        f"plugin-{n}" for n in range(7)
    ]
    started = time.perf_counter()
    Job.objects.bulk_create(_jobs(plugins, args.jobs), batch_size=5000)
    print(
        f"{args.jobs} jobs written in {time.perf_counter() - started:.1f} s ({connection.vendor})"
    )

    user = get_user_model().objects.filter(username="bench").first()
    user = user or get_user_model().objects.create_superuser("bench", password="bench-password")
    client = Client()
    client.force_login(user)
    week_ago = (timezone.now() - timedelta(days=7)).strftime("%Y-%m-%d+%H:%M:%S%%2B00:00")
    print(f"{'page':<24} {'median ms':>10} {'queries':>8}")
    for name, template in PAGES:
        url = template.format(week_ago=week_ago, sha=f"{args.jobs // 2:064x}")
        timings = []
        for _ in range(RUNS):
            with CaptureQueriesContext(connection) as queries:
                begun = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - begun) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        print(f"{name:<24} {statistics.median(timings):>10.1f} {len(queries):>8}")


def _jobs(plugins: list[str], count: int) -> Iterator[Any]:
    """Finished jobs, one in five FAILED, spread over the plugins and the last 30 days."""
    from django.utils import timezone

    from execution.models import Job, JobMode, JobStatus

    now = timezone.now()
    for n in range(count):
        failed = n % 5 == 4
        yield Job(
            plugin=plugins[n % len(plugins)],
            mode=(JobMode.SYNC, JobMode.ASYNC)[n % 2],
            status=JobStatus.FAILED if failed else JobStatus.SUCCESS,
            error_code="PLUGIN_FAILED" if failed else "",
            image_sha256=f"{n:064x}",
            execution_time_ms=(n % 997) / 3,
            finished_at=now - timedelta(seconds=n * 30 * 86400 // count),
        )


if __name__ == "__main__":
    main()
