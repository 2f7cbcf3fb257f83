from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from registry import services
from registry.display import format_ms
from registry.models import PluginRegistry

METRIC_FIELDS = (
    "success_count",
    "error_count",
    "total_execution_time_ms",
    "last_execution_time_ms",
    "last_used",
)


@admin.register(PluginRegistry)
class PluginRegistryAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "version",
        "state",
        "reason",
        "success_count",
        "error_count",
        "average_ms",
        "last_ms",
        "last_used",
        "disabled",
    )
    list_filter = ("state", "disabled")
    search_fields = ("name", "description", "reason")
    readonly_fields = (
        "name",
        "version",
        "description",
        "source",
        "state",
        "reason",
        "disabled",
        "options_schema",
        "output_schema",
        *METRIC_FIELDS,
        "average_ms",
        "created_at",
        "updated_at",
    )
    actions = ("disable_plugins", "enable_plugins")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PluginRegistry]:
        return super().get_queryset(request).with_average()  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Rows come from plugin discovery; an operator cannot invent a plugin.
        return False

    @admin.display(description="avg ms", ordering="avg_execution_time_ms")
    def average_ms(self, plugin: PluginRegistry) -> str:
        return format_ms(getattr(plugin, "avg_execution_time_ms", None))

    @admin.display(description="last ms", ordering="last_execution_time_ms")
    def last_ms(self, plugin: PluginRegistry) -> str:
        return format_ms(plugin.last_execution_time_ms)

    @admin.action(
        description="Disable: make UNAVAILABLE until enabled again", permissions=["change"]
    )
    def disable_plugins(self, request: HttpRequest, queryset: QuerySet[PluginRegistry]) -> None:
        for plugin in queryset:
            services.plugin_disable(plugin=plugin, by=request.user.get_username())
        self.message_user(request, f"Disabled {queryset.count()} plugin(s).", messages.SUCCESS)

    @admin.action(description="Enable plugins an operator disabled", permissions=["change"])
    def enable_plugins(self, request: HttpRequest, queryset: QuerySet[PluginRegistry]) -> None:
        disabled = [plugin for plugin in queryset if plugin.disabled]
        for plugin in disabled:
            services.plugin_enable(plugin=plugin)
        self.message_user(request, f"Enabled {len(disabled)} plugin(s).", messages.SUCCESS)
