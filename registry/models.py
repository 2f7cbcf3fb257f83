from __future__ import annotations

from django.db import models
from django.db.models import ExpressionWrapper, F, FloatField, Q
from django.db.models.functions import Cast, NullIf


class PluginState(models.TextChoices):
    """The five lifecycle states. SUCCESS and ERROR are metrics (counts), never states.

    Labels repeat the values: one spelling in the API, the admin and the docs.
    """

    LOADED = "LOADED", "LOADED"
    INITIALIZED = "INITIALIZED", "INITIALIZED"
    RUNNING = "RUNNING", "RUNNING"
    FAILED = "FAILED", "FAILED"
    UNAVAILABLE = "UNAVAILABLE", "UNAVAILABLE"


class PluginRegistryQuerySet(models.QuerySet["PluginRegistry"]):
    def with_average(self) -> PluginRegistryQuerySet:
        """Annotate ``avg_execution_time_ms`` from the stored sum, in the same query."""
        executions = F("success_count") + F("error_count")
        return self.annotate(
            avg_execution_time_ms=ExpressionWrapper(
                F("total_execution_time_ms") / NullIf(Cast(executions, FloatField()), 0.0),
                output_field=FloatField(),
            )
        )


class PluginRegistry(models.Model):
    """What the server knows of one plugin. The row, not process memory, is the truth at run time:
    a plugin an operator disabled here is refused by every web and worker process."""

    name = models.CharField(
        max_length=100, unique=True, help_text="Unique plugin name that clients ask for."
    )
    version = models.CharField(max_length=50, blank=True, help_text="Version the plugin declares.")
    description = models.TextField(blank=True, help_text="What the plugin analyses.")
    source = models.CharField(
        max_length=300,
        blank=True,
        help_text="Where discovery found it: a settings dotted path or an entry point.",
    )
    options_schema = models.JSONField(
        null=True, blank=True, help_text="JSON Schema the request's options must satisfy."
    )
    output_schema = models.JSONField(
        null=True, blank=True, help_text="JSON Schema every result of the plugin must satisfy."
    )
    state = models.CharField(
        max_length=20,
        choices=PluginState.choices,
        default=PluginState.LOADED,
        help_text="Lifecycle state: UNAVAILABLE plugins cannot run; FAILED ones can.",
    )
    reason = models.TextField(
        blank=True, help_text="Why the plugin is in its state, in words an operator can act on."
    )
    disabled = models.BooleanField(
        default=False,
        help_text="Set by an operator: the plugin stays UNAVAILABLE whatever discovery finds.",
    )
    success_count = models.PositiveBigIntegerField(
        default=0, help_text="Executions that returned a valid result."
    )
    error_count = models.PositiveBigIntegerField(
        default=0, help_text="Executions that ended in an error envelope."
    )
    total_execution_time_ms = models.FloatField(
        default=0.0, help_text="Sum of all execution times; averages are derived from it."
    )
    last_execution_time_ms = models.FloatField(
        null=True, blank=True, help_text="Duration of the most recent execution."
    )
    last_used = models.DateTimeField(
        null=True, blank=True, help_text="When the most recent execution finished."
    )
    created_at = models.DateTimeField(
        auto_now_add=True, help_text="When the plugin was first seen."
    )
    updated_at = models.DateTimeField(auto_now=True, help_text="Last change of the row.")

    objects = PluginRegistryQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "plugin"
        verbose_name_plural = "plugins"
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=PluginState.values), name="plugin_state_is_lifecycle_state"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"
