from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone


class JobStatus(models.TextChoices):
    # Labels repeat the values: one spelling in the API, the admin and the docs.
    PENDING = "PENDING", "PENDING"
    RUNNING = "RUNNING", "RUNNING"
    SUCCESS = "SUCCESS", "SUCCESS"
    FAILED = "FAILED", "FAILED"
    CANCELLED = "CANCELLED", "CANCELLED"


FINISHED_STATUSES: frozenset[str] = frozenset(
    {JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.CANCELLED}
)


class JobMode(models.TextChoices):
    SYNC = "SYNC", "SYNC"
    ASYNC = "ASYNC", "ASYNC"


# The key of the plugin filter's indexes, after the owner's for a client's list (see Job.Meta).
PLUGIN_ANY_CASE_RECENT = (Lower("plugin"), F("created_at").desc(), F("status"), F("plugin"))


class JobQuerySet(models.QuerySet["Job"]):
    def visible_to(self, user: Any) -> JobQuerySet:
        """Staff see every job; a client sees the jobs it submitted."""
        return self if user.is_staff else self.filter(created_by=user)

    def finished(self) -> JobQuerySet:
        return self.filter(status__in=FINISHED_STATUSES)


class Job(models.Model):
    """One execution request and everything that happened to it.

    Input metadata is kept (type, size, digest). A sync job's bytes live only for the length of
    the request; an async job's wait in storage for the worker and are removed when it finishes.
    """

    id = models.UUIDField(
        primary_key=True, default=uuid.uuid4, editable=False, help_text="Job id given to clients."
    )
    # plugin, status, error_code and created_by have no index of their own: each leads the
    # composite indexes below, which serve every query that filters on it (migration 0007).
    plugin = models.CharField(max_length=100, help_text="Plugin name as the client asked for it.")
    mode = models.CharField(
        max_length=5, choices=JobMode.choices, help_text="Run in the request or on a worker."
    )
    status = models.CharField(
        max_length=10,
        choices=JobStatus.choices,
        default=JobStatus.PENDING,
        help_text="PENDING → RUNNING → SUCCESS | FAILED, or CANCELLED before it ran.",
    )
    mime_type = models.CharField(
        max_length=100, blank=True, help_text="MIME type the client declared for the image."
    )
    image_size = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Decoded image size in bytes (unknown if undecodable)."
    )
    image_sha256 = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text="SHA-256 of the decoded image bytes (operators search jobs by it).",
    )
    options = models.JSONField(
        null=True, blank=True, help_text="Options the client sent for the plugin."
    )
    result = models.JSONField(
        null=True, blank=True, help_text="The plugin's validated result, on success."
    )
    error = models.JSONField(
        null=True, blank=True, help_text="The error envelope clients see, on failure."
    )
    error_code = models.CharField(
        max_length=50, blank=True, help_text="The envelope's code, for filtering."
    )
    error_traceback = models.TextField(
        blank=True, help_text="Internal traceback for operators; never sent to clients."
    )
    image = models.FileField(
        upload_to="jobs/",
        blank=True,
        help_text="An async job's image, kept until it finishes (longer if it failed).",
    )
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When an async job was last handed to the queue."
    )
    enqueue_count = models.PositiveSmallIntegerField(
        default=0, help_text="How often the job was queued (the sweep re-queues lost tasks)."
    )
    worker = models.CharField(
        max_length=200, blank=True, help_text="host:pid of the process that ran the job."
    )
    execution_time_ms = models.FloatField(
        null=True, blank=True, help_text="Time spent in the ToolRunner, in milliseconds."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
        related_name="execution_jobs",
        help_text="Who submitted the job (empty for jobs from the command line).",
    )
    # A default rather than auto_now_add, which save() would overwrite: a sync job is created
    # RUNNING, and its started_at is its created_at.
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, db_index=True, help_text="When the job was accepted."
    )
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the job moved to RUNNING."
    )
    finished_at = models.DateTimeField(
        null=True, blank=True, help_text="When the job reached its final status."
    )
    rerun_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reruns",
        help_text="The failed job an operator re-ran as this one (that job is left unchanged).",
    )

    objects: ClassVar[JobQuerySet] = JobQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["plugin", "-created_at"], name="job_plugin_recent"),
            # The sweep's retention finds expired rows by status and age, a batch at a time.
            models.Index(fields=["status", "finished_at"], name="job_status_finished"),
            # A client's own job list, newest first, with and without its status filter; the
            # failed-job list and the status filters of staff. Without them every such page
            # sorted the client's (or the status's) rows in full.
            models.Index(fields=["created_by", "-created_at"], name="job_owner_recent"),
            models.Index(
                fields=["created_by", "status", "-created_at"], name="job_owner_status_recent"
            ),
            models.Index(fields=["status", "-created_at"], name="job_status_recent"),
            # The API's plugin filter, in any case, for staff and for a client: matched on
            # LOWER(plugin), as the registry's names keep the case their plugin gave them. The
            # status after the date serves the plugin and status filters together; the plugin
            # at the end lets the page's count read the index alone (neither SQLite before 3.41
            # nor PostgreSQL counts an index on an expression as covering without its column).
            models.Index(*PLUGIN_ANY_CASE_RECENT, name="job_plugin_any_case"),
            models.Index(
                F("created_by"), *PLUGIN_ANY_CASE_RECENT, name="job_owner_plugin_any_case"
            ),
            # The admin's filters: a plugin's failed jobs (the failed-job list filtered by
            # plugin), and an error code's jobs.
            models.Index(
                fields=["plugin", "status", "-created_at"], name="job_plugin_status_recent"
            ),
            models.Index(fields=["error_code", "-created_at"], name="job_error_code_recent"),
        ]
        permissions = [("rerun_job", "Can re-run a failed job")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=JobStatus.values), name="job_status_is_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plugin} {self.status} {self.id}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class FailedJob(Job):
    """The failed jobs alone, as their own admin list: what an operator looks at first."""

    class Meta:
        proxy = True
        verbose_name = "failed job"
        verbose_name_plural = "failed jobs"


class IdempotencyRecord(models.Model):
    """The first response to a request sent with an ``Idempotency-Key``, replayed to retries."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="idempotency_records",
        help_text="Keys are scoped to the client that sent them.",
    )
    key = models.CharField(max_length=255, help_text="The client's Idempotency-Key header.")
    fingerprint = models.CharField(
        max_length=64,
        help_text="SHA-256 of the endpoint and request body the key was first used with.",
    )
    response_status = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Status of the first response; empty while in progress."
    )
    response_body = models.JSONField(null=True, blank=True, help_text="Body of the first response.")
    response_headers = models.JSONField(
        default=dict, blank=True, help_text="Headers replayed with the body (Location)."
    )
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, help_text="When the key was first seen."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.response_status or 'in progress'})"
