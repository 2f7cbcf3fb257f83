"""Read-only audit of jobs: operators look, they do not edit history."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import flatten
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from execution.models import FailedJob, Job, JobStatus
from registry.display import format_ms


class JobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "plugin",
        "mode",
        "status",
        "error_code",
        "time_ms",
        "created_at",
        "created_by",
    )
    list_filter = ("status", "mode", "plugin", "error_code")
    search_fields = ("id", "plugin", "image_sha256", "error_code")
    list_select_related = ("created_by",)
    date_hierarchy = "created_at"
    fields = (
        "id",
        "plugin",
        "mode",
        "status",
        "created_by",
        ("created_at", "started_at", "finished_at"),
        "execution_time_ms",
        ("mime_type", "image_size", "image_sha256"),
        "options",
        "result",
        "error",
        "error_code",
        "traceback",
    )
    readonly_fields = tuple(flatten(fields))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        # An audit is not edited, and a deleted row would leave its stored image behind.
        return False

    @admin.display(description="time ms", ordering="execution_time_ms")
    def time_ms(self, job: Job) -> str:
        return format_ms(job.execution_time_ms)

    @admin.display(description="internal traceback")
    def traceback(self, job: Job) -> str:
        # Shown to operators only; the API strips it from every response.
        return format_html("<pre>{}</pre>", job.error_traceback) if job.error_traceback else "—"


admin.site.register(Job, JobAdmin)


@admin.register(FailedJob)
class FailedJobAdmin(JobAdmin):
    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        # Every row here is FAILED: filtering by status would offer empty lists.
        return [name for name in super().get_list_filter(request) if name != "status"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        return super().get_queryset(request).filter(status=JobStatus.FAILED)
