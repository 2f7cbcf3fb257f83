"""Plugins that misbehave in every way a C library can, run through the real chain: API (or the
`analyze` command) → services → ToolRunner → the plugin pool's child process → database.

The test process is the server process here: after each misbehaving run, a healthy plugin's
request in this same process still succeeds. Limits are short (tests/conftest.py).
"""

from __future__ import annotations

import io
import json
import os
import signal
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from PIL import Image
from rest_framework.test import APIClient

from execution.models import Job, JobStatus
from execution.services import AnalysisExecutionService
from execution.tool_runner.pool import plugin_pool
from execution.validation import ExecutionRequest
from registry.models import PluginRegistry, PluginState
from tests import images
from tests.conftest import b64
from tests.envelopes import envelope
from tests.helpers import assert_gone, left_behind, plugin_row

pytestmark = pytest.mark.usefixtures("synced_registry")

ANALYZE = "/v1/analyze-execution"

# plugin, options → the code, the details and the envelope type of its failure.
MISBEHAVIOURS = {
    "sleeps forever": (
        "test-sleeps-forever",
        {},
        "PLUGIN_TIMEOUT",
        {"timeout_seconds": 1.0},
    ),
    "spins in C": ("test-spins-in-c", {}, "PLUGIN_TIMEOUT", {"timeout_seconds": 1.0}),
    "os._exit(3)": ("test-exits-process", {"status": 3}, "PLUGIN_CRASHED", {"exit_code": 3}),
    # Status 0 too: the child ended in the middle of a run, which is not a clean exit.
    "os._exit(0)": ("test-exits-process", {"status": 0}, "PLUGIN_CRASHED", {"exit_code": 0}),
    "segfaults": (
        "test-segfaults",
        {},
        "PLUGIN_CRASHED",
        {"signal": "SIGSEGV", "signal_number": 11},
    ),
    "allocates without bound": (
        "test-allocates-forever",
        {},
        "RESOURCE_LIMIT",
        {"limit": "memory_mb", "memory_mb": 1024},
    ),
    "returns a list": (
        "test-returns-list",
        {},
        "OUTPUT_NOT_A_DICT",
        {"returned_type": "list"},
    ),
    "raises": ("test-raises", {}, "PLUGIN_FAILED", {"exception_type": "RuntimeError"}),
    "raises SystemExit(3)": ("test-raises-system-exit", {}, "PLUGIN_EXITED", {"exit_code": 3}),
    "raises KeyboardInterrupt": (
        "test-raises-keyboard-interrupt",
        {},
        "PLUGIN_INTERRUPTED",
        {},
    ),
}


def analyze(client: APIClient, plugin: str, image: bytes | None = None, **options: Any) -> Any:
    return client.post(
        ANALYZE,
        {
            "plugin": plugin,
            "image": b64(image or images.small_png()),
            "mime_type": "image/png",
            "options": options,
        },
        format="json",
    )


def assert_healthy_run_succeeds(client: APIClient) -> None:
    response = analyze(client, "image-metadata")
    assert response.status_code == 200, response.content
    assert response.json()["result"]["width"] == 8


def assert_counted_once_as_fault(plugin: str, code: str) -> None:
    row = plugin_row(plugin)
    assert (row.success_count, row.plugin_fault_count, row.input_refused_count) == (0, 1, 0)
    assert (row.state, row.reason) == (PluginState.FAILED, f"last execution failed: {code}")
    # Whatever ended the run, the sweep finds nothing left to count.
    assert AnalysisExecutionService().jobs.fail_lost_jobs(older_than=timedelta(0)) == []
    assert plugin_row(plugin).plugin_fault_count == 1


@pytest.mark.parametrize(
    ("plugin", "options", "code", "details"),
    list(MISBEHAVIOURS.values()),
    ids=list(MISBEHAVIOURS),
)
def test_a_misbehaving_plugin_fails_its_sync_request_with_its_code_and_the_server_goes_on(
    api_client: APIClient, plugin: str, options: dict, code: str, details: dict
) -> None:
    response = analyze(api_client, plugin, **options)

    status = 400
    error = envelope(response, status, code)
    assert error["details"] == details
    assert error["plugin"] == plugin
    job = Job.objects.get(pk=error["job_id"])
    assert (job.status, job.error_code) == (JobStatus.FAILED, code)
    assert job.execution_time_ms is not None
    assert_counted_once_as_fault(plugin, code)
    assert_healthy_run_succeeds(api_client)


