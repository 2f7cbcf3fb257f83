"""How registry and job figures read to operators, the same in the admin and on the command line."""

from __future__ import annotations

import json
from datetime import datetime

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince

# Badge colours by value: green is healthy or done, amber needs a look, red is broken.
TONES = {
    "LOADED": "ok",
    "INITIALIZED": "ok",
    "SUCCESS": "ok",
    "RUNNING": "busy",
    "PENDING": "wait",
    "CANCELLED": "wait",
    "FAILED": "bad",
    "UNAVAILABLE": "bad",
}


def format_ms(value: float | None) -> str:
    """Milliseconds to one decimal, a dash for never."""
    return "—" if value is None else f"{value:.1f}"


def format_duration_ms(value: float | None) -> str:
    """A duration with its unit: milliseconds to one decimal, seconds from a minute up."""
    if value is None:
        return "—"
    if value >= 60_000:
        return f"{value / 1000:,.1f} s"
    return f"{value:,.1f} ms"


def format_percent(part: float, whole: float) -> str:
    """A share as a percentage to one decimal; a dash when there is nothing to divide."""
    return "—" if not whole else f"{100 * part / whole:.1f} %"


def format_bytes(size: int | None) -> str:
    if size is None:
        return "—"
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def format_ago(moment: datetime | None, *, now: datetime | None = None) -> str:
    """A past moment as "3 minutes ago" (the largest unit only); a dash for never."""
    if moment is None:
        return "—"
    now = now or timezone.now()
    if (now - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago"


def badge(value: str, *, title: str = "") -> SafeString:
    """A coloured label for a state or a status; ``title`` is shown on hover."""
    tone = TONES.get(value, "wait")
    return format_html('<span class="badge badge-{}" title="{}">{}</span>', tone, title, value)


def pretty_json(value: object) -> SafeString:
    """A JSON value indented for reading, escaped; a dash for none."""
    if value is None:
        return mark_safe("—")
    return format_html('<pre class="json">{}</pre>', json.dumps(value, indent=2, sort_keys=True))
