"""The plugins as an operator watches them: health first, recent latency, actions through services.

The list is one query for the rows (state rank and error rate annotated) and one for the page's
24-hour percentiles, whatever the number of plugins; nothing here writes a field itself.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.db.models import Case, F, FloatField, IntegerField, QuerySet, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, NullIf
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from registry import services
from registry.charts import chart_pair
from registry.display import (
    badge,
    format_ago,
    format_duration_ms,
    format_percent,
    pretty_json,
)
from registry.metrics import LatencySummary, hourly_series, latency_summary
from registry.models import PluginRegistry, PluginState

RECENT = timedelta(hours=24)
DASHBOARD_CSS = "registry/dashboard.css"
OPERATOR_DISABLED = mark_safe('<span class="operator-disabled">disabled by an operator</span>')
# Unhealthy first: a plugin that cannot run, then one whose last run broke, then the rest.
HEALTH_RANK = Case(
    When(state=PluginState.UNAVAILABLE, then=Value(0)),
    When(state=PluginState.FAILED, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)
# Of the executions that reached the plugin, the share it failed; refused inputs are the
# clients' fault and are shown apart.
ERROR_RATE = Cast(F("plugin_fault_count"), FloatField()) / NullIf(
    Cast(F("success_count") + F("plugin_fault_count"), FloatField()), 0.0
)


class PluginChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        """The page's rows, then their 24-hour percentiles in one query for the whole page."""
        super().get_results(request)
        plugins = list(self.result_list)
        summaries = latency_summary(
            since=timezone.now() - RECENT, plugin_names=[plugin.name for plugin in plugins]
        )
        for plugin in plugins:
            plugin.latency_24h = summaries.get(plugin.name)


def _latency(plugin: PluginRegistry) -> LatencySummary | None:
    return getattr(plugin, "latency_24h", None)


