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
