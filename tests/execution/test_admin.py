from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from execution.models import Job, JobMode, JobStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("ops", password="x" * 12))
    return client


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


def test_failed_jobs_list_shows_only_failures(admin_client: Client, jobs: tuple[Job, Job]) -> None:
    ok, failed = jobs

    html = admin_client.get("/admin/execution/failedjob/").content.decode()

    assert str(failed.pk) in html
    assert str(ok.pk) not in html


def test_job_page_shows_the_escaped_traceback_and_nothing_is_editable(
    admin_client: Client, jobs: tuple[Job, Job]
) -> None:
    _, failed = jobs

    response = admin_client.get(f"/admin/execution/job/{failed.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "RuntimeError: &lt;boom&gt;" in html
    assert 'name="status"' not in html
    assert admin_client.get("/admin/execution/job/add/").status_code == 403
    assert admin_client.get(f"/admin/execution/job/{failed.pk}/delete/").status_code == 403
