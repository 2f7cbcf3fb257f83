"""Async throughput: governed jobs per second end to end, against a bare django-q2 no-op task.

    .venv/bin/python benchmarks/async_throughput.py [--jobs 300] [--workers 2] [--broker orm]
    .venv/bin/python benchmarks/async_throughput.py --broker redis \\
        --database-url postgres://postgres@127.0.0.1:5432/async_bench

It sets up its own database (migrated; by default a fresh SQLite file in a temporary directory),
starts its own `manage.py qcluster`, and with that one cluster (same broker, same workers) runs

- bare: N times ``async_task("benchmarks.noop.noop")``, until django-q2 has stored N results;
- governed: N times ``AnalysisExecutionService().submit(...)`` of a tiny PNG on image-metadata (what
  POST /v1/analyze-execution/async does after parsing), until the N jobs are finished;

each timed from the first submission to the last completion, after a warm-up, and prints
jobs per second for each and their ratio. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.execution.cluster import cluster_env, qcluster, wait_for  # noqa: E402

NOOP_TASK = "benchmarks.noop.noop"
WARM_UP_JOBS = 20
POLL_SECONDS = 0.02
# A batch must finish within this many seconds per job (with a floor), or the run is broken.
SECONDS_PER_JOB_LIMIT = 1.0


@dataclass
class Batch:
    name: str
    results_table: str
    jobs: int
    submitted_in: float
    seconds: float

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=300, help="jobs per batch (default 300)")
    parser.add_argument("--workers", type=int, default=2, help="Q_WORKERS (default 2)")
    parser.add_argument("--broker", choices=["orm", "redis"], default="orm")
    parser.add_argument(
        "--database-url",
        help="default: a fresh SQLite file in a temporary directory. A PostgreSQL database is "
        "created if missing and its jobs and django-q tables are EMPTIED: give the benchmark "
        "its own (the name must contain 'bench').",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/14",
        help="for --broker redis; its django-q queue is emptied (default: %(default)s)",
    )
    parser.add_argument(
        "--results-table",
        choices=["empty", "full", "both"],
        default="both",
        help="django-q2's stored results before each batch: empty (a new deployment), full "
        "(save_limit of them: the steady state), or both, one pair of batches each "
        "(default: %(default)s)",
    )
    args = parser.parse_args()
    if args.jobs < 1 or args.workers < 1:
        parser.error("--jobs and --workers must be positive")
    if args.database_url and "bench" not in urlsplit(args.database_url).path:
        parser.error("--database-url: the database's name must contain 'bench' (it is emptied)")
    return args


def create_postgres_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def tiny_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def reset_results(results_table: str) -> None:
    """Give django-q2's result table the same starting point before each batch.

    django-q2 keeps at most save_limit successes: while the table is full, storing a result
    loads every stored success and deletes the oldest, so each task costs more than while it
    fills. "full" (a deployment's steady state after save_limit tasks) fills it with old
    results, which are the ones pruned, so the batch's own (at most save_limit) are all kept
    and counted; "empty" measures the cheaper start.
    """
    from django.utils import timezone
    from django_q.conf import Conf
    from django_q.models import Task

    Task.objects.all().delete()
    if results_table == "full":
        long_ago = timezone.now() - timedelta(days=365)
        Task.objects.bulk_create(
            Task(
                id=f"prefill{number:025}",
                name=f"prefill-{number}",
                func="benchmarks.prefill",
                args=(),
                kwargs={},
                started=long_ago,
                stopped=long_ago,
                success=True,
            )
            for number in range(Conf.SAVE_LIMIT)
        )


def run_bare(jobs: int, timeout: float, results_table: str) -> Batch:
    from django_q.models import Task
    from django_q.tasks import async_task

    reset_results(results_table)
    started = time.perf_counter()
    for _ in range(jobs):
        async_task(NOOP_TASK)
    submitted_in = time.perf_counter() - started
    wait_for(
        lambda: Task.objects.filter(func=NOOP_TASK).count() >= jobs,
        timeout=timeout,
        interval=POLL_SECONDS,
        what=f"{jobs} no-op tasks",
    )
    seconds = time.perf_counter() - started
    failed = Task.objects.filter(func=NOOP_TASK, success=False).count()
    if failed:
        raise SystemExit(f"{failed} no-op tasks failed")
    return Batch("bare no-op", results_table, jobs, submitted_in, seconds)


def run_governed(jobs: int, timeout: float, image: str, results_table: str) -> Batch:
    from execution.models import FINISHED_STATUSES, Job, JobStatus
    from execution.services import AnalysisExecutionService
    from execution.validation import ExecutionRequest

    reset_results(results_table)
    service = AnalysisExecutionService()
    started = time.perf_counter()
    ids = [
        service.submit(
            request=ExecutionRequest(plugin="image-metadata", image=image, mime_type="image/png")
        ).pk
        for _ in range(jobs)
    ]
    submitted_in = time.perf_counter() - started
    wait_for(
        lambda: Job.objects.filter(pk__in=ids, status__in=FINISHED_STATUSES).count() == jobs,
        timeout=timeout,
        interval=POLL_SECONDS,
        what=f"{jobs} governed jobs",
    )
    seconds = time.perf_counter() - started
    succeeded = Job.objects.filter(pk__in=ids, status=JobStatus.SUCCESS).count()
    if succeeded != jobs:
        raise SystemExit(f"only {succeeded} of {jobs} governed jobs succeeded")
    return Batch("governed", results_table, jobs, submitted_in, seconds)


def report(args: argparse.Namespace, database: str, batches: list[Batch]) -> None:
    print()
    print(f"broker={args.broker}  database={database}  workers={args.workers}  jobs={args.jobs}")
    header = f"{'results table':<15}{'batch':<12}{'jobs':>6}{'submit s':>10}{'total s':>10}"
    print(f"{header}{'jobs/s':>9}")
    for batch in batches:
        print(
            f"{batch.results_table:<15}{batch.name:<12}{batch.jobs:>6}"
            f"{batch.submitted_in:>10.2f}{batch.seconds:>10.2f}{batch.rate:>9.1f}"
        )
    for bare, governed in zip(batches[::2], batches[1::2], strict=True):
        ratio = governed.rate / bare.rate
        verdict = "meets" if ratio >= 0.8 else "BELOW"
        print(
            f"ratio governed/bare, results table {bare.results_table}: {ratio:.2f} "
            f"({verdict} the 0.80 target)"
        )


def main() -> None:
    args = parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="async-bench-"))
    database_url = args.database_url or f"sqlite:///{scratch / 'bench.sqlite3'}"
    redis_url = args.redis_url if args.broker == "redis" else ""
    env = cluster_env(
        database_url=database_url,
        media_root=scratch / "media",
        var_dir=scratch / "var",
        secret_key=secrets.token_urlsafe(50),
        workers=args.workers,
        # Nothing here runs long; retry > timeout as in production.
        timeout=60,
        retry=90,
        redis_url=redis_url,
    )
    try:
        if database_url.startswith(("postgres://", "postgresql://")):
            create_postgres_database(database_url)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=REPO_ROOT,
            env=env,
            check=True,
        )
        # This process submits: the same settings as the cluster, but quiet (django-q2 logs
        # every enqueue at INFO).
        os.environ.clear()
        os.environ.update(env, LOG_LEVEL="WARNING")
        import django

        django.setup()
        from django.core.management import call_command
        from django_q.brokers import get_broker
        from django_q.conf import Conf
        from django_q.models import OrmQ

        from execution.models import Job

        if 0 < Conf.SAVE_LIMIT < args.jobs:
            raise SystemExit(f"--jobs must not exceed Q_CLUSTER save_limit ({Conf.SAVE_LIMIT})")
        call_command("sync_plugins", stdout=io.StringIO())
        # The benchmark's own database and queue: start from nothing.
        Job.objects.all().delete()
        OrmQ.objects.all().delete()
        get_broker().purge_queue()
        image = base64.b64encode(tiny_png()).decode()
        timeout = max(60.0, args.jobs * SECONDS_PER_JOB_LIMIT)

        with qcluster(env=env, log_path=scratch / "qcluster.log"):
            tables = ["empty", "full"] if args.results_table == "both" else [args.results_table]
            run_bare(WARM_UP_JOBS, timeout, tables[0])
            run_governed(WARM_UP_JOBS, timeout, image, tables[0])
            batches = []
            for table in tables:
                batches.append(run_bare(args.jobs, timeout, table))
                batches.append(run_governed(args.jobs, timeout, image, table))
        database = urlsplit(database_url).scheme
        report(args, database, batches)
    finally:
        if args.broker == "redis" and "django" in sys.modules:
            from django_q.brokers import get_broker

            get_broker().delete_queue()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
