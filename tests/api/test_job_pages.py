"""The job list's pages: cursors that walk the whole list, page numbers within the count's
reach, a count that stops at its limit and says so. Small limits stand in for the real ones."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from execution.api.pagination import JobPagination
from execution.models import Job, JobMode, JobStatus
from tests.envelopes import assert_envelope

pytestmark = [pytest.mark.django_db, pytest.mark.every_database]

JOBS = "/v1/analyze-execution/jobs"
LIMIT = 6


@pytest.fixture(autouse=True)
def _small_pages(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": 2}
    monkeypatch.setattr(JobPagination, "count_limit", LIMIT)


def make_jobs(user: Any, count: int, **fields: Any) -> list[str]:
    """``count`` jobs a second apart, newest first; their ids in the list's order."""
    now = timezone.now()
    jobs = Job.objects.bulk_create(
        Job(mode=JobMode.SYNC, created_by=user, **{"plugin": "image-metadata", **fields})
        for _ in range(count)
    )
    for age, job in enumerate(jobs):
        Job.objects.filter(pk=job.pk).update(created_at=now - timedelta(seconds=age))
    return [str(job.pk) for job in jobs]


def walk(client: APIClient, url: str, link: str = "next") -> list[dict[str, Any]]:
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json()
        pages.append(response.json())
        url = pages[-1][link]
    return pages


def ids(pages: list[dict[str, Any]]) -> list[str]:
    return [job["job_id"] for page in pages for job in page["results"]]


def test_next_walks_every_job_once_newest_first_with_the_count_stopped_at_its_limit(
    api_client: APIClient, user: Any
) -> None:
    listed = make_jobs(user, 13)

    pages = walk(api_client, JOBS)

    assert ids(pages) == listed
    assert [len(page["results"]) for page in pages] == [2, 2, 2, 2, 2, 2, 1]
    assert {(page["count"], page["count_exact"]) for page in pages} == {(LIMIT, False)}
    assert pages[0]["previous"] is None
    assert all(page["next"].startswith(f"http://testserver{JOBS}?cursor=") for page in pages[:-1])


def test_previous_walks_back_to_the_first_page(api_client: APIClient, user: Any) -> None:
    listed = make_jobs(user, 7)
    last = walk(api_client, JOBS)[-1]

    back = walk(api_client, last["previous"], link="previous")

    assert ids(list(reversed(back))) + [job["job_id"] for job in last["results"]] == listed


def test_an_exact_count_when_the_list_is_within_the_limit(api_client: APIClient, user: Any) -> None:
    make_jobs(user, LIMIT)

    body = api_client.get(JOBS).json()

    assert (body["count"], body["count_exact"]) == (LIMIT, True)


def test_a_job_accepted_during_the_walk_neither_repeats_nor_shifts_a_row(
    api_client: APIClient, user: Any
) -> None:
    """An OFFSET page would show the first page's last job again on the second."""
    listed = make_jobs(user, 4)
    first = api_client.get(JOBS).json()
    make_jobs(user, 1)  # the newest now

    second = api_client.get(first["next"]).json()

    assert [job["job_id"] for job in first["results"] + second["results"]] == listed


def test_jobs_created_at_the_same_moment_are_each_met_once(
    api_client: APIClient, user: Any
) -> None:
    listed = make_jobs(user, 7)
    Job.objects.filter(pk__in=listed[1:6]).update(created_at=timezone.now() - timedelta(hours=1))

    pages = walk(api_client, JOBS)

    assert sorted(ids(pages)) == sorted(listed)


def test_cursor_links_keep_the_filters(api_client: APIClient, user: Any) -> None:
    failed = make_jobs(user, 5, status=JobStatus.FAILED, plugin="QR-Code")
    make_jobs(user, 3)

    pages = walk(api_client, f"{JOBS}?plugin=qr-code&status=failed")

    assert ids(pages) == failed
    query = parse_qs(urlsplit(pages[0]["next"]).query)
    assert (query["plugin"], query["status"], set(query)) == (
        ["qr-code"],
        ["failed"],
        {"plugin", "status", "cursor"},
    )


def test_page_numbers_reach_as_far_as_the_count_and_link_by_cursor(
    api_client: APIClient, user: Any
) -> None:
    make_jobs(user, 13)
    by_cursor = walk(api_client, JOBS)

    third = api_client.get(f"{JOBS}?page=3").json()

    assert third["results"] == by_cursor[2]["results"]
    assert "page=" not in third["next"]
    assert api_client.get(third["next"]).json()["results"] == by_cursor[3]["results"]
    assert api_client.get(third["previous"]).json()["results"] == by_cursor[1]["results"]


def test_a_page_past_the_counts_reach_is_page_too_deep(api_client: APIClient, user: Any) -> None:
    make_jobs(user, 13)

    response = api_client.get(f"{JOBS}?page=4")

    assert response.status_code == 400
    error = assert_envelope(response.json())
    assert (error["type"], error["code"]) == ("ValidationError", "PAGE_TOO_DEEP")
    assert error["details"] == {"page": 4, "max_page": 3, "max_jobs": LIMIT}
    assert "`next`" in error["message"]


def test_a_page_past_the_end_of_a_counted_list_is_still_404(
    api_client: APIClient, user: Any
) -> None:
    make_jobs(user, 3)

    response = api_client.get(f"{JOBS}?page=3")

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid page."


def test_page_and_cursor_together_are_refused(api_client: APIClient, user: Any) -> None:
    make_jobs(user, 3)
    cursor = parse_qs(urlsplit(api_client.get(JOBS).json()["next"]).query)["cursor"][0]

    response = api_client.get(JOBS, {"page": "1", "cursor": cursor})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "REQUEST_INVALID"


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "@@not-base64@@",
        "é",
        _cursor("p=yesterday"),
        _cursor("p=2026-01-01 10:00:00"),  # no time zone
        _cursor("p=2026-13-01 10:00:00+00:00"),
        _cursor("p=9999-12-31 23:59:59-12:00"),  # past year 9999 in UTC
        _cursor("p=2026-01-01\x00"),
        _cursor("o=x"),
        _cursor("r=yes"),
    ],
)
def test_an_invalid_cursor_is_404(api_client: APIClient, user: Any, cursor: str) -> None:
    make_jobs(user, 3)

    response = api_client.get(JOBS, {"cursor": cursor})

    assert response.status_code == 404
    error = assert_envelope(response.json())
    assert (error["code"], error["message"]) == ("NOT_FOUND", "Invalid cursor")
