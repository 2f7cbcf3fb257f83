"""The circuit breaker's moves in the registry row: open, refuse, one trial, close or reopen.

The chain that feeds it (real crashing plugins through the API) is tested with the plugin host;
these pin the row's transitions, which every process reads.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from plugins.builtin.metadata import ImageMetadataPlugin
from plugins.discovery import Discovery
from registry import services
from registry.models import Outcome, PluginRegistry, PluginState

pytestmark = pytest.mark.django_db

NAME = "image-metadata"


@pytest.fixture
def plugin() -> PluginRegistry:
    found = Discovery()
    found.available[NAME] = ImageMetadataPlugin()
    services.registry_sync(discovery=found)
    return PluginRegistry.objects.get(name=NAME)


def crash(code: str = "PLUGIN_CRASHED") -> None:
    services.update_execution_metrics(
        plugin_name=NAME,
        outcome=Outcome.PLUGIN_FAULT,
        elapsed_ms=3.0,
        state=PluginState.FAILED,
        reason=f"last execution failed: {code}",
        error_code=code,
        circuit_failure=True,
        circuit_threshold=3,
        circuit_cooldown_seconds=60,
    )


def succeed() -> None:
    services.update_execution_metrics(
        plugin_name=NAME,
        outcome=Outcome.SUCCESS,
        elapsed_ms=3.0,
        state=PluginState.INITIALIZED,
        reason="last execution succeeded",
    )


def fail_plainly() -> None:
    services.update_execution_metrics(
        plugin_name=NAME,
        outcome=Outcome.PLUGIN_FAULT,
        elapsed_ms=3.0,
        state=PluginState.FAILED,
        reason="last execution failed: PLUGIN_FAILED",
        error_code="PLUGIN_FAILED",
    )


def row() -> PluginRegistry:
    return PluginRegistry.objects.get(name=NAME)


def cool_down() -> None:
    PluginRegistry.objects.filter(name=NAME).update(
        circuit_open_until=timezone.now() - timedelta(seconds=1)
    )


def claim_the_trial() -> None:
    """Open the circuit (three crashes), let its cooldown pass, and claim its one trial run."""
    for _ in range(3):
        crash()
    cool_down()
    assert services.plugin_claim_circuit_trial(plugin_name=NAME, cooldown_seconds=60)


def test_three_crashes_in_a_row_open_the_circuit(plugin: PluginRegistry) -> None:
    crash()
    crash()
    assert (row().state, row().consecutive_failures, row().circuit_open_until) == (
        PluginState.FAILED,
        2,
        None,
    )

    before = timezone.now()
    crash()

    opened = row()
    assert (opened.state, opened.reason) == (
        PluginState.UNAVAILABLE,
        "circuit open after 3 crashes: PLUGIN_CRASHED",
    )
    assert opened.circuit_open_until is not None
    assert before + timedelta(seconds=59) < opened.circuit_open_until
    assert opened.circuit_open_until < timezone.now() + timedelta(seconds=61)


def test_a_success_or_a_plain_failure_ends_the_streak(plugin: PluginRegistry) -> None:
    crash()
    crash()
    succeed()
    crash()
    crash()
    fail_plainly()
    crash()
    crash()

    assert (row().state, row().consecutive_failures) == (PluginState.FAILED, 2)


def test_no_trial_before_the_cooldown_and_only_one_after_it(plugin: PluginRegistry) -> None:
    for _ in range(3):
        crash("PLUGIN_TIMEOUT")
    assert not services.plugin_claim_circuit_trial(plugin_name=NAME, cooldown_seconds=60)

    cool_down()

    assert services.plugin_claim_circuit_trial(plugin_name=NAME, cooldown_seconds=60)
    assert not services.plugin_claim_circuit_trial(plugin_name=NAME, cooldown_seconds=60)
    assert row().state == PluginState.UNAVAILABLE


def test_a_successful_trial_closes_the_circuit(plugin: PluginRegistry) -> None:
    claim_the_trial()

    succeed()

    closed = row()
    assert (closed.state, closed.circuit_open_until, closed.consecutive_failures) == (
        PluginState.INITIALIZED,
        None,
        0,
    )


@pytest.mark.parametrize("trial_failure", [crash, fail_plainly])
def test_a_failed_trial_opens_the_circuit_again(plugin: PluginRegistry, trial_failure) -> None:  # type: ignore[no-untyped-def]
    claim_the_trial()

    trial_failure()

    reopened = row()
    assert reopened.state == PluginState.UNAVAILABLE
    assert reopened.reason.startswith("circuit open again: the trial run failed with PLUGIN_")
    assert reopened.circuit_open_until is not None
    assert reopened.circuit_open_until > timezone.now() + timedelta(seconds=50)


def test_an_operator_disable_is_never_overwritten_by_the_breaker(plugin: PluginRegistry) -> None:
    services.plugin_disable(plugin=plugin, by="ops", reason="maintenance")
    for _ in range(3):
        crash()
    succeed()

    disabled = row()
    assert (disabled.state, disabled.reason, disabled.circuit_open_until) == (
        PluginState.UNAVAILABLE,
        "disabled by an operator (ops: maintenance)",
        None,
    )
    assert not services.plugin_claim_circuit_trial(plugin_name=NAME, cooldown_seconds=0)


def test_disabling_an_open_circuit_holds_it_and_enabling_clears_it(plugin: PluginRegistry) -> None:
    for _ in range(3):
        crash()
    services.plugin_disable(plugin=row(), by="ops", reason="maintenance")
    cool_down()
    assert not services.plugin_claim_circuit_trial(plugin_name=NAME, cooldown_seconds=60)

    services.plugin_enable(plugin=row())

    enabled = row()
    assert (enabled.state, enabled.circuit_open_until, enabled.consecutive_failures) == (
        PluginState.LOADED,
        None,
        0,
    )


def test_a_missing_dependency_is_not_lifted_by_a_run(plugin: PluginRegistry) -> None:
    services.plugin_mark_unavailable(plugin_name=NAME, reason="pytesseract is not installed")

    succeed()

    assert (row().state, row().reason) == (PluginState.UNAVAILABLE, "pytesseract is not installed")


def test_a_sync_leaves_an_open_circuit_open(plugin: PluginRegistry) -> None:
    for _ in range(3):
        crash()
    found = Discovery()
    found.available[NAME] = ImageMetadataPlugin()

    services.registry_sync(discovery=found)

    assert row().state == PluginState.UNAVAILABLE
    assert row().circuit_open_until is not None