@admin.register(PluginRegistry)
class PluginRegistryAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "state_badge",
        "version",
        "successes",
        "faults",
        "refused",
        "error_rate",
        "p50",
        "p95",
        "last_ms",
        "last_used_ago",
    )
    list_display_links = ("name",)
    list_filter = ("state", "disabled")
    search_fields = ("name", "description", "reason")
    list_per_page = 100
    show_full_result_count = False
    actions = ("disable_plugins", "enable_plugins", "reset_metrics")
    fieldsets = (
        (None, {"fields": ("name", "version", "description", "source")}),
        ("State", {"fields": ("state_badge", "reason", "disabled_by_operator", "circuit")}),
        (
            "Figures (all time, since the last reset)",
            {
                "fields": (
                    ("successes", "faults", "refused"),
                    "error_rate",
                    ("average_ms", "last_ms"),
                    "last_used_ago",
                    "metrics_reset",
                )
            },
        ),
        ("Last 24 hours", {"fields": ("latency_24h", "charts")}),
        ("Schemas", {"fields": ("options_schema_json", "output_schema_json")}),
    )
    readonly_fields = (
        "name",
        "version",
        "description",
        "source",
        "state_badge",
        "reason",
        "disabled_by_operator",
        "circuit",
        "successes",
        "faults",
        "refused",
        "error_rate",
        "average_ms",
        "last_ms",
        "last_used_ago",
        "metrics_reset",
        "latency_24h",
        "charts",
        "options_schema_json",
        "output_schema_json",
    )

    class Media:
        css = {"all": (DASHBOARD_CSS,)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[PluginRegistry]:
        # Annotated before ordering: the default order is by an annotation.
        plugins = PluginRegistry.objects.with_average().annotate(
            health_rank=HEALTH_RANK, error_rate=ERROR_RATE
        )
        return plugins.order_by(*self.get_ordering(request))

    def get_ordering(self, request: HttpRequest) -> list[str | Combinable]:
        return ["health_rank", "name"]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return PluginChangeList

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Rows come from plugin discovery; an operator cannot invent a plugin.
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: PluginRegistry | None = None
    ) -> bool:
        # A row holds the plugin's history and the operator's decisions; discovery owns rows.
        return False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        # Every field is read-only: the page is a report, with no Save buttons to suggest otherwise.
        context = {
            "show_save": False,
            "show_save_and_continue": False,
            "title": "Plugin",
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    # --- columns ----------------------------------------------------------------------------

    @admin.display(description="state", ordering="health_rank")
    def state_badge(self, plugin: PluginRegistry) -> SafeString:
        """The state, the operator's marker where they disabled it, and the reason."""
        marker = OPERATOR_DISABLED if plugin.disabled else ""
        return format_html(
            '{} {}<span class="reason" title="{}">{}</span>',
            badge(plugin.state, title=plugin.reason),
            marker,
            plugin.reason,
            plugin.reason,
        )

    @admin.display(description="successes", ordering="success_count")
    def successes(self, plugin: PluginRegistry) -> int:
        return plugin.success_count

    @admin.display(description="plugin faults", ordering="plugin_fault_count")
    def faults(self, plugin: PluginRegistry) -> int:
        return plugin.plugin_fault_count

    @admin.display(description="refused inputs", ordering="input_refused_count")
    def refused(self, plugin: PluginRegistry) -> int:
        return plugin.input_refused_count

    @admin.display(description="error rate", ordering="error_rate")
    def error_rate(self, plugin: PluginRegistry) -> str:
        return format_percent(
            plugin.plugin_fault_count, plugin.success_count + plugin.plugin_fault_count
        )

    @admin.display(description="p50 24 h")
    def p50(self, plugin: PluginRegistry) -> str:
        latency = _latency(plugin)
        return format_duration_ms(latency.p50 if latency else None)

    @admin.display(description="p95 24 h")
    def p95(self, plugin: PluginRegistry) -> str:
        latency = _latency(plugin)
        return format_duration_ms(latency.p95 if latency else None)

    @admin.display(description="avg", ordering="avg_execution_time_ms")
    def average_ms(self, plugin: PluginRegistry) -> str:
        return format_duration_ms(getattr(plugin, "avg_execution_time_ms", None))

    @admin.display(description="last run", ordering="last_execution_time_ms")
    def last_ms(self, plugin: PluginRegistry) -> str:
        return format_duration_ms(plugin.last_execution_time_ms)

    @admin.display(description="last used", ordering="last_used")
    def last_used_ago(self, plugin: PluginRegistry) -> SafeString:
        if plugin.last_used is None:
            return mark_safe("never")
        return format_html(
            '<span title="{}">{}</span>', plugin.last_used.isoformat(), format_ago(plugin.last_used)
        )

    # --- the plugin page ----------------------------------------------------------------------

    @admin.display(description="disabled by an operator")
    def disabled_by_operator(self, plugin: PluginRegistry) -> str:
        return "yes: it stays UNAVAILABLE until an operator enables it" if plugin.disabled else "no"

    @admin.display(description="circuit breaker")
    def circuit(self, plugin: PluginRegistry) -> str:
        if plugin.circuit_open_until is None:
            return f"closed ({plugin.consecutive_failures} crash(es) or timeout(s) in a row)"
        return f"open: one trial run allowed from {plugin.circuit_open_until:%Y-%m-%d %H:%M:%S} UTC"

    @admin.display(description="metrics reset")
    def metrics_reset(self, plugin: PluginRegistry) -> str:
        if plugin.metrics_reset_at is None:
            return "never"
        return f"{format_ago(plugin.metrics_reset_at)} by {plugin.metrics_reset_by}"

    @admin.display(description="latency (successes and faults)")
    def latency_24h(self, plugin: PluginRegistry) -> str:
        latency = latency_summary(since=timezone.now() - RECENT, plugin_names=[plugin.name]).get(
            plugin.name
        )
        if latency is None:
            return "no execution in the last 24 hours"
        return (
            f"{latency.count} executions: p50 {format_duration_ms(latency.p50)}, "
            f"p95 {format_duration_ms(latency.p95)}, p99 {format_duration_ms(latency.p99)}"
        )

    @admin.display(description="per hour")
    def charts(self, plugin: PluginRegistry) -> SafeString:
        return chart_pair(hourly_series(plugin_name=plugin.name, since=timezone.now() - RECENT))

    @admin.display(description="options schema")
    def options_schema_json(self, plugin: PluginRegistry) -> SafeString:
        return pretty_json(plugin.options_schema)

    @admin.display(description="output schema")
    def output_schema_json(self, plugin: PluginRegistry) -> SafeString:
        return pretty_json(plugin.output_schema)

    # --- actions: each calls a service --------------------------------------------------------

    @admin.action(
        description="Disable: make UNAVAILABLE until enabled again", permissions=["change"]
    )
    def disable_plugins(
        self, request: HttpRequest, queryset: QuerySet[PluginRegistry]
    ) -> TemplateResponse | None:
        """First a page asking why; the answer goes into the reason every client is told."""
        reason = request.POST.get("reason", "").strip()
        if "apply" not in request.POST or not reason:
            context = {
                **self.admin_site.each_context(request),
                "title": "Disable plugins",
                "opts": self.opts,
                "plugins": queryset,
                "missing_reason": "apply" in request.POST,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/registry/pluginregistry/disable.html", context)
        for plugin in queryset:
            services.plugin_disable(plugin=plugin, by=request.user.get_username(), reason=reason)
            self.log_change(request, plugin, f"Disabled: {reason}")
        self.message_user(request, f"Disabled {len(queryset)} plugin(s).", messages.SUCCESS)
        return None

    @admin.action(description="Enable plugins an operator disabled", permissions=["change"])
    def enable_plugins(self, request: HttpRequest, queryset: QuerySet[PluginRegistry]) -> None:
        disabled = [plugin for plugin in queryset if plugin.disabled]
        for plugin in disabled:
            services.plugin_enable(plugin=plugin)
            self.log_change(request, plugin, "Enabled")
        self.message_user(request, f"Enabled {len(disabled)} plugin(s).", messages.SUCCESS)

    @admin.action(
        description="Reset metrics (counts, timings, hourly figures)", permissions=["change"]
    )
    def reset_metrics(self, request: HttpRequest, queryset: QuerySet[PluginRegistry]) -> None:
        for plugin in queryset:
            services.plugin_reset_metrics(plugin=plugin, by=request.user.get_username())
            self.log_change(request, plugin, "Reset metrics")
        self.message_user(
            request, f"Reset the metrics of {len(queryset)} plugin(s).", messages.SUCCESS
        )