def test_a_plugin_past_its_timeout_leaves_no_process_and_no_file_behind(
    api_client: APIClient, tmp_path: Path
) -> None:
    """The OCR plugin's case, through the whole chain: pytesseract's tesseract kept running after
    its child was killed, past the plugin's CPU limit, and its copy of the client's image stayed
    in /tmp; a client could do it again and again. Now the child's process group dies with it,
    and its temporary directory goes."""
    report = tmp_path / "left.json"
    with left_behind(report) as read:
        response = analyze(api_client, "test-leaves-process", report=str(report))

        error = envelope(response, 400, "PLUGIN_TIMEOUT")
        assert error["details"] == {"timeout_seconds": 1.0}
        assert_gone(read())
    assert_counted_once_as_fault("test-leaves-process", "PLUGIN_TIMEOUT")
    assert_healthy_run_succeeds(api_client)


def test_the_cpu_limit_stops_a_plugin_before_its_timeout(
    api_client: APIClient, settings: Any
) -> None:
    settings.EXECUTION = {
        **settings.EXECUTION,
        "PLUGIN_HOSTING": {"test-spins-in-c": {"timeout_seconds": 20, "cpu_seconds": 1}},
    }

    response = analyze(api_client, "test-spins-in-c")

    error = envelope(response, 400, "RESOURCE_LIMIT")
    assert error["details"] == {"limit": "cpu_seconds", "cpu_seconds": 1}
    assert_counted_once_as_fault("test-spins-in-c", "RESOURCE_LIMIT")
    assert_healthy_run_succeeds(api_client)


@pytest.mark.parametrize(
    ("plugin", "code", "details"),
    [
        ("test-raises-system-exit", "PLUGIN_EXITED", {"exit_code": 3}),
        ("test-raises-keyboard-interrupt", "PLUGIN_INTERRUPTED", {}),
    ],
)
def test_an_inline_plugin_s_base_exceptions_are_its_own_failures_too(
    api_client: APIClient, settings: Any, plugin: str, code: str, details: dict
) -> None:
    """Inline, the plugin runs in this thread: its SystemExit and KeyboardInterrupt must neither
    stop the server nor pass for a timeout."""
    settings.EXECUTION = {**settings.EXECUTION, "PLUGIN_HOSTING": {plugin: {"isolation": "inline"}}}

    error = envelope(analyze(api_client, plugin), 400, code)

    assert error["details"] == details
    assert_counted_once_as_fault(plugin, code)
    assert_healthy_run_succeeds(api_client)


