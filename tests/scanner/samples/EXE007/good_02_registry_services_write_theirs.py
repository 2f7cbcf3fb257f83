# scan-as: registry/services.py
from django.db.models import F

from registry.models import PluginMetricsBucket, PluginRegistry, PluginState


def record(row, name, hour):
    row.state, row.reason = PluginState.INITIALIZED, "last execution succeeded"
    PluginRegistry.objects.filter(name=name).update(success_count=F("success_count") + 1)
    PluginMetricsBucket.objects.update_or_create(plugin_name=name, hour=hour, defaults={"count": 1})
    setattr(row, "consecutive_failures", 0)
