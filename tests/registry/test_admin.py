"""The plugins in the admin: health first, counts by outcome, recent percentiles, the plugin
page with its charts and recent jobs, and actions that go through the registry's services."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from execution.models import Job, JobMode, JobStatus
from registry import services
from registry.models import Outcome, PluginMetricsBucket, PluginRegistry, PluginState

pytestmark = pytest.mark.usefixtures("synced_registry")

CHANGELIST = "/admin/registry/pluginregistry/"


def record(name: str, outcome: Outcome, elapsed_ms: float, times: int = 1, **kw: Any) -> None:
    for _ in range(times):
        services.update_execution_metrics(
            plugin_name=name, outcome=outcome, elapsed_ms=elapsed_ms, state=None, **kw
        )


def row_cells(html: str, name: str) -> list[str]:
    """The text of each cell of the plugin's changelist row, tags stripped."""
    row = re.search(rf"<tr>(?:(?!</tr>).)*?>{re.escape(name)}</a>(?:(?!</tr>).)*</tr>", html, re.S)
    assert row, f"no row for {name}"
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row.group(0), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells]


def test_changelist_shows_health_counts_rates_and_recent_percentiles(ops_client: Client) -> None:
    record("qr-code", Outcome.SUCCESS, 8.0, times=18)
    record("qr-code", Outcome.PLUGIN_FAULT, 400.0, times=2, error_code="PLUGIN_FAILED")
    record("qr-code", Outcome.INPUT_REFUSED, 1.0, times=5, error_code="IMAGE_EMPTY")
    services.plugin_disable(
        plugin=PluginRegistry.objects.get(name="ocr"), by="ops", reason="broken model"
    )

    html = ops_client.get(CHANGELIST).content.decode()

    cells = row_cells(html, "qr-code")
    # name, state and reason, version, successes, faults, refused, rate, p50, p95, last, used
    version = PluginRegistry.objects.get(name="qr-code").version
    assert cells[1:] == [
        "qr-code",
        "LOADED discovered and set up",
        version,
        "18",
        "2",
        "5",
        "10.0 %",  # 2 faults of the 20 runs that reached the plugin; refused inputs are apart
        "7.8 ms",  # p50: rank 10 of 20, interpolated inside the 5-10 ms bucket
        "375.0 ms",  # p95: rank 19, halfway into the 250-500 ms bucket
        "1.0 ms",
        "just now",
    ]
    ocr = row_cells(html, "ocr")
    assert (
        ocr[2] == "UNAVAILABLE disabled by an operator disabled by an operator (ops: broken model)"
    )
    assert html.count('class="operator-disabled"') == 1  # only where true
    # Unhealthy first: every UNAVAILABLE or FAILED row comes before the healthy ones.
    names = re.findall(r'<th class="field-name"><a href="[^"]+">([^<]+)</a>', html)
    states = dict(PluginRegistry.objects.values_list("name", "state"))
    ranks = [0 if states[n] == "UNAVAILABLE" else 1 if states[n] == "FAILED" else 2 for n in names]
    assert ranks == sorted(ranks)
    assert names.index("ocr") < names.index("qr-code")


def test_filters_by_state(ops_client: Client) -> None:
    services.plugin_disable(
        plugin=PluginRegistry.objects.get(name="ocr"), by="ops", reason="maintenance"
    )

    response = ops_client.get(CHANGELIST, {"state__exact": "UNAVAILABLE"})

    names = {plugin.name for plugin in response.context["cl"].result_list}
    assert "ocr" in names
    assert all(
        plugin.state == PluginState.UNAVAILABLE for plugin in response.context["cl"].result_list
    )


@pytest.mark.every_database
def test_changelist_queries_stay_the_same_as_plugins_and_jobs_grow(ops_client: Client) -> None:
    def grow(plugins: int, jobs: int) -> None:
        start = PluginRegistry.objects.count()
        PluginRegistry.objects.bulk_create(
            PluginRegistry(name=f"plugin-{start + n:03}", state=PluginState.INITIALIZED)
            for n in range(plugins)
        )
        for n in range(start, start + plugins, 7):
            record(f"plugin-{n:03}", Outcome.SUCCESS, 20.0 + n)
        Job.objects.bulk_create(
            (
                Job(
                    plugin=f"plugin-{start + n % plugins:03}",
                    mode=JobMode.SYNC,
                    status=JobStatus.SUCCESS,
                )
                for n in range(jobs)
            ),
            batch_size=2000,
        )

    grow(50 - PluginRegistry.objects.count(), 10_000)
    with CaptureQueriesContext(connection) as at_50:
        response = ops_client.get(CHANGELIST)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 50

    grow(40, 10_000)
    with CaptureQueriesContext(connection) as at_90:
        response = ops_client.get(CHANGELIST)
    assert len(response.context["cl"].result_list) == 90

    assert len(at_90) == len(at_50)
    bucket_reads = [q for q in at_90 if "registry_pluginmetricsbucket" in q["sql"]]
    assert len(bucket_reads) == 1  # the page's percentiles in one query
    assert not [q for q in at_90 if "execution_job" in q["sql"]]


