from __future__ import annotations

import copy
import io
import json
import logging
import logging.config
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from execution.logs import bind
from execution.models import JobMode
from execution.services import AnalysisExecutionService
from execution.tool_runner.catalog import plugin_catalog
from execution.validation import ExecutionRequest
from tests import images
from tests.conftest import BUILTIN_PLUGINS, MISBEHAVING_PLUGINS, b64


def _configure(log_format: str, stream: io.StringIO) -> None:
    """The project's LOGGING, as settings builds it for LOG_FORMAT, writing to ``stream``."""
    config = copy.deepcopy(settings.LOGGING)
    config["handlers"]["console"]["formatter"] = log_format
    config["handlers"]["console"]["stream"] = stream
    logging.config.dictConfig(config)


@pytest.fixture
def json_lines(settings: Any) -> Iterator[io.StringIO]:
    settings.EXECUTION = {
        **settings.EXECUTION,
        "PLUGINS": [*BUILTIN_PLUGINS, *MISBEHAVING_PLUGINS, "tests.misbehaving_plugins.Chatty"],
    }
    plugin_catalog.cache_clear()
    stream = io.StringIO()
    _configure("json", stream)
    try:
        yield stream
    finally:
        logging.config.dictConfig(settings.LOGGING)
        plugin_catalog.cache_clear()


def _records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _execute(plugin: str, image: str | None = None) -> Any:
    request = ExecutionRequest(
        plugin=plugin, image=image or b64(images.small_png()), mime_type="image/png"
    )
    return AnalysisExecutionService().execute(request=request)


@pytest.mark.django_db
@pytest.mark.usefixtures("synced_registry")
def test_each_execution_writes_one_json_line_with_its_outcome(json_lines: io.StringIO) -> None:
    succeeded = _execute("image-metadata")
    crashed = _execute("test-raises")
    refused = _execute("image-metadata", image="not base64!")

    lines = [r for r in _records(json_lines) if r["logger"] == "execution.executions"]
    worker = f"{socket.gethostname()}:{os.getpid()}"
    expected = [
        (succeeded, "image-metadata", "success", ""),
        (crashed, "test-raises", "plugin_fault", "PLUGIN_FAILED"),
        (refused, "image-metadata", "input_refused", "IMAGE_NOT_BASE64"),
    ]
    assert len(lines) == len(expected)
    for line, (job, plugin, outcome, code) in zip(lines, expected, strict=True):
        assert line["message"] == "execution finished"
        assert line["level"] == "INFO"
        assert {key: line[key] for key in ("job_id", "plugin", "mode", "outcome", "code")} == {
            "job_id": str(job.pk),
            "plugin": plugin,
            "mode": JobMode.SYNC,
            "outcome": outcome,
            "code": code,
        }
        assert line["worker"] == worker
        assert line["duration_ms"] == round(job.execution_time_ms, 3)
        assert "time" in line


@pytest.mark.django_db
@pytest.mark.usefixtures("synced_registry")
def test_a_line_written_during_the_execution_carries_its_job_and_plugin(
    json_lines: io.StringIO,
) -> None:
    job = _execute("test-chatty")
    logging.getLogger("tests.chatty").warning("after the execution")

    chatty = [r for r in _records(json_lines) if r["logger"] == "tests.chatty"]
    assert [r["message"] for r in chatty] == [
        f"looking at {len(images.small_png())} bytes",
        "after the execution",
    ]
    assert (chatty[0]["job_id"], chatty[0]["plugin"], chatty[0]["mode"]) == (
        str(job.pk),
        "test-chatty",
        "SYNC",
    )
    # Outside the execution nothing is bound any more.
    assert "job_id" not in chatty[1]
    assert "plugin" not in chatty[1]


def test_django_q2_lines_get_the_bound_fields_too(json_lines: io.StringIO) -> None:
    with bind(job_id="0b9a3f5e-0000-4000-8000-000000000001", plugin="qr-code", mode="ASYNC"):
        logging.getLogger("django-q").info("Processed something")

    (line,) = [r for r in _records(json_lines) if r["logger"] == "django-q"]
    assert (line["job_id"], line["plugin"], line["mode"]) == (
        "0b9a3f5e-0000-4000-8000-000000000001",
        "qr-code",
        "ASYNC",
    )


def test_bindings_nest_and_unwind(json_lines: io.StringIO) -> None:
    log = logging.getLogger("tests.nesting")
    with bind(plugin="outer"):
        with bind(job_id="j1", plugin="inner"):
            log.info("inner")
        log.info("outer")

    inner, outer = (r for r in _records(json_lines) if r["logger"] == "tests.nesting")
    assert (inner["job_id"], inner["plugin"]) == ("j1", "inner")
    assert outer["plugin"] == "outer"
    assert "job_id" not in outer


def test_the_plain_format_appends_the_fields_before_a_traceback() -> None:
    stream = io.StringIO()
    _configure("plain", stream)
    try:
        with bind(job_id="j2", plugin="ocr", mode="SYNC"):
            try:
                raise ValueError("boom")
            except ValueError:
                logging.getLogger("tests.plain").exception("it broke")
    finally:
        logging.config.dictConfig(settings.LOGGING)

    first, *rest = stream.getvalue().splitlines()
    assert first.endswith("ERROR tests.plain it broke job_id=j2 plugin=ocr mode=SYNC")
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "ValueError: boom"
