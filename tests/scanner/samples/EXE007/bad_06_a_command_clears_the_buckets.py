# scan-as: registry/management/commands/clear_metrics.py
from registry.models import PluginMetricsBucket


def handle():
    PluginMetricsBucket.objects.all().delete()  # expect: EXE007
