"""What the benchmarks run: nothing but the cost of the path around it."""

from __future__ import annotations

from typing import Any

from plugins.base import AnalysisPlugin


def noop() -> None:
    """The bare django-q2 task of the async benchmark: nothing but the queue's own cost."""
    return None


class NoopPlugin(AnalysisPlugin):
    """A plugin that does nothing, so a benchmark measures the governed path alone."""

    name = "bench-noop"
    version = "1.0"
    description = "Returns an empty result (benchmarks only)."

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {}
