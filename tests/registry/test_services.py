from __future__ import annotations

import pytest

from plugins.builtin.metadata import ImageMetadataPlugin
from plugins.discovery import Discovery, UnavailablePlugin
from registry import services
from registry.models import Outcome, PluginRegistry, PluginState

pytestmark = pytest.mark.django_db


def discovery(*, available: bool = True, reason: str = "pytesseract is not installed") -> Discovery:
    found = Discovery()
    if available:
        found.available["image-metadata"] = ImageMetadataPlugin()
    else:
        found.unavailable["image-metadata"] = UnavailablePlugin(
            "image-metadata", reason, "settings: plugins.builtin.metadata.ImageMetadataPlugin"
        )
    return found


def test_sync_creates_rows_with_schemas_and_loaded_state() -> None:
    report = services.registry_sync(discovery=discovery())

    assert report.created == ["image-metadata"]
    row = PluginRegistry.objects.get(name="image-metadata")
    assert (row.state, row.reason) == (PluginState.LOADED, "discovered and set up")
    assert row.version == ImageMetadataPlugin.version
    assert row.options_schema == ImageMetadataPlugin.options_schema
    assert row.source == "plugins.builtin.metadata.ImageMetadataPlugin"


def test_sync_keeps_metrics_and_the_state_earned_by_runs() -> None:
    services.registry_sync(discovery=discovery())
    services.update_execution_metrics(
        plugin_name="image-metadata",
        outcome=Outcome.PLUGIN_FAULT,
        state=PluginState.FAILED,
        elapsed_ms=5.0,
        reason="last execution failed: PLUGIN_FAILED",
        error_code="PLUGIN_FAILED",
    )

    report = services.registry_sync(discovery=discovery())

    row = PluginRegistry.objects.get(name="image-metadata")
    assert report.updated == ["image-metadata"]
    assert (row.state, row.error_count, row.total_execution_time_ms) == (PluginState.FAILED, 1, 5.0)


def test_a_missing_dependency_makes_the_row_unavailable_and_its_return_loaded() -> None:
    services.registry_sync(discovery=discovery(available=False))
    row = PluginRegistry.objects.get(name="image-metadata")
    assert (row.state, row.reason) == (PluginState.UNAVAILABLE, "pytesseract is not installed")

    services.registry_sync(discovery=discovery())
    assert PluginRegistry.objects.get(name="image-metadata").state == PluginState.LOADED


def test_a_plugin_that_disappeared_keeps_its_history_but_cannot_run() -> None:
    services.registry_sync(discovery=discovery())

    report = services.registry_sync(discovery=Discovery())

    row = PluginRegistry.objects.get(name="image-metadata")
    assert report.unavailable == ["image-metadata"]
    assert (row.state, row.reason) == (PluginState.UNAVAILABLE, services.NOT_DISCOVERED_REASON)


def test_an_operator_disable_survives_sync_until_enabled() -> None:
    services.registry_sync(discovery=discovery())
    row = PluginRegistry.objects.get(name="image-metadata")

    services.plugin_disable(plugin=row, by="ops", reason="maintenance")
    services.registry_sync(discovery=discovery())
    row.refresh_from_db()
    assert (row.state, row.reason, row.disabled) == (
        PluginState.UNAVAILABLE,
        "disabled by an operator (ops: maintenance)",
        True,
    )

    services.plugin_enable(plugin=row)
    row.refresh_from_db()
    assert (row.state, row.disabled) == (PluginState.LOADED, False)


def test_metrics_sum_and_average() -> None:
    services.registry_sync(discovery=discovery())
    for elapsed, outcome in (
        (10.0, Outcome.SUCCESS),
        (20.0, Outcome.INPUT_REFUSED),
        (30.0, Outcome.SUCCESS),
        (40.0, Outcome.PLUGIN_FAULT),
    ):
        services.update_execution_metrics(
            plugin_name="image-metadata",
            outcome=outcome,
            state=PluginState.INITIALIZED,
            elapsed_ms=elapsed,
        )

    row = PluginRegistry.objects.with_average().get(name="image-metadata")
    assert (row.success_count, row.plugin_fault_count, row.input_refused_count) == (2, 1, 1)
    assert row.error_count == 2
    assert row.last_execution_time_ms == 40.0
    assert row.avg_execution_time_ms == pytest.approx(25.0)


def test_metrics_sum_and_average_of_three() -> None:
    services.registry_sync(discovery=discovery())
    for elapsed in (10.0, 20.0, 30.0):
        services.update_execution_metrics(
            plugin_name="image-metadata",
            outcome=Outcome.SUCCESS,
            state=PluginState.INITIALIZED,
            elapsed_ms=elapsed,
        )

    row = PluginRegistry.objects.with_average().get(name="image-metadata")
    assert row.last_execution_time_ms == 30.0
    assert row.avg_execution_time_ms == pytest.approx(20.0)


def test_metrics_without_a_state_leave_state_and_reason() -> None:
    services.registry_sync(discovery=discovery())

    services.update_execution_metrics(
        plugin_name="image-metadata",
        outcome=Outcome.INPUT_REFUSED,
        state=None,
        elapsed_ms=1.0,
        error_code="IMAGE_NOT_BASE64",
    )

    row = PluginRegistry.objects.get(name="image-metadata")
    assert (row.state, row.reason, row.error_count) == (
        PluginState.LOADED,
        "discovered and set up",
        1,
    )


def test_the_database_refuses_a_state_outside_the_five() -> None:
    from django.db import IntegrityError

    services.registry_sync(discovery=discovery())
    with pytest.raises(IntegrityError):
        PluginRegistry.objects.filter(name="image-metadata").update(state="SUCCESS")
