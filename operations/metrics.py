"""/metrics: Prometheus text, read from the database at scrape time.

Every web and worker process, on every machine, writes its executions to the same registry rows
and hourly buckets (registry.metrics), so one scrape of any web process is exact for the whole
deployment: no per-process counters to add up, no multiprocess directory, nothing lost when a
process restarts. A scrape costs a handful of small queries: the registry rows, the bucket sums
(a few rows per plugin and hour, never the Job table), and two indexed reads of the Job table.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator

from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from execution.conf import execution_settings
from execution.models import Job, JobMode, JobStatus
from registry import metrics as registry_metrics
from registry.models import Outcome, PluginRegistry, PluginState

BUCKET_BOUNDS_SECONDS = tuple(bound / 1000 for bound in registry_metrics.LATENCY_BUCKET_BOUNDS_MS)


class ExecutionCollector(Collector):
    """The execution figures as Prometheus metric families, read when collected."""

    def collect(self) -> Iterator[Metric]:
        yield from self._plugins()
        yield self._errors()
        yield self._durations()
        yield from self._jobs()

    def _plugins(self) -> Iterator[Metric]:
        executions = CounterMetricFamily(
            "execution_plugin_executions",
            "Executions by plugin and outcome (success, plugin_fault, input_refused).",
            labels=["plugin", "outcome"],
        )
        state = GaugeMetricFamily(
            "execution_plugin_state",
            "The plugin's lifecycle state: 1 for the state it is in, 0 for the others.",
            labels=["plugin", "state"],
        )
        rows = PluginRegistry.objects.values_list(
            "name", "state", "success_count", "plugin_fault_count", "input_refused_count"
        )
        for name, current, success, plugin_fault, input_refused in rows:
            for outcome, count in (
                (Outcome.SUCCESS, success),
                (Outcome.PLUGIN_FAULT, plugin_fault),
                (Outcome.INPUT_REFUSED, input_refused),
            ):
                executions.add_metric([name, outcome.value], count)
            for value in PluginState.values:
                state.add_metric([name, value], 1.0 if value == current else 0.0)
        yield executions
        yield state

    def _errors(self) -> Metric:
        errors = CounterMetricFamily(
            "execution_plugin_errors",
            "Failed executions by plugin and error code.",
            labels=["plugin", "code"],
        )
        for (name, code), count in sorted(registry_metrics.error_counts().items()):
            errors.add_metric([name, code], count)
        return errors

    def _durations(self) -> Metric:
        durations = HistogramMetricFamily(
            "execution_plugin_duration_seconds",
            "Time in the ToolRunner per execution, by plugin and outcome.",
            labels=["plugin", "outcome"],
        )
        for (name, outcome), histogram in sorted(registry_metrics.histograms().items()):
            cumulative = histogram.bucket_counts
            buckets = [
                (floatToGoString(bound), float(count))
                for bound, count in zip(BUCKET_BOUNDS_SECONDS, cumulative, strict=False)
            ]
            buckets.append(("+Inf", float(histogram.count)))
            durations.add_metric([name, outcome], buckets, histogram.sum_ms / 1000)
        return durations

    def _jobs(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("execution_jobs", "Jobs by status.", labels=["status"])
        # GROUP BY the indexed status column: an index scan, with no row read on PostgreSQL.
        counts = dict.fromkeys(JobStatus.values, 0)
        for status, count in Job.objects.order_by().values_list("status").annotate(n=Count("*")):
            counts[status] = count
        for status, count in counts.items():
            jobs.add_metric([status], count)
        yield jobs

        waiting = Job.objects.filter(status=JobStatus.PENDING, mode=JobMode.ASYNC).aggregate(
            depth=Count("*"), oldest=Min("queued_at")
        )
        yield GaugeMetricFamily(
            "execution_queue_depth",
            "Async jobs waiting for a worker (PENDING).",
            value=waiting["depth"],
        )
        oldest = waiting["oldest"]
        age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "execution_oldest_pending_seconds",
            "How long the oldest waiting async job has waited since it was queued; 0 if none.",
            value=max(age, 0.0),
        )


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(ExecutionCollector())


def _client_allowed(request: HttpRequest) -> bool:
    """A bearer of the token, or an address in the allow-list; anyone when neither is set."""
    token = execution_settings.METRICS_TOKEN
    networks = execution_settings.METRICS_ALLOWED_IPS
    if not token and not networks:
        return True
    if token:
        # The scheme in any case, as HTTP has it (RFC 9110); the token exactly.
        scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(sent.encode(), token.encode()):
            return True
    if networks:
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(network, strict=False) for network in networks)
    return False


# Read-only: a POST answers 405 rather than the CSRF check's HTML page.
@csrf_exempt
@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _client_allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
