"""The operator's view: plugin rows with state, reason and metrics, and the disable action."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from registry.admin import PluginRegistryAdmin
from registry.models import PluginRegistry, PluginState

pytestmark = pytest.mark.usefixtures("synced_registry")

CHANGELIST = "/admin/registry/pluginregistry/"


def test_changelist_shows_states_counts_and_averages_in_a_fixed_number_of_queries(
    ops_client: Client,
) -> None:
    PluginRegistry.objects.filter(name="qr-code").update(
        success_count=3,
        plugin_fault_count=1,
        total_execution_time_ms=40.0,
        state=PluginState.FAILED,
    )

    with CaptureQueriesContext(connection) as queries:
        response = ops_client.get(CHANGELIST)
    html = response.content.decode()

    assert response.status_code == 200
    assert "qr-code" in html
    assert ">10.0<" in html  # 40 ms over 4 executions, from the annotated queryset
    assert "FAILED" in html
    # Sessions, user, counts and the page: the same whatever the number of plugins.
    fixed = len(queries)
    PluginRegistry.objects.create(name="another-plugin")
    with CaptureQueriesContext(connection) as more_queries:
        ops_client.get(CHANGELIST)
    assert len(more_queries) == fixed


def test_metrics_are_read_only_and_rows_cannot_be_added(ops_client: Client) -> None:
    plugin = PluginRegistry.objects.get(name="ocr")

    response = ops_client.get(f"{CHANGELIST}{plugin.pk}/change/")

    assert response.status_code == 200
    assert 'name="success_count"' not in response.content.decode()
    assert ops_client.get(f"{CHANGELIST}add/").status_code == 403


def test_disable_and_enable_actions(ops_client: Client) -> None:
    plugin = PluginRegistry.objects.get(name="ocr")

    ops_client.post(CHANGELIST, {"action": "disable_plugins", "_selected_action": [plugin.pk]})
    plugin.refresh_from_db()
    assert (plugin.state, plugin.reason, plugin.disabled) == (
        PluginState.UNAVAILABLE,
        "disabled by an operator (ops)",
        True,
    )

    ops_client.post(CHANGELIST, {"action": "enable_plugins", "_selected_action": [plugin.pk]})
    plugin.refresh_from_db()
    assert (plugin.state, plugin.disabled) == (PluginState.LOADED, False)


@pytest.mark.parametrize(("average", "shown"), [(None, "—"), (12.345, "12.3")])
def test_average_column(average: Any, shown: str) -> None:
    plugin = PluginRegistry(name="x")
    plugin.avg_execution_time_ms = average  # type: ignore[attr-defined]
    assert PluginRegistryAdmin.average_ms(None, plugin) == shown  # type: ignore[arg-type]