def white_png(side: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (side, side), 255).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def test_face_detection_options_that_crashed_opencv_answer_an_envelope(
    api_client: APIClient, settings: Any
) -> None:
    """The issue's case: on a white 5,800 px PNG, scale_factor 1.01 and min_size 1 made OpenCV
    segfault the server process. The plugin's schema now refuses options that costly (and, past
    it, OpenCV's allocation meets the child's memory limit); the next request, on the same
    child (a pool of one), succeeds."""
    settings.EXECUTION = {**settings.EXECUTION, "POOL_SIZE": 1}
    image = white_png(5800)

    response = analyze(api_client, "face-detection", image, scale_factor=1.01, min_size=1)

    error = envelope(response, 400, "OPTIONS_INVALID")
    assert {problem["path"] for problem in error["details"]["errors"]} == {
        "scale_factor",
        "min_size",
    }
    response = api_client.post(
        ANALYZE,
        {
            "plugin": "face-detection",
            "image": b64(images.astronaut_jpeg()),
            "mime_type": "image/jpeg",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["result"]["count"] >= 1


@pytest.mark.parametrize(
    ("plugin", "options", "code", "details"),
    [
        MISBEHAVIOURS["segfaults"],
        MISBEHAVIOURS["sleeps forever"],
        MISBEHAVIOURS["raises SystemExit(3)"],
    ],
    ids=["segfaults", "sleeps forever", "raises SystemExit(3)"],
)
def test_the_analyze_command_reports_each_failure_and_goes_on(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    plugin: str,
    options: dict,
    code: str,
    details: dict,
) -> None:
    image = tmp_path / "small.png"
    image.write_bytes(images.small_png())

    with pytest.raises(CommandError, match="1 of 1 file"):
        call_command("analyze", plugin, str(image), "--options", json.dumps(options))

    line = json.loads(capsys.readouterr().out)
    assert (line["status"], line["error"]["code"], line["error"]["details"]) == (
        "FAILED",
        code,
        details,
    )
    assert Job.objects.get(pk=line["job_id"]).status == JobStatus.FAILED
    assert_counted_once_as_fault(plugin, code)
    call_command("analyze", "image-metadata", str(image))
    assert json.loads(capsys.readouterr().out)["status"] == "SUCCESS"


# --- The circuit breaker, on the real chain ------------------------------------------------


def test_the_circuit_opens_cools_down_half_opens_and_closes(
    api_client: APIClient, settings: Any
) -> None:
    settings.EXECUTION = {
        **settings.EXECUTION,
        "CIRCUIT_BREAKER_FAILURES": 2,
        "CIRCUIT_BREAKER_COOLDOWN_SECONDS": 60,
    }
    for _ in range(2):
        envelope(analyze(api_client, "test-exits-process", status=3), 400, "PLUGIN_CRASHED")

    row = plugin_row("test-exits-process")
    assert (row.state, row.reason) == (
        PluginState.UNAVAILABLE,
        "circuit open after 2 crashes: PLUGIN_CRASHED",
    )
    listed = api_client.get("/v1/plugins/test-exits-process").json()
    assert (listed["state"], listed["reason"]) == (row.state, row.reason)
    # Open: refused without running (a healthy request included), and not counted.
    error = envelope(analyze(api_client, "test-exits-process"), 400, "PLUGIN_UNAVAILABLE")
    assert error["details"]["reason"] == row.reason
    assert plugin_row("test-exits-process").plugin_fault_count == 2

    # The cooldown passes (aged, not waited for): one trial, which fails, opens it again.
    PluginRegistry.objects.filter(name="test-exits-process").update(
        circuit_open_until=row.circuit_open_until - timedelta(hours=1)
    )
    envelope(analyze(api_client, "test-exits-process", status=3), 400, "PLUGIN_CRASHED")
    row = plugin_row("test-exits-process")
    assert (row.state, row.reason) == (
        PluginState.UNAVAILABLE,
        "circuit open again: the trial run failed with PLUGIN_CRASHED",
    )
    envelope(analyze(api_client, "test-exits-process"), 400, "PLUGIN_UNAVAILABLE")

    # Cooled down again: the trial succeeds and closes the circuit.
    PluginRegistry.objects.filter(name="test-exits-process").update(
        circuit_open_until=row.circuit_open_until - timedelta(hours=1)
    )
    assert analyze(api_client, "test-exits-process").status_code == 200
    row = plugin_row("test-exits-process")
    assert (row.state, row.circuit_open_until, row.consecutive_failures) == (
        PluginState.INITIALIZED,
        None,
        0,
    )
    assert (row.success_count, row.plugin_fault_count) == (1, 3)


def test_raising_plugins_never_open_the_circuit(api_client: APIClient, settings: Any) -> None:
    settings.EXECUTION = {**settings.EXECUTION, "CIRCUIT_BREAKER_FAILURES": 2}
    for _ in range(3):
        envelope(analyze(api_client, "test-raises"), 400, "PLUGIN_FAILED")

    assert plugin_row("test-raises").state == PluginState.FAILED


# --- Our own code stopped: only django-q2's timeout is EXECUTION_TIMEOUT ----------------------


def test_a_real_ctrl_c_while_waiting_for_the_child_is_an_interruption_counted_once() -> None:
    """SIGINT reaches this process (not the child: it ignores SIGINT) while it waits: the job
    records EXECUTION_INTERRUPTED, the run is counted once, and the interrupt goes on."""
    plugin_pool()  # created in this (the main) thread: its handlers chain to pytest's
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()

    with pytest.raises(KeyboardInterrupt):
        AnalysisExecutionService().execute(
            request=ExecutionRequest(
                plugin="test-sleeps",
                image=images.small_png(),
                mime_type="image/png",
                options={"seconds": 5},
            )
        )

    job = Job.objects.get(plugin="test-sleeps")
    assert (job.status, job.error_code) == (JobStatus.FAILED, "EXECUTION_INTERRUPTED")
    assert job.error["error"]["details"] == {"exception_type": "KeyboardInterrupt"}
    assert_counted_once_as_fault("test-sleeps", "EXECUTION_INTERRUPTED")
