"""The jobs in the admin: read-only, filters that never scan the table, the job page, the
input thumbnail served to staff only, and the re-run action."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from execution.admin import JobAdmin
from execution.models import Job, JobMode, JobStatus
from execution.pagination import JobCountPaginator
from execution.services import AnalysisExecutionService
from execution.validation import ExecutionRequest
from registry.models import PluginRegistry
from tests import images
from tests.helpers import queued_tasks

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("synced_registry")]

JOBS = "/admin/execution/job/"
FAILED_JOBS = "/admin/execution/failedjob/"


@pytest.fixture
def jobs() -> tuple[Job, Job]:
    ok = Job.objects.create(
        plugin="ocr",
        mode=JobMode.SYNC,
        status=JobStatus.SUCCESS,
        execution_time_ms=420.9745760000487,
    )
    failed = Job.objects.create(
        plugin="ocr",
        mode=JobMode.ASYNC,
        status=JobStatus.FAILED,
        error_code="PLUGIN_FAILED",
        error={"error": {"code": "PLUGIN_FAILED", "message": "boom"}},
        error_traceback="Traceback (most recent call last):\n  RuntimeError: <boom>",
    )
    return ok, failed


def many_jobs(count: int, *, created_by: Any = None) -> None:
    now = timezone.now()
    Job.objects.bulk_create(
        (
            Job(
                plugin=("ocr", "qr-code", "image-metadata")[n % 3],
                mode=JobMode.ASYNC if n % 2 else JobMode.SYNC,
                status=(JobStatus.SUCCESS, JobStatus.FAILED)[n % 2],
                error_code="PLUGIN_FAILED" if n % 2 else "",
                execution_time_ms=n / 7,
                finished_at=now,
                created_by=created_by,
            )
            for n in range(count)
        ),
        batch_size=2000,
    )


def test_failed_jobs_list_shows_only_failures(ops_client: Client, jobs: tuple[Job, Job]) -> None:
    ok, failed = jobs

    html = ops_client.get(FAILED_JOBS).content.decode()

    assert str(failed.pk) in html
    assert str(ok.pk) not in html


def test_list_shows_badges_and_formatted_durations(
    ops_client: Client, jobs: tuple[Job, Job]
) -> None:
    html = ops_client.get(JOBS).content.decode()

    assert '<span class="badge badge-ok" title="">SUCCESS</span>' in html
    assert '<span class="badge badge-bad" title="PLUGIN_FAILED">FAILED</span>' in html
    assert "421.0 ms" in html
    assert "420.97" not in html


def test_job_page_shows_indented_json_the_escaped_traceback_and_nothing_is_editable(
    ops_client: Client, jobs: tuple[Job, Job]
) -> None:
    _, failed = jobs

    response = ops_client.get(f"{JOBS}{failed.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "RuntimeError: &lt;boom&gt;" in html
    assert "{\n  &quot;error&quot;: {\n    &quot;code&quot;: &quot;PLUGIN_FAILED&quot;," in html
    ocr = PluginRegistry.objects.get(name="ocr")
    assert f'<a href="/admin/registry/pluginregistry/{ocr.pk}/change/">ocr</a>' in html
    assert 'name="status"' not in html
    assert ops_client.get(f"{JOBS}add/").status_code == 403
    assert ops_client.get(f"{JOBS}{failed.pk}/delete/").status_code == 403


def test_search_by_id_and_by_sha256(ops_client: Client, jobs: tuple[Job, Job]) -> None:
    ok, failed = jobs
    Job.objects.filter(pk=ok.pk).update(image_sha256="ab" * 32)

    by_id = ops_client.get(JOBS, {"q": str(failed.pk)}).content.decode()
    by_digest = ops_client.get(JOBS, {"q": "AB" * 32}).content.decode()
    nonsense = ops_client.get(JOBS, {"q": "not an id"}).content.decode()

    assert str(failed.pk) in by_id
    assert str(ok.pk) not in by_id
    assert str(ok.pk) in by_digest
    assert str(failed.pk) not in by_digest
    assert str(ok.pk) not in nonsense
    assert str(failed.pk) not in nonsense


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status__exact": "FAILED"}, 1),
        ({"plugin": "ocr"}, 2),
        ({"plugin": "qr-code"}, 0),
        ({"mode__exact": "SYNC"}, 1),
        ({"error_code": "PLUGIN_FAILED"}, 1),
        ({"created_at__gte": "2000-01-01 00:00:00+00:00"}, 2),
    ],
)
def test_filters(
    ops_client: Client, jobs: tuple[Job, Job], query: dict[str, str], expected: int
) -> None:
    response = ops_client.get(JOBS, query)

    assert response.status_code == 200
    assert response.context["cl"].result_count == expected


def test_filter_choices_come_from_the_registry_and_the_exception_classes(
    ops_client: Client, jobs: tuple[Job, Job]
) -> None:
    html = ops_client.get(JOBS).content.decode()

    assert "?plugin=test-echo" in html  # a registered plugin no job has used
    assert "?error_code=WORKER_LOST" in html  # a code no job has


@pytest.mark.every_database
def test_changelist_queries_stay_the_same_as_jobs_grow_and_none_is_distinct(
    ops_client: Client,
) -> None:
    # Every row has a creator, and the first page holds one row: a query per row would show.
    ops = get_user_model().objects.get(username="ops")
    failed_ocr = {"status__exact": "FAILED", "plugin": "ocr"}
    many_jobs(6, created_by=ops)
    with CaptureQueriesContext(connection) as at_one_row:
        response = ops_client.get(JOBS, failed_ocr)
    assert len(response.context["cl"].result_list) == 1

    many_jobs(10_000, created_by=ops)
    with CaptureQueriesContext(connection) as at_10k:
        response = ops_client.get(JOBS, failed_ocr)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 50

    many_jobs(10_000, created_by=ops)
    with CaptureQueriesContext(connection) as at_20k:
        ops_client.get(JOBS, failed_ocr)

    assert len(at_20k) == len(at_10k) == len(at_one_row)
    sql = [query["sql"].upper() for query in at_20k]
    assert not [q for q in sql if "DISTINCT" in q], sql
    # Exactly one count of the filtered rows; no second count of the whole table.
    assert len([q for q in sql if "COUNT(" in q and '"EXECUTION_JOB"' in q]) == 1


@pytest.mark.parametrize(("url", "plural"), [(JOBS, "jobs"), (FAILED_JOBS, "failed jobs")])
def test_the_lists_count_up_to_their_limit_and_page_no_further(
    ops_client: Client, monkeypatch: pytest.MonkeyPatch, url: str, plural: str
) -> None:
    monkeypatch.setattr(JobCountPaginator, "count_limit", 6)
    monkeypatch.setattr(JobAdmin, "list_per_page", 2)
    many_jobs(20)  # 10 FAILED

    first = ops_client.get(url)
    deepest = ops_client.get(url, {"p": "3"})
    beyond = ops_client.get(url, {"p": "4"})

    assert first.context["cl"].result_count == 6
    assert f"more than 6 {plural}</span>" in first.content.decode()
    assert f"Select all 6 {plural}" not in first.content.decode()  # it would not be all
    assert len(deepest.context["cl"].result_list) == 2
    assert (beyond.status_code, beyond["Location"]) == (302, f"{url}?e=1")


def test_a_list_within_the_limit_has_its_exact_count(
    ops_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(JobCountPaginator, "count_limit", 6)
    many_jobs(6)

    html = ops_client.get(JOBS).content.decode()

    assert "6 jobs" in html
    assert "more than" not in html


@pytest.mark.every_database
def test_no_page_of_either_list_reads_the_table_for_its_filters(ops_client: Client) -> None:
    many_jobs(300)
    for url in (JOBS, FAILED_JOBS):
        with CaptureQueriesContext(connection) as queries:
            assert ops_client.get(url).status_code == 200
        assert not [q for q in queries if "DISTINCT" in q["sql"].upper()]


# --- the kept image --------------------------------------------------------------------


@pytest.fixture
def failed_with_image(media_root: Path, user: Any) -> Job:
    job = AnalysisExecutionService().submit(
        request=ExecutionRequest(
            plugin="image-metadata", image=images.astronaut_jpeg(), mime_type="image/jpeg"
        ),
        user=user,
    )
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error_code="WORKER_LOST")
    job.refresh_from_db()
    return job


def test_thumbnail_of_the_kept_image_is_served_to_staff_only(
    ops_client: Client, failed_with_image: Job
) -> None:
    page = ops_client.get(f"{JOBS}{failed_with_image.pk}/change/").content.decode()
    url = f"{JOBS}{failed_with_image.pk}/image/"
    assert f'<img class="thumbnail" src="{url}"' in page

    response = ops_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")

    client = Client()
    client.force_login(get_user_model().objects.create_user("someone", password="x" * 12))
    assert client.get(url).status_code == 302  # to the admin login: not staff
    staff = get_user_model().objects.create_user("staff", password="x" * 12, is_staff=True)
    client.force_login(staff)
    assert client.get(url).status_code == 403  # staff without the view permission


def test_thumbnail_of_a_job_without_image_is_404(ops_client: Client, jobs: tuple[Job, Job]) -> None:
    _, failed = jobs
    assert ops_client.get(f"{JOBS}{failed.pk}/image/").status_code == 404
    assert "not kept" in ops_client.get(f"{JOBS}{failed.pk}/change/").content.decode()


# --- re-run ----------------------------------------------------------------------------


def test_rerun_action_queues_new_jobs_and_says_which_image_is_gone(
    ops_client: Client,
    failed_with_image: Job,
    jobs: tuple[Job, Job],
    django_capture_on_commit_callbacks: Any,
) -> None:
    _, failed_without_image = jobs

    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post(
            FAILED_JOBS,
            {
                "action": "rerun_jobs",
                "_selected_action": [failed_with_image.pk, failed_without_image.pk],
            },
            follow=True,
        )

    html = response.content.decode()
    rerun = Job.objects.get(rerun_of=failed_with_image)
    assert rerun.status == JobStatus.PENDING
    assert re.search(
        rf"Re-ran 1 job\(s\) as <a href=\"/admin/execution/job/{rerun.pk}/change/\">", html
    )
    assert f"Job {failed_without_image.pk}: The image of this job is gone" in html
    assert not Job.objects.filter(rerun_of=failed_without_image).exists()
    assert [task["args"] for task in queued_tasks()][-1] == (str(rerun.pk),)
    # Both pages link the two jobs.
    old_page = ops_client.get(f"{JOBS}{failed_with_image.pk}/change/").content.decode()
    assert f'/admin/execution/job/{rerun.pk}/change/">{rerun.pk}</a>' in old_page
    new_page = ops_client.get(f"{JOBS}{rerun.pk}/change/").content.decode()
    assert (
        f'/admin/execution/job/{failed_with_image.pk}/change/">{failed_with_image.pk}</a>'
        in new_page
    )
