"""Read-only audit of jobs: operators look, they do not edit history.

Every filter here builds its choices without reading the Job table (plugin names from the
registry, codes from the exception classes, status and mode from their choices), so the
changelist stays fast at any size; the one action, re-run, goes through a service.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from execution import exceptions
from execution.models import FailedJob, Job, JobStatus
from execution.pagination import JobCountPaginator
from execution.services.rerun import job_rerun
from execution.views import job_image_thumbnail
from registry.admin import DASHBOARD_CSS, PluginRegistryAdmin
from registry.display import badge, format_bytes, format_duration_ms, pretty_json
from registry.models import PluginRegistry

SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class PluginFilter(admin.SimpleListFilter):
    title = "plugin"
    parameter_name = "plugin"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        # The registry's few rows, not a DISTINCT over every job.
        names = PluginRegistry.objects.order_by("name").values_list("name", flat=True)
        return [(name, name) for name in names]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> QuerySet[Job]:
        return queryset.filter(plugin=self.value()) if self.value() else queryset


class ErrorCodeFilter(admin.SimpleListFilter):
    title = "error code"
    parameter_name = "error_code"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(code, code) for code in exceptions.known_codes()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> QuerySet[Job]:
        return queryset.filter(error_code=self.value()) if self.value() else queryset


class JobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status_badge",
        "plugin",
        "mode",
        "error_code",
        "duration",
        "created_at",
        "created_by",
    )
    list_filter = (
        "status",
        PluginFilter,
        "mode",
        ErrorCodeFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    # Searched by get_search_results below: exact id or exact digest, both indexed.
    search_fields = ("=id", "=image_sha256")
    search_help_text = "A job id, or the SHA-256 of an image."
    # The creators come in a second query, not a join: joined, SQLite's planner (with the
    # statistics of a small user table) sorted the whole jobs table for one page.
    list_select_related = ()
    # No date_hierarchy: it reads the distinct dates of the whole table on every page.
    show_full_result_count = False
    # Counts (and so pages) stop at JOB_COUNT_LIMIT: an exact count read every matching row.
    paginator = JobCountPaginator
    list_per_page = 50
    actions = ("rerun_jobs",)
    fieldsets = (
        (None, {"fields": ("id", "status_badge", "plugin_link", "mode", "created_by", "worker")}),
        (
            "Timing",
            {"fields": (("created_at", "started_at", "finished_at"), "duration", "enqueue_count")},
        ),
        (
            "Input",
            {"fields": ("mime_type", "size", "image_sha256", "thumbnail", "options_json")},
        ),
        ("Result", {"fields": ("result_json",)}),
        ("Error", {"fields": ("error_code", "envelope_json", "traceback")}),
        ("Re-runs", {"fields": ("rerun_of_link", "reruns_links")}),
    )
    readonly_fields = (
        "id",
        "status_badge",
        "plugin_link",
        "mode",
        "created_by",
        "worker",
        "created_at",
        "started_at",
        "finished_at",
        "duration",
        "enqueue_count",
        "mime_type",
        "size",
        "image_sha256",
        "thumbnail",
        "options_json",
        "result_json",
        "error_code",
        "envelope_json",
        "traceback",
        "rerun_of_link",
        "reruns_links",
    )

    class Media:
        css = {"all": (DASHBOARD_CSS,)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        return super().get_queryset(request).prefetch_related("created_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        # An audit is not edited; the sweep's retention deletes rows by age.
        return False

    def has_rerun_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("execution.rerun_job")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Job], search_term: str
    ) -> tuple[QuerySet[Job], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        if SHA256.fullmatch(term):
            return queryset.filter(image_sha256=term.lower()), False
        try:
            return queryset.filter(pk=uuid.UUID(term)), False
        except ValueError:
            return queryset.none(), False

    # --- columns and fields -------------------------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_badge(self, job: Job) -> SafeString:
        return badge(job.status, title=job.error_code)

    @admin.display(description="duration", ordering="execution_time_ms")
    def duration(self, job: Job) -> str:
        return format_duration_ms(job.execution_time_ms)

    @admin.display(description="image size")
    def size(self, job: Job) -> str:
        return format_bytes(job.image_size)

    @admin.display(description="plugin")
    def plugin_link(self, job: Job) -> SafeString:
        pk = PluginRegistry.objects.filter(name=job.plugin).values_list("pk", flat=True).first()
        if pk is None:
            return format_html("{} (not in the registry)", job.plugin)
        url = reverse("admin:registry_pluginregistry_change", args=[pk])
        return format_html('<a href="{}">{}</a>', url, job.plugin)

    @admin.display(description="options")
    def options_json(self, job: Job) -> SafeString:
        return pretty_json(job.options)

    @admin.display(description="result")
    def result_json(self, job: Job) -> SafeString:
        return pretty_json(job.result)

    @admin.display(description="error envelope (as clients see it)")
    def envelope_json(self, job: Job) -> SafeString:
        return pretty_json(job.error)

    @admin.display(description="internal traceback")
    def traceback(self, job: Job) -> SafeString:
        # Shown to operators only; the API strips it from every response.
        if not job.error_traceback:
            return mark_safe("—")
        return format_html('<pre class="traceback">{}</pre>', job.error_traceback)

    @admin.display(description="image")
    def thumbnail(self, job: Job) -> SafeString:
        if not job.image:
            return mark_safe("not kept (sync jobs keep none; successful jobs drop theirs)")
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_image", args=[job.pk])
        return format_html('<img class="thumbnail" src="{}" alt="input image">', url)

    @admin.display(description="re-run of")
    def rerun_of_link(self, job: Job) -> SafeString:
        if job.rerun_of_id is None:
            return mark_safe("—")
        return self._job_link(job.rerun_of_id)

    @admin.display(description="re-run as")
    def reruns_links(self, job: Job) -> SafeString:
        reruns = list(job.reruns.order_by("created_at").values_list("pk", "status"))
        if not reruns:
            return mark_safe("—")
        return format_html_join(
            mark_safe("<br>"), "{} {}", ((self._job_link(pk), badge(s)) for pk, s in reruns)
        )

    def _job_link(self, pk: Any) -> SafeString:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:execution_job_change", args=[pk]), pk
        )

    # --- the input image, to staff only ---------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_image"
        image = path("<uuid:job_id>/image/", self.admin_site.admin_view(self.image_view), name=name)
        return [image, *super().get_urls()]

    def image_view(self, request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
        return job_image_thumbnail(
            request,
            job_id=job_id,
            jobs=self.get_queryset(request),
            allowed=self.has_view_permission(request),
        )

    # --- actions ----------------------------------------------------------------------------

    @admin.action(description="Re-run the selected failed jobs on a worker", permissions=["rerun"])
    def rerun_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        started = []
        for job in queryset.order_by("created_at"):
            try:
                rerun = job_rerun(job=job, user=request.user)
            except exceptions.ExecutionFailure as refused:
                self.message_user(request, f"Job {job.pk}: {refused.message}", messages.WARNING)
                continue
            started.append(rerun)
        if started:
            links = format_html_join(", ", "{}", ((self._job_link(job.pk),) for job in started))
            self.message_user(
                request,
                format_html("Re-ran {} job(s) as {}.", len(started), links),
                messages.SUCCESS,
            )


admin.site.register(Job, JobAdmin)


@admin.register(FailedJob)
class FailedJobAdmin(JobAdmin):
    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        # Every row here is FAILED: filtering by status would offer empty lists.
        return [name for name in super().get_list_filter(request) if name != "status"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        return super().get_queryset(request).filter(status=JobStatus.FAILED)


class PluginAdmin(PluginRegistryAdmin):
    """The registry's plugin page, with the plugin's recent jobs: the registry knows nothing of
    jobs (imports flow execution → registry), so this layer adds them."""

    RECENT_JOBS = 20

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*super().get_fieldsets(request, obj), ("Recent jobs", {"fields": ("recent_jobs",)})]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*super().get_readonly_fields(request, obj), "recent_jobs"]

    @admin.display(description=f"last {RECENT_JOBS} jobs")
    def recent_jobs(self, plugin: PluginRegistry) -> SafeString:
        # The (plugin, -created_at) index: the newest jobs of one plugin without a scan.
        jobs = Job.objects.filter(plugin=plugin.name).order_by("-created_at")[: self.RECENT_JOBS]
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:execution_job_change", args=[job.pk]),
                    job.pk,
                    badge(job.status),
                    job.error_code or "",
                    format_duration_ms(job.execution_time_ms),
                    f"{job.created_at:%Y-%m-%d %H:%M:%S}",
                )
                for job in jobs.only(
                    "pk", "status", "error_code", "execution_time_ms", "created_at"
                )
            ),
        )
        if not rows:
            return mark_safe("no jobs")
        return format_html(
            '<table class="recent-jobs"><thead><tr><th>job</th><th>status</th><th>error</th>'
            "<th>duration</th><th>created (UTC)</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )


admin.site.unregister(PluginRegistry)
admin.site.register(PluginRegistry, PluginAdmin)
