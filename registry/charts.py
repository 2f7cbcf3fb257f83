"""The plugin page's two charts, drawn here as inline SVG from the hourly buckets.

Server-side SVG needs no script, no charting library and no request beyond the page itself;
each bar and point carries a ``<title>`` with its figures, which the browser shows on hover.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from registry.display import format_duration_ms
from registry.metrics import HourPoint

WIDTH, HEIGHT = 600, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 28, 26
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
# Stacked from the bottom: successes, then the plugin's faults, then refused inputs.
OUTCOMES = (
    ("success", "successes"),
    ("plugin_fault", "plugin faults"),
    ("input_refused", "refused"),
)
LINES = (("p50", "p50"), ("p95", "p95"))
HOUR_LABEL_EVERY = 6


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times 10^n at or above ``value`` (at least 1): round axis ticks."""
    value = max(value, 1.0)
    scale = 1.0
    while scale * 10 < value:
        scale *= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * scale >= value:
            return step * scale
    return 10 * scale  # pragma: no cover - the loop always returns


def _slot(points: Sequence[HourPoint]) -> float:
    """The width of one hour on the x axis."""
    return PLOT_W / max(len(points), 1)


def _chart(
    *,
    css: str,
    label: str,
    ticks: Sequence[str],
    points: Sequence[HourPoint],
    body: Sequence[str],
    legend: Sequence[tuple[str, str]],
) -> SafeString:
    """The SVG around a chart's ``body``: grid, axis labels, legend."""
    parts = [*_frame(css=css, label=label, ticks=ticks, points=points), *body, _legend(legend)]
    return mark_safe("".join([*parts, "</svg>"]))  # every value in it is a number or escaped


def _frame(*, css: str, label: str, ticks: Sequence[str], points: Sequence[HourPoint]) -> list[str]:
    """The SVG's opening tag, horizontal grid with its labels, and the hour labels below."""
    parts = [
        f'<svg class="chart {css}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>'
    ]
    for index, tick in enumerate(ticks):
        y = TOP + PLOT_H - PLOT_H * index / (len(ticks) - 1)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">{escape(tick)}</text>'
        )
    slot = _slot(points)
    for index, point in enumerate(points):
        if index % HOUR_LABEL_EVERY == 0:
            x = LEFT + slot * (index + 0.5)
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{point.hour:%H:00}</text>'
            )
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{TOP + PLOT_H}" y2="{TOP + PLOT_H}"/>'
    )
    return parts


def _legend(entries: Sequence[tuple[str, str]]) -> str:
    parts = []
    for index, (css, text) in enumerate(entries):
        x = LEFT + 110 * index
        parts.append(
            f'<rect class="{css} legend-{css}" x="{x}" y="8" width="10" height="10"/>'
            f'<text x="{x + 14}" y="17">{escape(text)}</text>'
        )
    return "".join(parts)


def executions_chart(points: Sequence[HourPoint]) -> SafeString:
    """Executions per hour, stacked by outcome."""
    totals = [p.success + p.plugin_fault + p.input_refused for p in points]
    ceiling = _nice_ceiling(max(totals, default=0))
    slot = _slot(points)
    parts: list[str] = []
    for index, point in enumerate(points):
        base = TOP + PLOT_H
        tip = (
            f"{point.hour:%H:00} UTC: {point.success} successes, "
            f"{point.plugin_fault} plugin faults, {point.input_refused} refused"
        )
        for css, _ in OUTCOMES:
            count = getattr(point, css)
            if not count:
                continue
            height = PLOT_H * count / ceiling
            base -= height
            parts.append(
                f'<rect class="bar {css}" x="{LEFT + slot * index + 1:.1f}" y="{base:.1f}" '
                f'width="{max(slot - 2, 1):.1f}" height="{height:.1f}"><title>{escape(tip)}</title></rect>'
            )
    return _chart(
        css="chart-executions",
        label="Executions per hour by outcome, last 24 hours",
        ticks=[f"{ceiling * share:g}" for share in (0, 0.5, 1)],
        points=points,
        body=parts,
        legend=OUTCOMES,
    )


def latency_chart(points: Sequence[HourPoint]) -> SafeString:
    """p50 and p95 latency per hour, as lines broken where an hour had no execution."""
    values = [v for p in points for v in (p.p50, p.p95) if v is not None]
    ceiling = _nice_ceiling(max(values, default=0))
    slot = _slot(points)
    parts: list[str] = []
    for css, _ in LINES:
        segment: list[str] = []
        segments: list[list[str]] = [segment]
        for index, point in enumerate(points):
            value = getattr(point, css)
            if value is None:
                segment = []
                segments.append(segment)
                continue
            x = LEFT + slot * (index + 0.5)
            y = TOP + PLOT_H - PLOT_H * value / ceiling
            segment.append(f"{x:.1f},{y:.1f}")
            tip = f"{point.hour:%H:00} UTC: {css} {format_duration_ms(value)}"
            parts.append(
                f'<circle class="point {css}" cx="{x:.1f}" cy="{y:.1f}" r="2.5">'
                f"<title>{escape(tip)}</title></circle>"
            )
        parts.extend(
            f'<polyline class="line {css}" points="{" ".join(seg)}"/>'
            for seg in segments
            if len(seg) > 1
        )
    return _chart(
        css="chart-latency",
        label="p50 and p95 latency per hour, last 24 hours",
        ticks=[format_duration_ms(ceiling * share) for share in (0, 0.5, 1)],
        points=points,
        body=parts,
        legend=LINES,
    )


def chart_pair(points: Sequence[HourPoint]) -> SafeString:
    return format_html(
        '<div class="charts">{}{}</div>', executions_chart(points), latency_chart(points)
    )
