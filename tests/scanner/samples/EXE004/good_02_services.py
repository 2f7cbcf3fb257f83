# scan-as: registry/services.py
from execution.models import JobStatus
from registry.models import PluginState


def finish(job, plugin, rows):
    plugin.state = PluginState.FAILED
    rows.filter(state__in=[PluginState.LOADED, PluginState.INITIALIZED])
    if job.status == JobStatus.SUCCESS:
        return {"status": "ok", "state": plugin.state, "label": PluginState.LOADED.label}
    return Response({"detail": "gone"}, status=404)