def test_plugin_page_is_read_only_formatted_with_schemas_charts_and_recent_jobs(
    ops_client: Client,
) -> None:
    record("test-echo", Outcome.SUCCESS, 12.345, times=3)
    record("test-echo", Outcome.PLUGIN_FAULT, 700.0, error_code="PLUGIN_FAILED")
    jobs = [
        Job.objects.create(plugin="test-echo", mode=JobMode.SYNC, status=JobStatus.SUCCESS)
        for _ in range(22)
    ]
    plugin = PluginRegistry.objects.get(name="test-echo")

    response = ops_client.get(f"{CHANGELIST}{plugin.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="success_count"' not in html
    assert 'name="_save"' not in html
    assert "25.0 %" in html  # 1 fault of 4
    assert "184.3 ms" in html  # the average: (3 * 12.345 + 700) / 4, to one decimal
    assert "&quot;additionalProperties&quot;: false,\n  &quot;properties&quot;: {" in html
    assert html.count('<svg class="chart chart-executions"') == 1
    assert html.count('<svg class="chart chart-latency"') == 1
    assert len(re.findall(r'<rect class="bar success"', html)) == 1
    assert len(re.findall(r'<rect class="bar plugin_fault"', html)) == 1
    assert '<polyline class="line p95"' not in html  # one hour of data: a point, not a line
    assert len(re.findall(r'<circle class="point p95"', html)) == 1
    shown = set(re.findall(r"/admin/execution/job/([0-9a-f-]{36})/change/", html))
    assert shown == {str(job.pk) for job in jobs[-20:]}
    assert ops_client.get(f"{CHANGELIST}add/").status_code == 403
    assert ops_client.get(f"{CHANGELIST}{plugin.pk}/delete/").status_code == 403


def test_disable_asks_for_a_reason_then_records_who_and_why(ops_client: Client) -> None:
    plugin = PluginRegistry.objects.get(name="ocr")
    chosen = {"action": "disable_plugins", "_selected_action": [plugin.pk]}

    form = ops_client.post(CHANGELIST, chosen)
    assert form.status_code == 200
    assert 'name="reason"' in form.content.decode()
    plugin.refresh_from_db()
    assert plugin.state != PluginState.UNAVAILABLE  # nothing happens before the reason

    ops_client.post(CHANGELIST, {**chosen, "apply": "1", "reason": "  "})
    plugin.refresh_from_db()
    assert not plugin.disabled  # an empty reason asks again

    ops_client.post(CHANGELIST, {**chosen, "apply": "1", "reason": "tesseract upgrade"})
    plugin.refresh_from_db()
    assert (plugin.state, plugin.reason, plugin.disabled) == (
        PluginState.UNAVAILABLE,
        "disabled by an operator (ops: tesseract upgrade)",
        True,
    )

    ops_client.post(CHANGELIST, {"action": "enable_plugins", "_selected_action": [plugin.pk]})
    plugin.refresh_from_db()
    assert (plugin.state, plugin.disabled) == (PluginState.LOADED, False)


def test_reset_metrics_zeroes_figures_and_records_who_and_when(ops_client: Client) -> None:
    record("qr-code", Outcome.SUCCESS, 8.0, times=3)
    plugin = PluginRegistry.objects.get(name="qr-code")

    ops_client.post(CHANGELIST, {"action": "reset_metrics", "_selected_action": [plugin.pk]})

    plugin.refresh_from_db()
    assert (plugin.success_count, plugin.metrics_reset_by) == (0, "ops")
    assert plugin.metrics_reset_at is not None
    assert timezone.now() - plugin.metrics_reset_at < timedelta(minutes=1)
    assert not PluginMetricsBucket.objects.filter(plugin_name="qr-code").exists()
    page = ops_client.get(f"{CHANGELIST}{plugin.pk}/change/").content.decode()
    assert "just now by ops" in page


def test_an_operator_is_offered_no_plugin_action_and_cannot_post_one(db: None) -> None:
    operator = get_user_model().objects.create_user("watcher", password="x" * 12, is_staff=True)
    operator.groups.add(Group.objects.get(name="operators"))
    client = Client()
    client.force_login(operator)
    plugin = PluginRegistry.objects.get(name="ocr")

    listing = client.get(CHANGELIST)
    page = client.get(f"{CHANGELIST}{plugin.pk}/change/")
    client.post(
        CHANGELIST,
        {"action": "disable_plugins", "_selected_action": [plugin.pk], "apply": "1", "reason": "x"},
    )

    assert listing.status_code == page.status_code == 200
    assert 'name="action"' not in listing.content.decode()
    plugin.refresh_from_db()
    assert not plugin.disabled
