"""The operator's overview on the admin index: a few small reads, none that scans the Job table.

Executions and latency come from the registry's hourly buckets; the queue from one grouped query
over unfinished jobs (the status index); the cluster from django-q2's own ``Stat``; the sweep from its
``Schedule``. An operator opens this page when something is wrong: a broker that is down or
does not answer leaves the clusters unknown, said so, not the page failing or hanging.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Min
from django.utils import timezone

from execution.conf import execution_settings
from execution.models import Job, JobStatus
from execution.selectors import bounded_broker, clusters_running, sweep_on_time, sweep_schedule
from registry.display import format_percent
from registry.metrics import outcome_totals, overall_latency_summary
from registry.models import Outcome, PluginRegistry, PluginState

logger = logging.getLogger(__name__)

WINDOWS = (("hour", "last hour", timedelta(hours=1)), ("day", "last 24 hours", timedelta(hours=24)))
# How long the page waits for the clusters' status on the broker (Redis): bounded, as /readyz's
# checks are, but shorter than theirs, since an operator is waiting for the whole page.
BROKER_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class WindowFigures:
    """Executions of every plugin over a recent window, read from the hourly buckets (so the
    window starts at the top of its first hour: "last hour" is this hour and the one before)."""

    key: str
    label: str
    success: int
    plugin_fault: int
    input_refused: int
    p50: float | None
    p95: float | None

    @property
    def executions(self) -> int:
        return self.success + self.plugin_fault + self.input_refused

    @property
    def failure_rate(self) -> str:
        # As in the plugin list: the plugins' own faults among the runs that reached them.
        return format_percent(self.plugin_fault, self.success + self.plugin_fault)


@dataclass(frozen=True)
class QueueFigures:
    status: str
    count: int
    oldest: datetime | None


@dataclass(frozen=True)
class ClusterFigures:
    host: str
    cluster_id: str
    status: str
    workers: int
    started: datetime | None


@dataclass(frozen=True)
class SweepFigures:
    scheduled: bool
    next_run: datetime | None
    interval_minutes: int
    on_time: bool


@dataclass(frozen=True)
class Overview:
    windows: list[WindowFigures]
    unhealthy: list[PluginRegistry]
    queue: list[QueueFigures]
    clusters: list[ClusterFigures]
    # Why the clusters are unknown: their status could not be read from the broker.
    clusters_unreadable: str
    sweep: SweepFigures
    now: datetime


def window_figures(*, now: datetime) -> list[WindowFigures]:
    figures = []
    for key, label, span in WINDOWS:
        totals = outcome_totals(since=now - span)
        latency = overall_latency_summary(since=now - span)
        figures.append(
            WindowFigures(
                key=key,
                label=label,
                success=totals[Outcome.SUCCESS],
                plugin_fault=totals[Outcome.PLUGIN_FAULT],
                input_refused=totals[Outcome.INPUT_REFUSED],
                p50=latency.p50,
                p95=latency.p95,
            )
        )
    return figures


def unhealthy_plugins() -> list[PluginRegistry]:
    """Plugins an operator should look at: UNAVAILABLE (cannot run) and FAILED (last run broke)."""
    return list(
        PluginRegistry.objects.filter(state__in=[PluginState.UNAVAILABLE, PluginState.FAILED])
        .only("name", "state", "reason", "disabled")
        .order_by("-state", "name")
    )


def queue_figures() -> list[QueueFigures]:
    """PENDING and RUNNING jobs, how many and since when (one query on the status index)."""
    rows: dict[str, dict[str, Any]] = {
        row["status"]: dict(row)
        for row in Job.objects.filter(status__in=[JobStatus.PENDING, JobStatus.RUNNING])
        .order_by()
        .values("status")
        .annotate(count=Count("pk"), created=Min("created_at"), started=Min("started_at"))
    }
    figures = []
    for status, since in ((JobStatus.PENDING, "created"), (JobStatus.RUNNING, "started")):
        row = rows.get(status, {})
        figures.append(
            QueueFigures(status=status, count=row.get("count", 0), oldest=row.get(since))
        )
    return figures


def cluster_figures(*, now: datetime) -> tuple[list[ClusterFigures], str]:
    """The worker clusters running now, as /readyz counts them; or none, and why, when their
    status cannot be read within ``BROKER_TIMEOUT_SECONDS``."""
    try:
        running = clusters_running(now=now, broker=bounded_broker(BROKER_TIMEOUT_SECONDS))
    except Exception as error:  # whatever the broker's client raises: the page still answers
        logger.warning("Worker clusters' status unreadable: %r", error)
        return [], f"the broker did not answer: {type(error).__name__}"
    figures = (
        ClusterFigures(
            host=stat.host,
            cluster_id=str(stat.cluster_id),
            status=str(stat.status),
            workers=len(stat.workers),
            started=stat.tob,
        )
        for stat in running
    )
    return sorted(figures, key=lambda cluster: (cluster.host, cluster.cluster_id)), ""


def sweep_figures(*, now: datetime) -> SweepFigures:
    interval = execution_settings.SWEEP_INTERVAL_MINUTES
    schedule = sweep_schedule()
    if schedule is None or schedule.next_run is None:
        return SweepFigures(
            scheduled=False, next_run=None, interval_minutes=interval, on_time=False
        )
    return SweepFigures(
        scheduled=True,
        next_run=schedule.next_run,
        interval_minutes=interval,
        on_time=sweep_on_time(next_run=schedule.next_run, now=now),
    )


def dashboard_overview() -> Overview:
    now = timezone.now()
    clusters, clusters_unreadable = cluster_figures(now=now)
    return Overview(
        windows=window_figures(now=now),
        unhealthy=unhealthy_plugins(),
        queue=queue_figures(),
        clusters=clusters,
        clusters_unreadable=clusters_unreadable,
        sweep=sweep_figures(now=now),
        now=now,
    )
