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


class Outcome(models.TextChoices):
    """How one execution ended. Every execution has exactly one outcome: a refused input says
    nothing about the plugin's health, a plugin fault does."""

    SUCCESS = "success", "success"
    PLUGIN_FAULT = "plugin_fault", "plugin fault"
    INPUT_REFUSED = "input_refused", "input refused"


class PluginRegistryQuerySet(models.QuerySet["PluginRegistry"]):
    def with_average(self) -> PluginRegistryQuerySet:
        """Annotate ``avg_execution_time_ms`` from the stored sum, in the same query."""
        executions = F("success_count") + F("plugin_fault_count") + F("input_refused_count")
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
    plugin_fault_count = models.PositiveBigIntegerField(
        default=0,
        help_text="Executions the plugin failed: it raised, crashed, timed out or broke its output.",
    )
    input_refused_count = models.PositiveBigIntegerField(
        default=0, help_text="Executions refused for their input (bad image, invalid options)."
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
    consecutive_failures = models.PositiveIntegerField(
        default=0,
        help_text="Crashes and timeouts in a row; the circuit breaker opens at its threshold.",
    )
    circuit_open_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set while the circuit breaker holds the plugin UNAVAILABLE: when the next "
        "trial run may go through.",
    )
    metrics_reset_at = models.DateTimeField(
        null=True, blank=True, help_text="When an operator last reset the metrics."
    )
    metrics_reset_by = models.CharField(
        max_length=150, blank=True, help_text="Who last reset the metrics."
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

    @property
    def error_count(self) -> int:
        """Executions that ended in an error envelope, whoever was at fault."""
        return self.plugin_fault_count + self.input_refused_count

    @property
    def circuit_open(self) -> bool:
        return self.circuit_open_until is not None


class PluginMetricsBucket(models.Model):
    """Executions of one plugin in one UTC hour, by outcome, error code and latency bucket.

    One UPSERT per execution keeps this O(1) to write; readers (``registry.metrics``) sum a few
    rows per hour instead of scanning the Job table. Durations fall in the first bucket whose
    bound (``registry.metrics.LATENCY_BUCKET_BOUNDS_MS``) is at least the duration.
    """

    plugin_name = models.CharField(max_length=100, help_text="The plugin's registry name.")
    hour = models.DateTimeField(help_text="Start of the UTC hour the executions finished in.")
    outcome = models.CharField(
        max_length=20, choices=Outcome.choices, help_text="How the executions ended."
    )
    error_code = models.CharField(
        max_length=50, blank=True, help_text="The envelope's code; empty for successes."
    )
    latency_bucket = models.PositiveSmallIntegerField(
        help_text="Index of the latency bound the durations fall under; the last is +Inf."
    )
    count = models.PositiveBigIntegerField(default=0, help_text="Executions in this bucket.")
    total_ms = models.FloatField(default=0.0, help_text="Sum of their durations.")

    class Meta:
        verbose_name = "metrics bucket"
        constraints = [
            models.UniqueConstraint(
                fields=["plugin_name", "hour", "outcome", "error_code", "latency_bucket"],
                name="one_metrics_bucket_per_key",
            ),
        ]
        indexes = [models.Index(fields=["hour"], name="metrics_bucket_hour")]

    def __str__(self) -> str:
        return f"{self.plugin_name} {self.hour:%Y-%m-%d %H}h {self.outcome} #{self.latency_bucket}"
