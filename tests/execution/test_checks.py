from __future__ import annotations

from typing import Any

import pytest

from execution.checks import check_worker_settings


def ids(settings: Any) -> list[str]:
    return [message.id for message in check_worker_settings()]


def test_the_shipped_settings_pass(settings: Any) -> None:
    assert ids(settings) == []


@pytest.mark.parametrize(
    ("cluster", "lost_after", "expected"),
    [
        ({"timeout": 200, "retry": 180, "max_attempts": 2}, 300, ["execution.E001"]),
        ({"timeout": 60, "retry": 90, "max_attempts": 0}, 300, ["execution.E002"]),
        ({"timeout": 60, "retry": 90, "max_attempts": 2}, 60, ["execution.E003"]),
        ({"retry": 90, "max_attempts": 2}, 300, ["execution.E001"]),
    ],
)
def test_unsafe_worker_settings_are_errors(
    settings: Any, cluster: dict, lost_after: int, expected: list[str]
) -> None:
    settings.Q_CLUSTER = cluster
    settings.EXECUTION = {**settings.EXECUTION, "LOST_JOB_AFTER_SECONDS": lost_after}
    assert ids(settings) == expected


def test_a_scaled_set_up_is_warned_that_job_images_must_be_shared(settings: Any) -> None:
    from execution.checks import check_shared_job_storage

    settings.REDIS_URL = ""
    assert check_shared_job_storage() == []
    settings.REDIS_URL = "redis://queue.internal:6379/0"
    assert [message.id for message in check_shared_job_storage()] == ["execution.W001"]


def hosting_ids() -> list[str]:
    from execution.checks import check_plugin_hosting

    return [message.id for message in check_plugin_hosting()]


def test_the_shipped_plugin_hosting_passes() -> None:
    assert hosting_ids() == []


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("Q_CLUSTER", {"timeout": 30, "retry": 60, "max_attempts": 2, "daemonize_workers": False}),
        ("LOST_JOB_AFTER_SECONDS", 30),
        ("WEB_TIMEOUT_SECONDS", 25),
    ],
)
def test_a_plugin_timeout_not_below_what_waits_for_it_is_an_error(
    settings: Any, setting: str, value: Any
) -> None:
    """The default plugin timeout is 30 s: each ceiling at (or under) it is refused."""
    if setting == "Q_CLUSTER":
        settings.Q_CLUSTER = value
    else:
        settings.EXECUTION = {**settings.EXECUTION, setting: value}

    assert hosting_ids() == ["execution.E005"]


def test_a_per_plugin_timeout_is_checked_too(settings: Any) -> None:
    settings.EXECUTION = {
        **settings.EXECUTION,
        "PLUGIN_HOSTING": {"ocr": {"timeout_seconds": 500}},
    }

    # Above Q_CLUSTER's timeout, the lost-job horizon and the web timeout alike.
    assert hosting_ids() == ["execution.E005"] * 3


@pytest.mark.parametrize(
    "entry",
    [{"isolation": "thread"}, {"timeout": 10}, "inline"],
)
def test_malformed_plugin_hosting_is_an_error(settings: Any, entry: Any) -> None:
    settings.EXECUTION = {**settings.EXECUTION, "PLUGIN_HOSTING": {"ocr": entry}}

    assert hosting_ids() == ["execution.E004"]


def test_daemonic_workers_cannot_host_plugin_processes(settings: Any) -> None:
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "daemonize_workers": True}

    assert hosting_ids() == ["execution.E006"]
    settings.EXECUTION = {
        **settings.EXECUTION,
        "PLUGIN_HOSTING_DEFAULTS": {
            **settings.EXECUTION["PLUGIN_HOSTING_DEFAULTS"],
            "isolation": "inline",
        },
        "PLUGIN_HOSTING": {},
    }
    assert hosting_ids() == []
