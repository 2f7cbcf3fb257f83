"""A plugin called the way only the plugin tests call one: directly, outside the ToolRunner.

The benchmark's "bare call" baseline (benchmarks/bench_execution.py) is this, so that what it
measures is exactly a plugin's own cost; the governance scanner holds every other directory to
the ToolRunner.
"""

from __future__ import annotations

from typing import Any

from plugins.base import AnalysisPlugin


def bare_run(plugin: AnalysisPlugin, payload: dict[str, Any]) -> dict[str, Any]:
    return plugin.run(payload)
