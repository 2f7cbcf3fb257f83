"""The plugin instances of this process, discovered once and kept for its lifetime.

Plugins load models in ``setup()`` (a cascade, a language pack); doing that per request would
cost more than the analysis. Which plugins may run is still decided by the registry rows.
"""

from __future__ import annotations

import functools

from execution.conf import execution_settings
from plugins.discovery import Discovery, discover_plugins


@functools.cache
def plugin_catalog() -> Discovery:
    return discover_plugins(
        execution_settings.PLUGINS,
        entry_point_group=execution_settings.PLUGIN_ENTRY_POINT_GROUP,
    )
