"""N concurrent executions give counts that add up to N exactly: no lost updates.

Runs on the embedded SQLite and again, in `make test`'s second pass, on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from execution.models import Job, JobStatus
from execution.services import AnalysisExecutionService
from execution.tool_runner.catalog import plugin_catalog
from execution.validation import ExecutionRequest
from registry import services
from registry.models import Outcome, PluginMetricsBucket, PluginRegistry
from registry.services import registry_sync
from tests import images
from tests.conftest import b64

THREADS = 8
EXECUTIONS_PER_THREAD = 50
# Every fifth request is garbage, so both counters race.
FAILING_EVERY = 5

pytestmark = [pytest.mark.every_database, pytest.mark.django_db(transaction=True)]


def execute_many(thread: int) -> None:
    service = AnalysisExecutionService()
    image = b64(images.small_png())
    try:
        for number in range(EXECUTIONS_PER_THREAD):
            broken = number % FAILING_EVERY == 0
            service.execute(
                request=ExecutionRequest(
                    plugin="image-metadata",
                    image="%%%" if broken else image,
                    mime_type="image/png",
                )
            )
    finally:
        connection.close()  # each thread has its own connection


def test_concurrent_executions_lose_no_count() -> None:
    registry_sync(discovery=plugin_catalog())

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(execute_many, range(THREADS)))

    plugin = PluginRegistry.objects.with_average().get(name="image-metadata")
    total = THREADS * EXECUTIONS_PER_THREAD
    failing = THREADS * (EXECUTIONS_PER_THREAD // FAILING_EVERY)
    assert plugin.success_count + plugin.error_count == total
    assert (plugin.success_count, plugin.input_refused_count) == (total - failing, failing)
    # The hourly buckets saw every execution too, each once, under the same race.
    buckets = PluginMetricsBucket.objects.filter(plugin_name="image-metadata")
    by_outcome = dict(buckets.values_list("outcome").annotate(Sum("count")))
    assert by_outcome == {Outcome.SUCCESS: total - failing, Outcome.INPUT_REFUSED: failing}
    assert buckets.aggregate(Sum("total_ms"))["total_ms__sum"] == pytest.approx(
        plugin.total_execution_time_ms
    )
    assert Job.objects.filter(status=JobStatus.SUCCESS).count() == total - failing
    assert Job.objects.filter(status=JobStatus.FAILED, error_code="IMAGE_NOT_BASE64").count() == (
        failing
    )
    # Every job's time is in the total once: a lost `total += elapsed` update would show here.
    job_time = Job.objects.filter(plugin="image-metadata").aggregate(Sum("execution_time_ms"))
    assert plugin.total_execution_time_ms == pytest.approx(job_time["execution_time_ms__sum"])


def test_a_run_recorded_while_its_metrics_are_reset_waits_and_never_deadlocks() -> None:
    """The reset locks the registry row, then the buckets; so must a run's record, or each
    holds what the other waits for (PostgreSQL then aborts one of them)."""
    registry_sync(discovery=plugin_catalog())
    services.update_execution_metrics(
        plugin_name="image-metadata", outcome=Outcome.SUCCESS, elapsed_ms=5.0, state=None
    )
    plugin = PluginRegistry.objects.get(name="image-metadata")
    row_locked, failures = threading.Event(), []

    def reset_holding_the_row() -> None:
        try:
            with transaction.atomic():
                # What plugin_reset_metrics does, held open while a run records.
                PluginRegistry.objects.select_for_update().filter(pk=plugin.pk).update(
                    success_count=0
                )
                row_locked.set()
                time.sleep(1.5)  # the run is waiting by then, on whichever lock it took first
                PluginMetricsBucket.objects.filter(plugin_name=plugin.name).delete()
        except Exception as error:
            failures.append(error)
        finally:
            connection.close()

    def record_a_run() -> None:
        try:
            services.update_execution_metrics(
                plugin_name="image-metadata", outcome=Outcome.SUCCESS, elapsed_ms=5.0, state=None
            )
        except Exception as error:
            failures.append(error)
        finally:
            connection.close()

    reset = threading.Thread(target=reset_holding_the_row)
    reset.start()
    assert row_locked.wait(10)
    run = threading.Thread(target=record_a_run)
    run.start()
    reset.join(30)
    run.join(30)

    assert failures == []
    plugin.refresh_from_db()
    assert plugin.success_count == 1  # the run, counted after the reset
    assert PluginMetricsBucket.objects.get(plugin_name=plugin.name).count == 1
