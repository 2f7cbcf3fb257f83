"""Bounds on what is kept: results, options, what job lists carry, and stored images."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from execution.models import Job, JobStatus
from tests import images
from tests.conftest import b64
from tests.envelopes import envelope
from tests.helpers import client_for, job_of, plugin_counts

pytestmark = [pytest.mark.usefixtures("synced_registry", "media_root"), pytest.mark.every_database]

ANALYZE = "/v1/analyze-execution"
ASYNC = "/v1/analyze-execution/async"
JOBS = "/v1/analyze-execution/jobs"
MIB = 1024 * 1024


def body(**fields: Any) -> dict[str, Any]:
    return {"plugin": "test-echo", "mime_type": "image/png", "image": b64(images.small_png())} | (
        fields
    )


def test_a_50_mb_result_is_refused_and_not_stored(api_client: APIClient) -> None:
    response = api_client.post(ANALYZE, body(plugin="test-returns-huge"), format="json")

    error = envelope(response, 400, "OUTPUT_TOO_LARGE")
    assert error["details"]["max_bytes"] == MIB
    assert error["details"]["size_bytes"] > 50_000_000
    job = Job.objects.get()
    assert (job.status, job.result, job.error_code) == (JobStatus.FAILED, None, "OUTPUT_TOO_LARGE")
    assert plugin_counts("test-returns-huge") == (0, 1)


def test_a_result_at_the_limit_is_kept(api_client: APIClient, settings: Any) -> None:
    settings.EXECUTION = {**settings.EXECUTION, "MAX_RESULT_BYTES": 1000}
    # {"text": "xxx…"} is 12 bytes of JSON around the text.
    fits = api_client.post(
        ANALYZE, body(plugin="test-returns-huge", options={"size": 988}), format="json"
    )
    over = api_client.post(
        ANALYZE, body(plugin="test-returns-huge", options={"size": 989}), format="json"
    )

    assert fits.status_code == 200, fits.json()
    envelope(over, 400, "OUTPUT_TOO_LARGE")


@pytest.mark.parametrize("transport", ["json", "multipart"])
@pytest.mark.parametrize("path", [ANALYZE, ASYNC])
def test_13_mb_of_options_are_refused_at_the_door(
    api_client: APIClient, path: str, transport: str
) -> None:
    options = {"level": 1, "padding": "x" * 13_000_000}
    if transport == "json":
        response = api_client.post(path, body(options=options), format="json")
    else:
        form = body(options=json.dumps(options))
        response = api_client.post(path, form, format="multipart")

    error = envelope(response, 413, "OPTIONS_TOO_LARGE")
    assert error["details"]["max_bytes"] == 16 * 1024
    assert Job.objects.count() == 0  # nothing stored, nothing queued
    assert plugin_counts("test-echo") == (0, 0)


def test_options_within_the_limit_reach_the_plugin(api_client: APIClient) -> None:
    response = api_client.post(ANALYZE, body(options={"level": 3}), format="json")

    assert response.status_code == 200
    assert response.json()["result"]["options"] == {"level": 3}


def test_options_as_a_file_part_are_read_as_their_text(api_client: APIClient) -> None:
    """curl -F options=@options.json: the part's JSON, within the same limit."""
    fits = body(options=SimpleUploadedFile("options.json", b'{"level": 3}', "application/json"))
    response = api_client.post(ANALYZE, fits, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json()["result"]["options"] == {"level": 3}

    padding = b"x" * 20_000
    over = body(options=SimpleUploadedFile("o.json", b'{"p": "%s"}' % padding, "application/json"))
    envelope(api_client.post(ANALYZE, over, format="multipart"), 413, "OPTIONS_TOO_LARGE")


def test_job_lists_carry_neither_options_nor_results(api_client: APIClient, user: Any) -> None:
    job = job_of(user, JobStatus.SUCCESS, options={"level": 3}, result={"count": 1})

    listed = api_client.get(JOBS).json()["results"]
    detail = api_client.get(f"{JOBS}/{job.pk}").json()
    result = api_client.get(f"{JOBS}/{job.pk}/result").json()

    assert [row["job_id"] for row in listed] == [str(job.pk)]
    assert "options" not in listed[0]
    assert "result" not in listed[0]
    assert detail["options"] == {"level": 3}
    assert result["result"] == {"count": 1}


# --- stored images ----------------------------------------------------------------------


def submit(client: APIClient) -> Any:
    return client.post(ASYNC, body(plugin="image-metadata"), format="json")


def test_a_client_over_its_image_quota_is_refused(
    api_client: APIClient, user: Any, settings: Any
) -> None:
    size = len(images.small_png())
    settings.EXECUTION = {**settings.EXECUTION, "MAX_STORED_IMAGE_BYTES_PER_CLIENT": 2 * size}
    # A failed job keeps its image for the retention period: it counts.
    failed = job_of(user, JobStatus.FAILED, image_size=size, image="kept-for-retention")
    assert submit(api_client).status_code == 202

    refused = submit(api_client)

    error = envelope(refused, 429, "IMAGE_QUOTA_EXCEEDED")
    assert error["details"] == {"stored_bytes": 2 * size, "limit_bytes": 2 * size, "size": size}
    # Refused at the door: a FAILED job with no image, nothing more stored.
    job = Job.objects.exclude(pk=failed.pk).get(error_code="IMAGE_QUOTA_EXCEEDED")
    assert (job.status, job.image.name) == (JobStatus.FAILED, "")
    # Another client has its own quota.
    other = client_for(get_user_model().objects.create_user("other"))
    assert submit(other).status_code == 202


def test_a_full_image_store_is_refused_for_everyone(
    api_client: APIClient, user: Any, settings: Any
) -> None:
    size = len(images.small_png())
    settings.EXECUTION = {**settings.EXECUTION, "MAX_STORED_IMAGE_BYTES": 2 * size}
    other = client_for(get_user_model().objects.create_user("other"))
    assert submit(api_client).status_code == 202
    assert submit(other).status_code == 202

    error = envelope(submit(api_client), 503, "IMAGE_STORAGE_FULL")
    assert error["details"] == {"stored_bytes": 2 * size, "limit_bytes": 2 * size, "size": size}
    # A job that ran frees its image, and with it the room.
    Job.objects.filter(status=JobStatus.PENDING).update(status=JobStatus.SUCCESS, image="")
    assert submit(other).status_code == 202


# --- one answer for one cause -----------------------------------------------------------


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares its size and holds no pixels: all a header check reads."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )


@pytest.mark.parametrize(("width", "height"), [(8000, 8000), (30000, 30000)])
@pytest.mark.parametrize("path", [ANALYZE, ASYNC])
def test_too_many_pixels_is_one_answer_whatever_the_size(
    api_client: APIClient, path: str, width: int, height: int
) -> None:
    """64 Mpx and 900 Mpx: past our limit, and the second past Pillow's bomb limit too."""
    image = b64(png_header(width, height))

    response = api_client.post(path, body(plugin="image-metadata", image=image), format="json")

    error = envelope(response, 413, "IMAGE_TOO_LARGE")
    assert error["details"] == {"width": width, "height": height, "max_pixels": 50_000_000}
