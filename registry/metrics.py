"""Execution figures read from the hourly buckets: percentiles, series and totals.

Every reader sums bucket rows (a few per plugin and hour), never the Job table, so the admin,
the API and a Prometheus scrape cost the same with a thousand jobs or a hundred million.

Latency is kept as a histogram with fixed bounds. A percentile read from it is interpolated
linearly inside the bucket it falls in (as Prometheus's ``histogram_quantile`` does), so it
is off by at most that bucket's width: between 5 and 10 ms it is exact to 5 ms, between 1 and
2.5 s to 1.5 s. Durations past the last bound are reported as that bound.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from registry.models import Outcome, PluginMetricsBucket

# Upper bounds in milliseconds; one more bucket past the last holds everything slower (+Inf).
LATENCY_BUCKET_BOUNDS_MS: tuple[float, ...] = (
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000,
)  # fmt: skip
BUCKETS = len(LATENCY_BUCKET_BOUNDS_MS) + 1

# Refused inputs never reach the plugin (or bounce off it at once): counting them in latency
# would flatter a plugin that is sent garbage.
LATENCY_OUTCOMES = (Outcome.SUCCESS, Outcome.PLUGIN_FAULT)


def latency_bucket_index(elapsed_ms: float) -> int:
    """The first bucket whose bound is at least the duration; ``BUCKETS - 1`` is +Inf."""
    return bisect.bisect_left(LATENCY_BUCKET_BOUNDS_MS, elapsed_ms)


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def percentile_ms(counts: Sequence[int], q: float) -> float | None:
    """The ``q`` quantile (0..1) of a histogram of per-bucket counts; None when it is empty."""
    total = sum(counts)
    if not total:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            if index >= len(LATENCY_BUCKET_BOUNDS_MS):
                return float(LATENCY_BUCKET_BOUNDS_MS[-1])
            lower = LATENCY_BUCKET_BOUNDS_MS[index - 1] if index else 0.0
            upper = LATENCY_BUCKET_BOUNDS_MS[index]
            return lower + (upper - lower) * (rank - seen) / count
        seen += count
    return float(LATENCY_BUCKET_BOUNDS_MS[-1])  # pragma: no cover - rank <= total always stops


@dataclass(frozen=True)
class LatencySummary:
    count: int
    p50: float | None
    p95: float | None
    p99: float | None

    @classmethod
    def of(cls, counts: Sequence[int]) -> LatencySummary:
        return cls(
            count=sum(counts),
            p50=percentile_ms(counts, 0.50),
            p95=percentile_ms(counts, 0.95),
            p99=percentile_ms(counts, 0.99),
        )


@dataclass(frozen=True)
class HourPoint:
    hour: datetime
    success: int
    plugin_fault: int
    input_refused: int
    p50: float | None
    p95: float | None


@dataclass
class Histogram:
    """Cumulative counts per bound, +Inf last, as Prometheus exposes them."""

    bucket_counts: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    sum_ms: float = 0.0

    @property
    def count(self) -> int:
        return self.bucket_counts[-1]


def _counts(rows: Iterable[tuple[int, int]]) -> list[int]:
    counts = [0] * BUCKETS
    for bucket, count in rows:
        counts[bucket] += count
    return counts


def latency_summary(
    *, since: datetime, plugin_names: Iterable[str] | None = None
) -> dict[str, LatencySummary]:
    """p50/p95/p99 per plugin over the hours from ``since``'s on, in one query."""
    buckets = PluginMetricsBucket.objects.filter(
        hour__gte=hour_of(since), outcome__in=LATENCY_OUTCOMES
    )
    if plugin_names is not None:
        buckets = buckets.filter(plugin_name__in=list(plugin_names))
    by_plugin: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for name, bucket, count in buckets.values_list("plugin_name", "latency_bucket").annotate(
        executions=Sum("count")
    ):
        by_plugin[name].append((bucket, count))
    return {name: LatencySummary.of(_counts(rows)) for name, rows in by_plugin.items()}


def overall_latency_summary(*, since: datetime) -> LatencySummary:
    """p50/p95/p99 of every plugin's executions together, from ``since``'s hour on: the
    histograms summed bucket by bucket (percentiles of the plugins' percentiles would be wrong)."""
    rows = (
        PluginMetricsBucket.objects.filter(hour__gte=hour_of(since), outcome__in=LATENCY_OUTCOMES)
        .values_list("latency_bucket")
        .annotate(executions=Sum("count"))
    )
    return LatencySummary.of(_counts(rows))


def hourly_series(
    *, plugin_name: str, since: datetime, until: datetime | None = None
) -> list[HourPoint]:
    """One point per hour from ``since``'s hour to ``until``'s (now), zeros where nothing ran."""
    first, last = hour_of(since), hour_of(until or timezone.now())
    outcomes: dict[datetime, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    latency: dict[datetime, list[tuple[int, int]]] = defaultdict(list)
    rows = (
        PluginMetricsBucket.objects.filter(plugin_name=plugin_name, hour__gte=first, hour__lte=last)
        .values_list("hour", "outcome", "latency_bucket")
        .annotate(executions=Sum("count"))
    )
    for hour, outcome, bucket, count in rows:
        outcomes[hour][outcome] += count
        if outcome in LATENCY_OUTCOMES:
            latency[hour].append((bucket, count))
    points = []
    hour = first
    while hour <= last:
        counts = _counts(latency.get(hour, ()))
        points.append(
            HourPoint(
                hour=hour,
                success=outcomes[hour][Outcome.SUCCESS],
                plugin_fault=outcomes[hour][Outcome.PLUGIN_FAULT],
                input_refused=outcomes[hour][Outcome.INPUT_REFUSED],
                p50=percentile_ms(counts, 0.50),
                p95=percentile_ms(counts, 0.95),
            )
        )
        hour += timedelta(hours=1)
    return points


def histograms() -> dict[tuple[str, str], Histogram]:
    """All-time latency histograms by (plugin, outcome), cumulative, for Prometheus."""
    found: dict[tuple[str, str], Histogram] = defaultdict(Histogram)
    rows = PluginMetricsBucket.objects.values_list(
        "plugin_name", "outcome", "latency_bucket"
    ).annotate(executions=Sum("count"), duration_ms=Sum("total_ms"))
    for name, outcome, bucket, count, total_ms in rows:
        histogram = found[(name, outcome)]
        for index in range(bucket, BUCKETS):
            histogram.bucket_counts[index] += count
        histogram.sum_ms += total_ms
    return dict(found)


def error_counts() -> dict[tuple[str, str], int]:
    """All-time failures by (plugin, error code)."""
    rows = (
        PluginMetricsBucket.objects.exclude(error_code="")
        .values_list("plugin_name", "error_code")
        .annotate(executions=Sum("count"))
    )
    return {(name, code): count for name, code, count in rows}


def outcome_totals(*, since: datetime) -> dict[str, int]:
    """Executions of every plugin by outcome, over the hours from ``since``'s on."""
    totals = dict.fromkeys(Outcome.values, 0)
    rows = (
        PluginMetricsBucket.objects.filter(hour__gte=hour_of(since))
        .values_list("outcome")
        .annotate(executions=Sum("count"))
    )
    for outcome, count in rows:
        totals[outcome] = count
    return totals
