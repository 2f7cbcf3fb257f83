from __future__ import annotations

import pytest
from django.test import Client

from execution.models import Job, JobMode, JobStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def jobs() -> tuple[Job, Job]:
    ok = Job.objects.create(plugin="ocr", mode=JobMode.SYNC, status=JobStatus.SUCCESS)
    failed = Job.objects.create(
        plugin="ocr",
        mode=JobMode.ASYNC,
        status=JobStatus.FAILED,
        error_code="PLUGIN_FAILED",
        error_traceback="Traceback (most recent call last):\n  RuntimeError: <boom>",
    )
    return ok, failed


def test_failed_jobs_list_shows_only_failures(ops_client: Client, jobs: tuple[Job, Job]) -> None:
    ok, failed = jobs

    html = ops_client.get("/admin/execution/failedjob/").content.decode()

    assert str(failed.pk) in html
    assert str(ok.pk) not in html


def test_job_page_shows_the_escaped_traceback_and_nothing_is_editable(
    ops_client: Client, jobs: tuple[Job, Job]
) -> None:
    _, failed = jobs

    response = ops_client.get(f"/admin/execution/job/{failed.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "RuntimeError: &lt;boom&gt;" in html
    assert 'name="status"' not in html
    assert ops_client.get("/admin/execution/job/add/").status_code == 403
    assert ops_client.get(f"/admin/execution/job/{failed.pk}/delete/").status_code == 403
