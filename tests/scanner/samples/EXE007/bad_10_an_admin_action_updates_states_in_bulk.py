# scan-as: registry/admin.py
from registry.models import PluginRegistry


def mark_loaded(modeladmin, request, queryset):
    PluginRegistry.objects.bulk_update(list(queryset), ["state", "error_count"])  # expect: EXE007
