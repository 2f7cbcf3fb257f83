"""Every admin page opens: the index, each app's index, every changelist and a change page of
each registered model, with one row of everything in the database."""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_q.models import Task
from rest_framework.authtoken.models import Token

from execution.models import Job, JobMode, JobStatus
from execution.services import AnalysisExecutionService
from execution.validation import ExecutionRequest
from tests import images

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("synced_registry", "media_root")]


@pytest.fixture
def one_of_everything(user: Any, django_capture_on_commit_callbacks: Any) -> None:
    Token.objects.create(user=user)
    call_command("ensure_schedules")
    now = timezone.now()
    for success in (True, False):
        Task.objects.create(
            id=f"task-{success}",
            name=f"task-{success}",
            func="execution.tasks.sweep",
            started=now,
            stopped=now,
            success=success,
        )
    Job.objects.create(plugin="ocr", mode=JobMode.SYNC, status=JobStatus.FAILED, error_code="X")
    # The admin login's lockout records (django-axes), as a wrong password leaves them.
    seen = {"username": "guesser", "ip_address": "127.0.0.1", "user_agent": "curl"}
    AccessAttempt.objects.create(**seen, failures_since_start=1, get_data="", post_data="")
    AccessLog.objects.create(**seen)
    AccessFailureLog.objects.create(**seen)
    with django_capture_on_commit_callbacks(execute=True):  # queues a task on the ORM broker
        AnalysisExecutionService().submit(
            request=ExecutionRequest(
                plugin="image-metadata", image=images.small_png(), mime_type="image/png"
            ),
            user=user,
        )


def test_every_admin_page_opens(ops_client: Client, one_of_everything: None) -> None:
    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.get(username="ops")
    urls = ["/admin/", "/"]
    for model, model_admin in admin.site._registry.items():
        app, name = model._meta.app_label, model._meta.model_name
        urls.append(reverse("admin:app_list", args=[app]))
        urls.append(reverse(f"admin:{app}_{name}_changelist"))
        row = model_admin.get_queryset(request).first()
        assert row is not None, f"no {model.__name__} row to open"
        urls.append(reverse(f"admin:{app}_{name}_change", args=[quote(row.pk)]))

    failures = {url: status for url in urls if (status := ops_client.get(url).status_code) != 200}

    assert failures == {}
    assert sorted(model.__name__ for model in admin.site._registry) == [
        "AccessAttempt",
        "AccessFailureLog",
        "AccessLog",
        "FailedJob",
        "Failure",
        "Group",
        "Job",
        "OrmQ",
        "PluginRegistry",
        "Schedule",
        "Success",
        "TokenProxy",
        "User",
    ]
