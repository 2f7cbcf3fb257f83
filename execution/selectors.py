"""Reads of jobs and of the worker side (its clusters, the sweep's schedule), named for their
readers."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import redis
from django.db.models import Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django_q.brokers import get_broker
from django_q.brokers.redis_broker import Redis as RedisBroker
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.status import Stat

from execution.conf import execution_settings
from execution.management.commands.ensure_schedules import SWEEP_NAME
from execution.models import Job, JobQuerySet

# The scheduler runs every 30 s on each cluster: a sweep may start up to a minute past its due
# time without anything being wrong.
SWEEP_GRACE = timedelta(seconds=60)


def job_get(*, job_id: str, user: Any) -> Job | None:
    """The job if it exists and ``user`` may see it; an id that is not a UUID finds nothing."""
    try:
        pk = uuid.UUID(str(job_id))
    except ValueError:
        return None
    return Job.objects.visible_to(user).filter(pk=pk).first()


def job_list(*, user: Any, plugin: str | None = None, status: str | None = None) -> JobQuerySet:
    # A list shows neither options, results nor tracebacks: they are not read either.
    jobs = Job.objects.visible_to(user).order_by("-created_at")
    jobs = jobs.defer("options", "result", "error_traceback")
    if plugin:
        # Any case, as LOWER on both sides: the form the plugin indexes hold (iexact would be
        # LIKE on SQLite and UPPER on PostgreSQL, which no index serves).
        jobs = jobs.filter(Exact(Lower("plugin"), Lower(Value(plugin))))
    if status:
        jobs = jobs.filter(status=status.upper())
    return jobs


def bounded_broker(seconds: float) -> Any:
    """django-q2's broker, with a Redis connection that gives up after ``seconds`` (django-q2's
    own would wait on a black-holed socket for ever)."""
    broker = get_broker()
    if isinstance(broker, RedisBroker) and isinstance(Conf.REDIS, str):
        broker.connection = redis.Redis.from_url(
            Conf.REDIS, socket_timeout=seconds, socket_connect_timeout=seconds
        )
    return broker


def clusters_running(*, now: datetime, broker: Any = None) -> list[Stat]:
    """The django-q2 clusters at work, from their status on ``broker`` (django-q2's own when
    None): each rewrites its ``Stat`` every half second, so one seen longer ago than
    ``CLUSTER_SEEN_WITHIN_SECONDS``, or stopping, is not counted."""
    seen_since = now - timedelta(seconds=execution_settings.CLUSTER_SEEN_WITHIN_SECONDS)
    return [
        stat
        for stat in Stat.get_all(broker=broker)
        if stat.timestamp >= seen_since and stat.status not in (Conf.STOPPING, Conf.STOPPED)
    ]


def sweep_schedule() -> Schedule | None:
    """The sweep's django-q2 schedule; None until ``manage.py ensure_schedules`` has run."""
    return Schedule.objects.filter(name=SWEEP_NAME).only("next_run").first()


def sweep_on_time(*, next_run: datetime, now: datetime) -> bool:
    """The scheduler moves ``next_run`` on each time it queues the sweep: one more than an
    interval and the grace in the past means no cluster has been scheduling it."""
    interval = timedelta(minutes=execution_settings.SWEEP_INTERVAL_MINUTES)
    return next_run >= now - interval - SWEEP_GRACE
