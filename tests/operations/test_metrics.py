"""/metrics, parsed with prometheus_client's own text parser.

In-process for what the collector reads and who may scrape; then the acceptance test: a known
mix of executions on two real gunicorn servers and a real qcluster, and one scrape that counts
every one of them exactly.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token

from execution.models import Job, JobMode, JobStatus
from execution.services import AnalysisExecutionService
from execution.validation import ExecutionRequest
from registry.models import Outcome, PluginState
from registry.services import update_execution_metrics
from tests import images
from tests.conftest import b64
from tests.execution.cluster import qcluster, wait_for
from tests.execution.web import api_request, gunicorn
from tests.helpers import job_of

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample as {(name, sorted labels): value}."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def counted(samples: Samples, *, success: int, refused: int, faults: int) -> bool:
    """The executions and errors of image-metadata (successes, refused inputs) and test-raises
    (faults) are exactly these, every other outcome of theirs 0. Asserts, so a failure shows
    the figures."""
    executions = {
        (labels["plugin"], labels["outcome"]): found
        for (name, items), found in samples.items()
        if name == "execution_plugin_executions_total"
        and (labels := dict(items))["plugin"] in ("image-metadata", "test-raises")
    }
    errors = {
        (labels["plugin"], labels["code"]): found
        for (name, items), found in samples.items()
        if name == "execution_plugin_errors_total" and (labels := dict(items))
    }
    assert executions == {
        ("image-metadata", "success"): success,
        ("image-metadata", "input_refused"): refused,
        ("image-metadata", "plugin_fault"): 0,
        ("test-raises", "success"): 0,
        ("test-raises", "input_refused"): 0,
        ("test-raises", "plugin_fault"): faults,
    }
    assert errors == {
        ("image-metadata", "IMAGE_NOT_BASE64"): refused,
        ("test-raises", "PLUGIN_FAILED"): faults,
    }
    return True


def scrape(client: Client, **headers: Any) -> Samples:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return parse(response.content.decode())


def _execute(plugin: str, image: str | None = None) -> Job:
    request = ExecutionRequest(
        plugin=plugin, image=image or b64(images.small_png()), mime_type="image/png"
    )
    return AnalysisExecutionService().execute(request=request)


@pytest.mark.every_database
@pytest.mark.django_db
@pytest.mark.usefixtures("synced_registry")
def test_the_scrape_reads_counts_states_errors_and_buckets(client: Client, user: Any) -> None:
    for _ in range(2):
        _execute("image-metadata")
    _execute("test-raises")
    _execute("image-metadata", image="not base64!")
    # One execution of a known duration: 7 ms falls under the 10 ms bound, not the 5 ms one.
    update_execution_metrics(
        plugin_name="test-echo", outcome=Outcome.SUCCESS, elapsed_ms=7.0, state=None
    )

    samples = scrape(client)

    assert counted(samples, success=2, refused=1, faults=1)
    assert not any(
        name == "execution_plugin_errors_total" and dict(labels)["code"] == ""
        for name, labels in samples
    )

    state = "execution_plugin_state"
    assert value(samples, state, plugin="test-raises", state=PluginState.FAILED) == 1
    assert value(samples, state, plugin="test-raises", state=PluginState.INITIALIZED) == 0
    # Each plugin is in exactly one state.
    in_state: dict[str, float] = {}
    for (name, labels), found in samples.items():
        if name == state:
            plugin = dict(labels)["plugin"]
            in_state[plugin] = in_state.get(plugin, 0) + found
    assert set(in_state.values()) == {1}

    bucket = "execution_plugin_duration_seconds_bucket"
    echo = {"plugin": "test-echo", "outcome": "success"}
    assert value(samples, bucket, le="0.005", **echo) == 0
    assert value(samples, bucket, le="0.01", **echo) == 1
    assert value(samples, bucket, le="120.0", **echo) == 1
    assert value(samples, bucket, le="+Inf", **echo) == 1
    assert value(samples, "execution_plugin_duration_seconds_sum", **echo) == pytest.approx(0.007)
    assert value(samples, "execution_plugin_duration_seconds_count", **echo) == 1
    metadata = {"plugin": "image-metadata", "outcome": "success"}
    assert value(samples, "execution_plugin_duration_seconds_count", **metadata) == 2

    assert value(samples, "execution_jobs", status="SUCCESS") == 2
    assert value(samples, "execution_jobs", status="FAILED") == 2
    assert value(samples, "execution_jobs", status="PENDING") == 0
    assert value(samples, "execution_queue_depth") == 0
    assert value(samples, "execution_oldest_pending_seconds") == 0
    # No job or user ids as labels: every label is one of these.
    assert {key for _, labels in samples for key, _ in labels} <= {
        "plugin",
        "outcome",
        "code",
        "state",
        "status",
        "le",
    }


@pytest.mark.django_db
def test_queue_depth_and_the_oldest_waiting_job(client: Client, user: Any) -> None:
    now = timezone.now()
    job_of(user, queued_at=now - timedelta(seconds=90))
    job_of(user, queued_at=now - timedelta(seconds=10))
    job_of(user, mode=JobMode.SYNC)  # not waiting for a worker
    job_of(user, JobStatus.RUNNING, queued_at=now - timedelta(seconds=300))

    samples = scrape(client)

    assert value(samples, "execution_queue_depth") == 2
    assert 90 <= value(samples, "execution_oldest_pending_seconds") < 120
    assert value(samples, "execution_jobs", status="PENDING") == 3
    assert value(samples, "execution_jobs", status="RUNNING") == 1


@pytest.mark.django_db
def test_a_token_or_an_allowed_address_is_required_once_configured(
    client: Client, settings: Any
) -> None:
    settings.EXECUTION = {
        **settings.EXECUTION,
        "METRICS_TOKEN": "s3cret",
        "METRICS_ALLOWED_IPS": ["10.1.0.0/16"],
    }
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="bearer s3cret").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret2").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Token s3cret").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 403
    assert client.post("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 405


# --- Acceptance: two web processes and a worker, one exact scrape ---------------------------


@pytest.fixture
def deployment(
    synced_registry: None, server_env: Callable[..., dict[str, str]], tmp_path: Path
) -> Iterator[dict[str, Any]]:
    env = server_env(workers=1, extra={"LOG_FORMAT": "json", "EXECUTION_METRICS_ALLOWED_IPS": ""})
    with ExitStack() as running:
        webs = [
            f"http://127.0.0.1:{running.enter_context(gunicorn(env, tmp_path / f'web-{n}.log'))[1]}"
            for n in range(2)
        ]
        cluster = running.enter_context(qcluster(env=env, log_path=tmp_path / "qcluster.log"))
        yield {"webs": webs, "cluster": cluster}


@pytest.mark.every_database
def test_one_scrape_counts_every_execution_of_every_process(
    deployment: dict[str, Any], user: Any
) -> None:
    token = Token.objects.create(user=user).key
    first, second = deployment["webs"]
    png = b64(images.small_png())
    ok = {"plugin": "image-metadata", "image": png, "mime_type": "image/png"}
    crash = {"plugin": "test-raises", "image": png, "mime_type": "image/png"}
    garbage = {"plugin": "image-metadata", "image": "not base64!", "mime_type": "image/png"}
    sent = [
        (f"{first}/v1/analyze-execution", ok, 200, 3),
        (f"{first}/v1/analyze-execution", crash, 400, 1),
        (f"{second}/v1/analyze-execution", ok, 200, 2),
        (f"{second}/v1/analyze-execution", garbage, 400, 2),
        (f"{second}/v1/analyze-execution/async", ok, 202, 2),
        (f"{first}/v1/analyze-execution/async", crash, 202, 1),
    ]
    for url, body, status, times in sent:
        for _ in range(times):
            assert api_request(url, token, body)[0] == status
    wait_for(
        lambda: not Job.objects.exclude(status__in=[JobStatus.SUCCESS, JobStatus.FAILED]).exists(),
        timeout=30,
        what="the async jobs to finish",
    )

    with urllib.request.urlopen(f"{second}/metrics", timeout=30) as response:
        samples = parse(response.read().decode())

    assert counted(samples, success=7, refused=2, faults=2)
    count = "execution_plugin_duration_seconds_count"
    assert value(samples, count, plugin="image-metadata", outcome="success") == 7
    assert value(samples, count, plugin="test-raises", outcome="plugin_fault") == 2
    assert value(samples, count, plugin="image-metadata", outcome="input_refused") == 2
    inf = "execution_plugin_duration_seconds_bucket"
    assert value(samples, inf, plugin="image-metadata", outcome="success", le="+Inf") == 7
    state = "execution_plugin_state"
    assert value(samples, state, plugin="image-metadata", state="INITIALIZED") == 1
    assert value(samples, state, plugin="test-raises", state="FAILED") == 1
    assert value(samples, "execution_jobs", status="SUCCESS") == 7
    assert value(samples, "execution_jobs", status="FAILED") == 4
    assert value(samples, "execution_jobs", status="PENDING") == 0
    assert value(samples, "execution_queue_depth") == 0

    # The worker's execution lines are JSON, with the job and the mode bound.
    lines = [
        json.loads(line) for line in deployment["cluster"].log().splitlines() if line[:1] == "{"
    ]
    executions = [line for line in lines if line.get("message") == "execution finished"]
    async_ids = {
        str(pk) for pk in Job.objects.filter(mode=JobMode.ASYNC).values_list("pk", flat=True)
    }
    assert {line["job_id"] for line in executions} == async_ids
    assert {line["mode"] for line in executions} == {"ASYNC"}
    assert sorted(line["outcome"] for line in executions) == ["plugin_fault", "success", "success"]

    # With the cluster gone, a new async job waits, and the scrape says since when.
    deployment["cluster"].stop()
    assert api_request(f"{first}/v1/analyze-execution/async", token, ok)[0] == 202
    with urllib.request.urlopen(f"{first}/metrics", timeout=30) as response:
        samples = parse(response.read().decode())
    assert value(samples, "execution_queue_depth") == 1
    assert value(samples, "execution_jobs", status="PENDING") == 1
    assert 0 < value(samples, "execution_oldest_pending_seconds") < 30
