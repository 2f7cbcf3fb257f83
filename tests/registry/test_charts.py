"""The plugin page's SVG charts, drawn from hourly points."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from registry.charts import PLOT_H, _nice_ceiling, executions_chart, latency_chart
from registry.metrics import HourPoint

START = datetime(2026, 1, 1, tzinfo=UTC)


def hours(*points: tuple[int, int, int, float | None, float | None]) -> list[HourPoint]:
    return [
        HourPoint(START + timedelta(hours=n), s, f, r, p50, p95)
        for n, (s, f, r, p50, p95) in enumerate(points)
    ]


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (240, 250), (2600, 5000)]
)
def test_axis_ceiling_is_a_round_number(value: float, ceiling: float) -> None:
    assert _nice_ceiling(value) == ceiling


def test_executions_are_stacked_bars_scaled_to_the_busiest_hour() -> None:
    svg = executions_chart(
        hours((6, 3, 1, None, None), (0, 0, 0, None, None), (2, 0, 0, None, None))
    )

    bars = re.findall(
        r'<rect class="bar (\w+)" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)">', svg
    )
    assert [css for css, _ in bars] == ["success", "plugin_fault", "input_refused", "success"]
    heights = [float(h) for _, h in bars]
    assert sum(heights[:3]) == pytest.approx(PLOT_H)  # 10 of a 10 ceiling: the full height
    assert heights[3] == pytest.approx(PLOT_H * 2 / 10, abs=0.1)
    assert "00:00 UTC: 6 successes, 3 plugin faults, 1 refused" in svg


def test_latency_lines_break_where_an_hour_had_no_execution() -> None:
    svg = latency_chart(
        hours(
            (1, 0, 0, 10.0, 20.0),
            (1, 0, 0, 12.0, 40.0),
            (0, 0, 0, None, None),
            (1, 0, 0, 8.0, 16.0),
        )
    )

    assert len(re.findall(r'<polyline class="line p95"', svg)) == 1  # the last hour stands alone
    assert len(re.findall(r'<circle class="point p95"', svg)) == 3
    assert ">50.0 ms</text>" in svg  # the axis tops at a round value above 40 ms
