# scan-as: registry/admin.py
from django.utils import timezone


def reset_metrics(modeladmin, request, queryset):
    queryset.update(success_count=0, metrics_reset_at=timezone.now())  # expect: EXE007
