# scan-as: execution/api/views.py
from registry.models import PluginRegistry


def close(name, row):
    setattr(row, "consecutive_failures", 0)  # expect: EXE007
    PluginRegistry.objects.update_or_create(name=name, defaults={"circuit_open_until": None})  # expect: EXE007
