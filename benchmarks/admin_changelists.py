"""The dashboard's pages at 1,000 and 100,000 jobs: how long each takes, how many queries it makes.

    .venv/bin/python benchmarks/admin_changelists.py [--sizes 1000,100000] [--runs 7]
    .venv/bin/python benchmarks/admin_changelists.py \\
        --database-url postgres://postgres@127.0.0.1:5432/admin_bench

It migrates a database per size as bench_jobs_table.py does (SQLite files in a temporary
directory, or a schema each in a PostgreSQL database whose name has "bench" in it; their jobs
are deleted first), syncs the plugins, and fills each with finished jobs created over 30 days,
11 plugins (the registry's four and seven others), one in three FAILED (of the registry's
four); then it opens each page as a superuser in rounds that take turns between the sizes, and
prints the median time at each size, the ratio, and the number of queries. See
benchmarks/README.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.bench_jobs_table import (  # noqa: E402
    CHANGELIST,
    FAILED,
    admin_deepest_full_page,
    bench_django,
    days_ago,
    fill,
    getter,
    interleaved_medians,
    parse_args,
    print_table,
)
from benchmarks.routing import on_table  # noqa: E402

PLUGINS = ["image-metadata", "qr-code", "face-detection", "ocr"] + [f"plugin-{n}" for n in range(7)]


def numbered_job() -> Callable[[Any], Any]:
    """Jobs by their number: every third FAILED, plugins in turn, the number as the digest.
    Failures are of the registry's four plugins only, so that at 1,000 jobs a plugin's failed
    jobs (about 83) fill a page, and both sizes compare pages of the same length."""
    from execution.models import Job, JobMode, JobStatus

    counter = iter(range(10**9))

    def make(created: Any) -> Job:
        n = next(counter)
        failed = n % 3 == 2
        return Job(
            plugin=PLUGINS[n % 4] if failed else PLUGINS[n % len(PLUGINS)],
            mode=(JobMode.SYNC, JobMode.ASYNC)[n % 2],
            status=JobStatus.FAILED if failed else JobStatus.SUCCESS,
            error_code="PLUGIN_FAILED" if failed else "",
            image_sha256=f"{n:064x}",
            execution_time_ms=(n % 997) / 3,
            created_at=created,
            finished_at=created + timedelta(milliseconds=200),
        )

    return make


def pages() -> dict[str, str]:
    from execution.models import FailedJob, Job, JobStatus

    failed = Job.objects.filter(status=JobStatus.FAILED).order_by("-created_at")
    return {
        "index": "/admin/",
        "plugins": "/admin/registry/pluginregistry/",
        "jobs": CHANGELIST,
        "jobs, status + plugin": f"{CHANGELIST}?status__exact=FAILED&plugin=ocr",
        "jobs, error code": f"{CHANGELIST}?error_code=PLUGIN_FAILED",
        "jobs, past 7 days": f"{CHANGELIST}?{days_ago(7)}",
        "jobs, search sha256": f"{CHANGELIST}?q={500:064x}",
        "failed jobs": FAILED,
        "failed jobs, plugin": f"{FAILED}?plugin=ocr",
        "failed jobs, deepest page": f"{FAILED}?p={admin_deepest_full_page(FailedJob, failed)}",
    }


def main() -> None:
    args = parse_args(__doc__ or "")
    with bench_django(args.database_url, args.sizes):
        from django.contrib.auth import get_user_model
        from django.db import connection, connections
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        requests: dict[str, dict[int, Callable[[], Any]]] = {}
        queries: dict[str, list[int]] = {}
        for size in args.sizes:
            with on_table(size) as alias:
                users = get_user_model().objects
                user = users.filter(username="bench").first() or users.create_superuser("bench")
                client = Client()
                client.force_login(user)
                fill(size, numbered_job())
                for name, url in pages().items():
                    requests.setdefault(name, {})[size] = getter(client, url, size=size, name=name)
                    with CaptureQueriesContext(connections[alias]) as made:
                        client.get(url)
                    queries.setdefault(name, []).append(len(made))
        print_table(
            interleaved_medians(requests, args.runs),
            f"database: {connection.vendor}  median of {args.runs} rounds, ms per page "
            "(queries at each size after the ratio)",
            extra={
                name: f"   {' → '.join(map(str, made))} queries" for name, made in queries.items()
            },
        )


if __name__ == "__main__":
    main()
