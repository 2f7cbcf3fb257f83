"""Who reaches the admin: staff only; the "operators" group (a data migration) views all, acts on
nothing. And "/" leads to the dashboard and the API docs."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from execution.models import Job, JobMode, JobStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("synced_registry")]

VIEWED_APPS = {"registry", "execution", "django_q"}


@pytest.fixture
def operator_client() -> Client:
    operator = get_user_model().objects.create_user("watcher", password="x" * 12, is_staff=True)
    operator.groups.add(Group.objects.get(name="operators"))
    client = Client()
    client.force_login(operator)
    return client


def test_the_operators_group_holds_every_view_permission_of_the_dashboard_and_nothing_else() -> (
    None
):
    codenames = set(
        Group.objects.get(name="operators").permissions.values_list(
            "content_type__app_label", "codename"
        )
    )

    assert {app for app, _ in codenames} == VIEWED_APPS
    assert all(codename.startswith("view_") for _, codename in codenames)
    assert {
        ("registry", "view_pluginregistry"),
        ("execution", "view_job"),
        ("execution", "view_failedjob"),
        ("django_q", "view_task"),
        ("django_q", "view_schedule"),
    } <= codenames


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/execution/job/",
        "/admin/execution/failedjob/",
        "/admin/django_q/schedule/",
    ],
)
def test_an_operator_views_but_is_offered_no_action(operator_client: Client, url: str) -> None:
    response = operator_client.get(url)

    assert response.status_code == 200
    assert 'name="action"' not in response.content.decode()


def test_an_operator_cannot_rerun_even_by_posting_the_action(operator_client: Client) -> None:
    failed = Job.objects.create(plugin="ocr", mode=JobMode.ASYNC, status=JobStatus.FAILED)

    operator_client.post(
        "/admin/execution/failedjob/", {"action": "rerun_jobs", "_selected_action": [failed.pk]}
    )

    assert Job.objects.count() == 1


def test_only_staff_reach_the_admin(user: Any) -> None:
    client = Client()
    client.force_login(user)

    response = client.get("/admin/execution/job/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_landing_page_links_the_dashboard_and_the_api_docs() -> None:
    html = Client().get("/").content.decode()

    for link in (
        'href="/admin/"',
        'href="/api/docs/"',
        'href="/api/redoc/"',
        'href="/api/schema/"',
    ):
        assert link in html
