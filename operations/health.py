"""/healthz and /readyz for load balancers and orchestrators, on django-health-check.

``/healthz`` says the process answers and touches nothing else: a database outage must not get
every web process restarted. ``/readyz`` runs the checks below concurrently and answers 200 when
all pass, 503 with each check's verdict otherwise.

Every check is bounded: django-health-check waits ``timeout`` (+1 s for the check's own client
timeout to report first) and reports the check as failed after that. The checks run on a pool
of our own, not on the event loop's default executor: under WSGI the view runs in a fresh event
loop per request, and closing that loop waits for its default executor's threads, so one check
hung on a black-holed socket would hold the response past the timeout. A hung check's thread is
left to its client's own timeout (``connect_timeout``, Redis ``socket_timeout``) on the pool.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from django.core.cache import caches
from django.db import connection as db_connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from health_check import checks as builtin_checks
from health_check.base import HealthCheck, HealthCheckResult
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from execution.conf import execution_settings
from execution.selectors import bounded_broker, clusters_running, sweep_on_time, sweep_schedule

# Threads for checks; more than the checks of one request, so a few hung ones leave room.
_CHECK_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="readyz")


def check_timeout() -> datetime.timedelta:
    return datetime.timedelta(seconds=execution_settings.READINESS_CHECK_TIMEOUT_SECONDS)


class Bounded:
    """The configured timeout, read per request (a property: the checks are dataclasses, and a
    field here would become every check's first argument)."""

    @property
    def timeout(self) -> datetime.timedelta:
        return check_timeout()


@dataclasses.dataclass
class Database(Bounded, builtin_checks.Database):
    """``SELECT 1`` on a connection of its own."""


@dataclasses.dataclass
class Cache(Bounded, HealthCheck):
    """A key written and read back: the throttles and, on the embedded set-up, django-q2's
    cluster status live in this cache. Synchronous, so it runs on the check pool (the library's
    async check would run the cache call on the request's own thread)."""

    alias: str = "default"

    def run(self) -> None:
        key = f"readyz:{timezone.now().timestamp()}"
        try:
            cache = caches[self.alias]
            # A key of this moment is new, so add answers False only when the write was not
            # made: the embedded cache gave up waiting for another process's write lock
            # (execution_project/cache.py), where a set would have said nothing.
            written = cache.add(key, "ok", timeout=10)
            if written:
                value = cache.get(key)
                cache.delete(key)
        except Exception as error:
            raise ServiceUnavailable(f"cache unreachable: {type(error).__name__}") from error
        if not written:
            raise ServiceUnavailable(
                "cache write not taken within its timeout: another process holds its lock"
            )
        if value != "ok":
            raise ServiceUnavailable("cache did not return the value written")


def _bounded_broker() -> Any:
    """django-q2's broker, giving up after the check's timeout."""
    return bounded_broker(check_timeout().total_seconds())


@dataclasses.dataclass
class Broker(Bounded, HealthCheck):
    """django-q2's broker answers (the ORM broker is the database, checked above)."""

    def run(self) -> None:
        try:
            _bounded_broker().ping()
        except Exception as error:
            raise ServiceUnavailable(f"broker unreachable: {type(error).__name__}") from error


@dataclasses.dataclass
class Cluster(Bounded, HealthCheck):
    """At least one django-q2 cluster is running: each writes its status (a ``Stat``, kept 3 s)
    every half second, to the broker's cache or Redis."""

    def run(self) -> None:
        try:
            running = clusters_running(now=timezone.now(), broker=_bounded_broker())
        except Exception as error:
            raise ServiceUnavailable(
                f"cluster status unreadable: {type(error).__name__}"
            ) from error
        if not running:
            window = execution_settings.CLUSTER_SEEN_WITHIN_SECONDS
            raise ServiceUnavailable(f"no worker cluster seen in the last {window:g} s")


@dataclasses.dataclass
class Sweep(Bounded, HealthCheck):
    """The periodic sweep is scheduled and its next run is not overdue (the scheduler runs every
    30 s on each cluster, so a run can start up to that late without anything being wrong)."""

    def run(self) -> None:
        try:
            schedule = sweep_schedule()
        finally:
            # A pool thread is no request: nothing else would ever close its connection.
            db_connection.close()
        if schedule is None:
            raise ServiceUnavailable("the sweep is not scheduled: run manage.py ensure_schedules")
        now = timezone.now()
        if schedule.next_run is not None and not sweep_on_time(next_run=schedule.next_run, now=now):
            late = (now - schedule.next_run).total_seconds()
            raise ServiceUnavailable(f"the sweep is {late:.0f} s overdue")


READINESS_CHECKS: dict[str, type[HealthCheck]] = {
    "database": Database,
    "cache": Cache,
    "broker": Broker,
    "cluster": Cluster,
    "sweep": Sweep,
}


# The probes are read-only: another method answers 405, not the CSRF check's HTML page.
@method_decorator(csrf_exempt, name="dispatch")
class ReadinessView(HealthCheckView):
    """All checks at once; JSON always (a load balancer sends no Accept header), and 503, the
    status a load balancer reads as "send no traffic here", rather than the library's 500."""

    checks = tuple(READINESS_CHECKS.values())

    def get_executor(self) -> AbstractContextManager[Executor | None]:
        return nullcontext(_CHECK_POOL)

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with self.get_executor() as executor:
            self.results = await asyncio.gather(
                *(check.get_result(executor) for check in self.get_checks())
            )
        return readiness_response(self.results)


def readiness_response(results: list[HealthCheckResult]) -> JsonResponse:
    names = {check: name for name, check in READINESS_CHECKS.items()}
    body = {
        names[type(result.check)]: {
            "ok": result.error is None,
            "error": str(result.error) if result.error else None,
            "seconds": round(result.time_taken, 3),
        }
        for result in results
    }
    ready = all(check["ok"] for check in body.values())
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": body},
        status=200 if ready else 503,
    )


@csrf_exempt  # as ReadinessView
@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive and serving; nothing else is touched."""
    return JsonResponse({"status": "alive"})
