"""The hourly buckets and what is read from them: percentiles, series and totals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from plugins.builtin.metadata import ImageMetadataPlugin
from plugins.discovery import Discovery
from registry import metrics, services
from registry.models import Outcome, PluginMetricsBucket, PluginRegistry, PluginState

pytestmark = pytest.mark.django_db


@pytest.fixture
def plugin() -> PluginRegistry:
    found = Discovery()
    found.available["image-metadata"] = ImageMetadataPlugin()
    services.registry_sync(discovery=found)
    return PluginRegistry.objects.get(name="image-metadata")


def record(outcome: Outcome, elapsed_ms: float, code: str = "") -> None:
    services.update_execution_metrics(
        plugin_name="image-metadata",
        outcome=outcome,
        elapsed_ms=elapsed_ms,
        state=None,
        error_code=code,
    )


@pytest.mark.parametrize(
    ("elapsed_ms", "bucket"),
    [(0.0, 0), (5.0, 0), (5.01, 1), (10.0, 1), (119_999.0, 13), (120_000.0, 13), (1e9, 14)],
)
def test_a_duration_falls_in_the_first_bucket_whose_bound_holds_it(
    elapsed_ms: float, bucket: int
) -> None:
    assert metrics.latency_bucket_index(elapsed_ms) == bucket


def test_percentiles_interpolate_inside_the_bucket() -> None:
    counts = [0] * metrics.BUCKETS
    counts[1] = 50  # 5..10 ms
    counts[2] = 50  # 10..25 ms

    assert metrics.percentile_ms(counts, 0.5) == pytest.approx(10.0)
    assert metrics.percentile_ms(counts, 0.75) == pytest.approx(17.5)
    assert metrics.percentile_ms(counts, 0.25) == pytest.approx(7.5)
    assert metrics.percentile_ms([0] * metrics.BUCKETS, 0.5) is None


def test_a_percentile_past_the_last_bound_is_that_bound() -> None:
    counts = [0] * metrics.BUCKETS
    counts[-1] = 3
    assert metrics.percentile_ms(counts, 0.99) == metrics.LATENCY_BUCKET_BOUNDS_MS[-1]


def test_one_execution_is_one_bucket_row_and_repeats_add_up(plugin: PluginRegistry) -> None:
    record(Outcome.SUCCESS, 7.0)
    record(Outcome.SUCCESS, 8.0)
    record(Outcome.PLUGIN_FAULT, 300.0, "PLUGIN_FAILED")

    rows = PluginMetricsBucket.objects.order_by("outcome")
    assert [(row.outcome, row.error_code, row.latency_bucket, row.count) for row in rows] == [
        (Outcome.PLUGIN_FAULT, "PLUGIN_FAILED", 6, 1),
        (Outcome.SUCCESS, "", 1, 2),
    ]
    success = rows.get(outcome=Outcome.SUCCESS)
    assert success.total_ms == pytest.approx(15.0)
    assert success.hour == timezone.now().replace(minute=0, second=0, microsecond=0)


def test_latency_summary_leaves_refused_inputs_out(plugin: PluginRegistry) -> None:
    for _ in range(19):
        record(Outcome.SUCCESS, 7.0)
    record(Outcome.PLUGIN_FAULT, 400.0, "PLUGIN_FAILED")
    for _ in range(100):
        record(Outcome.INPUT_REFUSED, 0.1, "IMAGE_NOT_BASE64")

    summary = metrics.latency_summary(since=timezone.now() - timedelta(hours=24))

    assert summary["image-metadata"].count == 20
    assert 5.0 < summary["image-metadata"].p50 <= 10.0  # type: ignore[operator]
    assert summary["image-metadata"].p99 == pytest.approx(250 + 250 * 0.8)


def test_the_hourly_series_has_a_point_per_hour_and_old_hours_are_left_out(
    plugin: PluginRegistry,
) -> None:
    record(Outcome.SUCCESS, 7.0)
    record(Outcome.INPUT_REFUSED, 1.0, "IMAGE_NOT_BASE64")
    now = timezone.now()
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    # An execution two days ago, as if recorded then.
    PluginMetricsBucket.objects.create(
        plugin_name="image-metadata",
        hour=this_hour - timedelta(hours=48),
        outcome=Outcome.SUCCESS,
        latency_bucket=3,
        count=5,
        total_ms=200.0,
    )

    series = metrics.hourly_series(plugin_name="image-metadata", since=now - timedelta(hours=23))

    assert len(series) == 24
    assert series[0].hour == this_hour - timedelta(hours=23)
    assert (series[-1].hour, series[-1].success, series[-1].input_refused) == (this_hour, 1, 1)
    assert sum(point.success for point in series) == 1
    assert series[0].p50 is None


def test_all_time_histograms_and_error_counts_for_prometheus(plugin: PluginRegistry) -> None:
    record(Outcome.SUCCESS, 7.0)
    record(Outcome.SUCCESS, 70.0)
    record(Outcome.PLUGIN_FAULT, 40_000.0, "PLUGIN_TIMEOUT")
    record(Outcome.PLUGIN_FAULT, 50_000.0, "PLUGIN_TIMEOUT")
    record(Outcome.INPUT_REFUSED, 1.0, "IMAGE_NOT_BASE64")

    histogram = metrics.histograms()[("image-metadata", Outcome.SUCCESS)]
    assert histogram.bucket_counts[:5] == [0, 1, 1, 1, 2]  # cumulative: <=5, <=10, <=25, ...
    assert (histogram.count, histogram.sum_ms) == (2, pytest.approx(77.0))
    assert metrics.error_counts() == {
        ("image-metadata", "PLUGIN_TIMEOUT"): 2,
        ("image-metadata", "IMAGE_NOT_BASE64"): 1,
    }
    assert metrics.outcome_totals(since=timezone.now() - timedelta(hours=1)) == {
        "success": 2,
        "plugin_fault": 2,
        "input_refused": 1,
    }


def test_a_reset_zeroes_the_figures_and_records_who(plugin: PluginRegistry) -> None:
    record(Outcome.SUCCESS, 7.0)
    record(Outcome.PLUGIN_FAULT, 7.0, "PLUGIN_FAILED")

    services.plugin_reset_metrics(plugin=plugin, by="ops")

    plugin.refresh_from_db()
    assert (plugin.success_count, plugin.error_count, plugin.total_execution_time_ms) == (0, 0, 0)
    assert (plugin.metrics_reset_by, plugin.metrics_reset_at is not None) == ("ops", True)
    assert not PluginMetricsBucket.objects.exists()
    assert plugin.state == PluginState.LOADED


def test_overall_latency_sums_every_plugins_histogram_before_taking_percentiles() -> None:
    since = timezone.now() - timedelta(hours=1)
    for name, elapsed, times in (("fast", 3.0, 90), ("slow", 2000.0, 10)):
        for _ in range(times):
            services.update_execution_metrics(
                plugin_name=name, outcome=Outcome.SUCCESS, elapsed_ms=elapsed, state=None
            )

    summary = metrics.overall_latency_summary(since=since)

    assert summary.count == 100
    assert summary.p50 == pytest.approx(5 * 50 / 90)
    assert summary.p95 == pytest.approx(1750.0)
    assert metrics.overall_latency_summary(since=timezone.now() + timedelta(hours=2)).count == 0
