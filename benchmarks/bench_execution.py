"""What governance costs: the governed path against the bare stack, in one run.

    .venv/bin/python benchmarks/bench_execution.py                        # fresh SQLite file
    .venv/bin/python benchmarks/bench_execution.py \\
        --database-url postgres://postgres@127.0.0.1:5432/exec_bench --redis-url redis://127.0.0.1:6379/14

Three figures, each with its target (figures, not tests: nothing here fails a build):

1. in-process: ``AnalysisExecutionService().execute()`` of a no-op plugin (job row, ToolRunner,
   registry metrics and buckets) against a bare ``plugin.run()``: the overhead per execution in
   microseconds, and the SQL statements per execution (target <= 1 ms on SQLite, <= 2 ms on
   PostgreSQL, with the plugin inline; at most 2 ms more with it in a pool child, the default);
2. HTTP: ``POST /v1/analyze-execution`` (no-op plugin, tiny PNG) against a bare DRF endpoint
   with the same authentication, throttle and parsers that parses the body and answers 200, on
   the gunicorn ``make run`` starts (its config module, 2 workers) with a qcluster beside it, at
   concurrency 1, 4 and 16: throughput and server CPU per request, governed/bare (target >= 0.7);
3. memory: the peak RSS a sync request with a 20 MB image adds to the gunicorn worker serving it,
   JSON (base64) and multipart, as a multiple of the image (targets 3x and 1.2x).

Trials are interleaved (governed, bare, governed, ...) and the medians reported. The benchmark
has its own database (a PostgreSQL one is created if missing and its jobs are deleted: its name
must contain 'bench'), its own VAR_DIR, and the settings module benchmarks.settings (the
project's plus the no-op plugin and the bare endpoint). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import http.client
import io
import json
import logging
import os
import pstats
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import psutil  # noqa: E402

from benchmarks.async_throughput import create_postgres_database, tiny_png  # noqa: E402
from tests.execution.cluster import cluster_env, qcluster  # noqa: E402
from tests.execution.web import gunicorn  # noqa: E402
from tests.plugins.bare import bare_run  # noqa: E402

PLUGIN = "bench-noop"
GOVERNED_PATH = "/v1/analyze-execution"
BARE_PATH = "/v1/bench-bare"
CONCURRENCY = (1, 4, 16)
MIB = 1024 * 1024
BIG_IMAGE_BYTES = 20 * 1000 * 1000
TARGETS = {"sqlite": 1000.0, "postgresql": 2000.0}
# What running the plugin in a pool child may add on top (the isolation benchmark's target).
ISOLATION_TARGET_US = 2000.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--redis-url", default="", help="broker and cache, as REDIS_URL")
    parser.add_argument("--trials", type=int, default=5, help="interleaved trials (default 5)")
    parser.add_argument(
        "--executions", type=int, default=300, help="in-process executions per trial"
    )
    parser.add_argument(
        "--requests", type=int, default=200, help="HTTP requests per trial and concurrency"
    )
    parser.add_argument(
        "--only", choices=["inprocess", "http", "memory"], action="append", help="one part"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the governed path")
    parser.add_argument(
        "--no-cluster", action="store_true", help="HTTP without the qcluster make run starts"
    )
    parser.add_argument(
        "--isolation",
        choices=["process", "inline"],
        default="process",
        help="how the servers host plugins (default process, as make run ships)",
    )
    args = parser.parse_args()
    if args.database_url and "bench" not in urlsplit(args.database_url).path:
        parser.error("--database-url: the database's name must contain 'bench' (it is emptied)")
    return args


def median_per_call(run: Callable[[], Any], calls: int) -> tuple[float, float]:
    """Median seconds of one call over ``calls`` calls: elapsed, and this process's CPU (which
    other work on the machine moves far less than it moves the elapsed time)."""
    elapsed, cpu = [], []
    for _ in range(calls):
        started, started_cpu = time.perf_counter(), time.process_time()
        run()
        elapsed.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(elapsed), statistics.median(cpu)


# --- 1. In-process ------------------------------------------------------------------------


def in_process(args: argparse.Namespace, vendor: str) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    from execution.models import Job
    from execution.services import AnalysisExecutionService
    from execution.tool_runner.catalog import plugin_catalog
    from execution.tool_runner.hosting import ISOLATIONS
    from execution.validation import ExecutionRequest

    image = base64.b64encode(tiny_png()).decode()
    request = ExecutionRequest(plugin=PLUGIN, image=image, mime_type="image/png")
    plugin = plugin_catalog().available[PLUGIN]
    payload = {"image": tiny_png(), "mime_type": "image/png", "options": {}}

    print("\n1. In-process: governed execute() of a no-op plugin vs a bare plugin.run()")
    print(f"   {args.trials} interleaved trials of {args.executions} calls; medians")
    for mode in sorted(ISOLATIONS):  # inline, then process: the added cost of isolation
        hosting = {**settings.EXECUTION["PLUGIN_HOSTING_DEFAULTS"], "isolation": mode}
        with override_settings(
            EXECUTION={**settings.EXECUTION, "PLUGIN_HOSTING_DEFAULTS": hosting}
        ):
            service = AnalysisExecutionService()

            def governed(service: AnalysisExecutionService = service) -> Any:
                return service.execute(request=request)

            job = governed()
            if job.status != "SUCCESS":
                raise SystemExit(f"the governed no-op failed: {job.error}")
            with CaptureQueriesContext(connection) as queries:
                governed()
            sql = [query["sql"] for query in queries.captured_queries]

            governed_s: list[tuple[float, float]] = []
            bare_s: list[tuple[float, float]] = []
            for trial in range(args.trials):
                pair = [
                    (governed_s, governed),
                    (bare_s, lambda: bare_run(plugin, dict(payload))),
                ]
                for results, run in pair if trial % 2 == 0 else pair[::-1]:
                    results.append(median_per_call(run, args.executions))
            governed_us, bare_us = (
                [statistics.median(trial[part] for trial in trials) * 1e6 for part in (0, 1)]
                for trials in (governed_s, bare_s)
            )
            overhead_us = governed_us[0] - bare_us[0]
            target = TARGETS[vendor] + (ISOLATION_TARGET_US if mode == "process" else 0.0)
            verdict = "meets" if overhead_us <= target else "ABOVE"
            print(
                f"   {mode:<8} governed {governed_us[0]:6.0f} us (CPU {governed_us[1]:5.0f})  "
                f"bare {bare_us[0]:4.1f} us  overhead {overhead_us:6.0f} us "
                f"({verdict} the {target:.0f} us target)  SQL statements: {len(sql)}"
            )
            for statement in sql:
                print(f"      {statement[:110]}")
            if args.profile:
                profile(governed, args.executions)
    Job.objects.all().delete()


def profile(run: Callable[[], Any], calls: int) -> None:
    from django.db import connection

    sql_seconds = [0.0]

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_seconds[0] += time.perf_counter() - started

    profiler = cProfile.Profile()
    started = time.perf_counter()
    with connection.execute_wrapper(timed):
        profiler.enable()
        for _ in range(calls):
            run()
        profiler.disable()
    total = time.perf_counter() - started
    print(
        f"      profile: {total / calls * 1e6:.0f} us per execution under cProfile, of which "
        f"the database driver {sql_seconds[0] / calls * 1e6:.0f} us"
    )
    for order, restriction in (("cumulative", r"/(execution|registry)/"), ("tottime", 14)):
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.sort_stats(order).print_stats(restriction, 14)
        print(f"      by {order}:")
        for line in stream.getvalue().splitlines()[6:]:
            if line.strip():
                print(f"      {line.replace(str(REPO_ROOT) + '/', '')}")


# --- 2. HTTP throughput -------------------------------------------------------------------


@dataclass
class Load:
    requests: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_per_request_ms(self) -> float:
        return self.cpu_seconds / self.requests * 1000


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by gunicorn's master and its workers."""
    master = psutil.Process(pid)
    total = 0.0
    for process in [master, *master.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def hammer(
    port: int, path: str, body: bytes, headers: dict[str, str], requests: int, concurrency: int
) -> float:
    """Send ``requests`` POSTs over ``concurrency`` keep-alive connections; seconds taken."""
    failures: list[str] = []
    share = [requests // concurrency + (1 if n < requests % concurrency else 0) for n in range(concurrency)]  # fmt: skip
    start = threading.Barrier(concurrency + 1)

    def client(count: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start.wait()
        for _ in range(count):
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                failures.append(f"{path}: {response.status}")
        connection.close()

    threads = [threading.Thread(target=client, args=(count,)) for count in share]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, first: {failures[0]}")
    return seconds


def http_throughput(
    args: argparse.Namespace, server: subprocess.Popen[bytes], port: int, token: str
) -> None:
    image = base64.b64encode(tiny_png()).decode()
    body = json.dumps({"plugin": PLUGIN, "image": image, "mime_type": "image/png"}).encode()
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    pid = server.pid
    print(
        "\n2. HTTP: POST /v1/analyze-execution (no-op, tiny PNG) vs a bare DRF endpoint, "
        f"gunicorn as make run starts it (2 workers) + qcluster, plugins {args.isolation}"
    )
    print(f"   {args.trials} interleaved trials of {args.requests} requests; medians")
    # Warm both up at the highest concurrency: imports, connections, caches, and every plugin
    # process a web thread can ask for, so no trial pays a child's start (0.4 s of CPU each).
    for path in (GOVERNED_PATH, BARE_PATH):
        hammer(port, path, body, headers, 100, max(CONCURRENCY))
    print(
        f"   {'c':>3} {'governed r/s':>13} {'bare r/s':>10} {'ratio':>7}   "
        f"{'gov CPU ms/r':>13} {'bare CPU ms/r':>14} {'ratio':>7}"
    )
    for concurrency in CONCURRENCY:
        runs: dict[str, list[Load]] = {GOVERNED_PATH: [], BARE_PATH: []}
        for trial in range(args.trials):
            order = [GOVERNED_PATH, BARE_PATH] if trial % 2 == 0 else [BARE_PATH, GOVERNED_PATH]
            for path in order:
                cpu = server_cpu(pid)
                seconds = hammer(port, path, body, headers, args.requests, concurrency)
                runs[path].append(Load(args.requests, seconds, server_cpu(pid) - cpu))
        governed_rate = statistics.median(load.rate for load in runs[GOVERNED_PATH])
        bare_rate = statistics.median(load.rate for load in runs[BARE_PATH])
        governed_cpu = statistics.median(load.cpu_per_request_ms for load in runs[GOVERNED_PATH])
        bare_cpu = statistics.median(load.cpu_per_request_ms for load in runs[BARE_PATH])
        rate_ratio, cpu_ratio = governed_rate / bare_rate, bare_cpu / governed_cpu
        verdict = "meets" if min(rate_ratio, cpu_ratio) >= 0.7 else "BELOW"
        print(
            f"   {concurrency:>3} {governed_rate:>13.1f} {bare_rate:>10.1f} {rate_ratio:>7.2f}   "
            f"{governed_cpu:>13.2f} {bare_cpu:>14.2f} {cpu_ratio:>7.2f}   ({verdict} 0.7)"
        )


# --- 3. Memory ----------------------------------------------------------------------------


def big_png(size: int) -> bytes:
    """A real PNG of about ``size`` bytes: random pixels, stored uncompressed."""
    import numpy as np
    from PIL import Image

    side = int((size / 3) ** 0.5)
    pixels = np.random.default_rng(7).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", compress_level=0)
    return buffer.getvalue()


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} for {pid}")


def peak_rss_added(pid: int, send: Callable[[], None]) -> int:
    """Bytes of peak RSS one request adds to the process: Linux's high-water mark, reset first
    (clear_refs 5), less the resident size before the request."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    before = _status(pid, "VmRSS")
    send()
    return _status(pid, "VmHWM") - before


def multipart(fields: dict[str, str], image: bytes) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n".encode()
    )
    body = b"".join(parts) + image + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def memory(server: subprocess.Popen[bytes], port: int, token: str) -> None:
    image = big_png(BIG_IMAGE_BYTES)
    worker = next(child.pid for child in psutil.Process(server.pid).children())
    auth = {"Authorization": f"Token {token}"}
    json_body = json.dumps(
        {"plugin": PLUGIN, "image": base64.b64encode(image).decode(), "mime_type": "image/png"}
    ).encode()
    form_body, form_type = multipart({"plugin": PLUGIN}, image)
    bodies = {
        "JSON": (json_body, {**auth, "Content-Type": "application/json"}, 3.0),
        "multipart": (form_body, {**auth, "Content-Type": form_type}, 1.2),
    }
    print(
        f"\n3. Memory: peak RSS a sync request with a {len(image) / 1e6:.1f} MB PNG adds to its "
        "gunicorn worker (1 worker), as a multiple of the image; median of 3"
    )
    for kind, (body, headers, target) in bodies.items():
        for path in (GOVERNED_PATH, BARE_PATH):

            def send(
                path: str = path, body: bytes = body, headers: dict[str, str] = headers
            ) -> None:
                hammer(port, path, body, headers, 1, 1)

            send()  # the first large request grows the allocator's arenas once
            added = statistics.median(peak_rss_added(worker, send) for _ in range(3))
            ratio = added / len(image)
            name = "governed" if path == GOVERNED_PATH else "bare"
            verdict = ("meets" if ratio <= target else "ABOVE") + f" the {target}x target"
            print(f"   {kind:<10} {name:<9} {added / MIB:7.1f} MiB  {ratio:5.2f}x  ({verdict})")


# --- Set-up -------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    parts = set(args.only or ["inprocess", "http", "memory"])
    scratch = Path(tempfile.mkdtemp(prefix="exec-bench-"))
    database_url = args.database_url or f"sqlite:///{scratch / 'bench.sqlite3'}"
    env = cluster_env(
        database_url=database_url,
        media_root=scratch / "media",
        var_dir=scratch / "var",
        secret_key=secrets.token_urlsafe(50),
        workers=2,
        timeout=60,
        retry=90,
        redis_url=args.redis_url,
        extra={
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            # As `make run` logs: one line per execution among them.
            "LOG_LEVEL": "INFO",
            # The throttle still runs (a cache read and write per request), but never refuses.
            "THROTTLE_USER_RATE": "100000000/hour",
            "EXECUTION_PLUGIN_ISOLATION": args.isolation,
            # Room for the 20 MB image of the memory figure.
            "EXECUTION_MAX_IMAGE_BYTES": str(32 * MIB),
            "PYTHONPATH": str(REPO_ROOT),
        },
    )
    env.pop("EXECUTION_PLUGINS", None)
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
        # The in-process figures include writing the log lines, not reading them.
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - for the whole run
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection
        from rest_framework.authtoken.models import Token

        from execution.models import Job

        call_command("sync_plugins", stdout=io.StringIO())
        Job.objects.all().delete()
        user, _ = get_user_model().objects.get_or_create(username="bench")
        token = Token.objects.get_or_create(user=user)[0].key
        vendor = connection.vendor
        print(
            f"database: {vendor}  broker: {'redis' if args.redis_url else 'orm'}  "
            f"python {sys.version.split()[0]}  cores: {os.cpu_count()}"
        )

        if "inprocess" in parts:
            in_process(args, vendor)
        with ExitStack() as running:
            if "http" in parts:
                web = running.enter_context(gunicorn(env, scratch / "web.log", workers=2))
                if not args.no_cluster:
                    running.enter_context(qcluster(env=env, log_path=scratch / "qcluster.log"))
                http_throughput(args, *web, token)
            if "memory" in parts:
                # A fixed mmap threshold: glibc otherwise raises it after the first large free,
                # keeps later large buffers in the heap, and the resident size stops showing
                # what a request holds at once.
                fixed = {**env, "MALLOC_MMAP_THRESHOLD_": "131072"}
                single = running.enter_context(gunicorn(fixed, scratch / "web-one.log"))
                memory(*single, token)
        Job.objects.all().delete()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
