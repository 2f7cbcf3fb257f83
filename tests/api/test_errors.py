"""Every error status of /v1, each provoked by a real request: the answer is exactly the error
envelope with its code, and never a 500, a traceback or an exception's repr.

Schemathesis (test_schemathesis.py) explores what the schema describes; these are the cases it
cannot reach on its own (a broken body, a lying Content-Length, a database that went away) and the
junk a real client sends (wrong types, emoji, right-to-left text, NUL characters).
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate

from execution.api import throttling
from execution.api.idempotency import request_fingerprint
from execution.api.parsers import JSONBodyParser
from execution.api.throttling import FailedAuthenticationThrottle, TokenRateThrottle
from execution.api.views import AnalyzeExecutionView
from execution.models import IdempotencyRecord, Job, JobMode, JobStatus
from tests import images
from tests.conftest import b64
from tests.envelopes import envelope
from tests.helpers import client_for, job_of

# media_root: an accepted async job stores its image, in the test's own directory.
pytestmark = [pytest.mark.usefixtures("synced_registry", "media_root"), pytest.mark.every_database]

ANALYZE = "/v1/analyze-execution"
ASYNC = "/v1/analyze-execution/async"
JOBS = "/v1/analyze-execution/jobs"
POSTS = [ANALYZE, ASYNC]
PNG = b64(images.small_png())
VALID = {"plugin": "image-metadata", "image": PNG, "mime_type": "image/png"}


def post_json(client: APIClient, path: str, body: Any, **extra: Any) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json", **extra)


# --- 400 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", POSTS)
def test_a_body_without_plugin_is_request_invalid_naming_the_field(
    api_client: APIClient, path: str
) -> None:
    error = envelope(
        post_json(api_client, path, {"image": PNG, "mime_type": "image/png", "options": []}),
        400,
        "REQUEST_INVALID",
    )

    assert error["type"] == "ValidationError"
    assert error["details"] == {"fields": {"plugin": ["This field is required."]}}
    assert error["job_id"] is None
    assert Job.objects.count() == 0


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"plugin": "image-metadata",', b'{"plugin": NaN}', b"\xff\xfe{}", b"[1,]"],
)
def test_a_body_that_is_not_json_is_a_parse_error(
    api_client: APIClient, path: str, raw: bytes
) -> None:
    error = envelope(
        api_client.post(path, raw, content_type="application/json"), 400, "PARSE_ERROR"
    )

    assert error["type"] == "ValidationError"
    assert Job.objects.count() == 0


# Wrong types and junk in every field of the JSON body: (body, code, where it is reported).
# REQUEST_INVALID from the serializer names the field in details.fields and writes no job; the
# rest are refused by the ToolRunner's validation, on a FAILED job.
JUNK = [
    # plugin
    ({**VALID, "plugin": []}, "REQUEST_INVALID", "plugin"),
    ({**VALID, "plugin": ["image-metadata"]}, "REQUEST_INVALID", "plugin"),
    ({**VALID, "plugin": {"name": "image-metadata"}}, "REQUEST_INVALID", "plugin"),
    ({**VALID, "plugin": None}, "REQUEST_INVALID", "plugin"),
    ({**VALID, "plugin": True}, "REQUEST_INVALID", "plugin"),
    ({**VALID, "plugin": "image\x00metadata"}, "REQUEST_INVALID", "plugin"),
    ({**VALID, "plugin": "\ud800"}, "REQUEST_INVALID", "plugin"),
    ({**VALID, "plugin": "x" * 101}, "REQUEST_INVALID", "plugin"),
    # DRF's CharField takes a number as its text, so the name is looked up, and not found.
    ({**VALID, "plugin": 42}, "PLUGIN_NOT_FOUND", None),
    ({**VALID, "plugin": 1.5e300}, "PLUGIN_NOT_FOUND", None),
    ({**VALID, "plugin": "🎉 שלום עולם"}, "PLUGIN_NOT_FOUND", None),
    ({**VALID, "plugin": "\u202eatadatem-egami"}, "PLUGIN_NOT_FOUND", None),
    # image
    ({**VALID, "image": 12}, "REQUEST_INVALID", "image"),
    ({**VALID, "image": {"bytes": PNG}}, "REQUEST_INVALID", "image"),
    ({**VALID, "image": [PNG]}, "REQUEST_INVALID", "image"),
    ({**VALID, "image": False}, "REQUEST_INVALID", "image"),
    ({**VALID, "image": "🎉"}, "IMAGE_NOT_BASE64", None),
    ({**VALID, "image": "שלום"}, "IMAGE_NOT_BASE64", None),
    ({**VALID, "image": PNG + "\x00"}, "IMAGE_NOT_BASE64", None),
    ({**VALID, "image": "\ud800"}, "IMAGE_NOT_BASE64", None),
    ({**VALID, "image": "data:image/png;base64,\x00"}, "IMAGE_NOT_BASE64", None),
    ({**VALID, "image": None}, "IMAGE_MISSING", None),
    # mime_type
    ({**VALID, "mime_type": ["image/png"]}, "REQUEST_INVALID", "mime_type"),
    ({**VALID, "mime_type": {"type": "image/png"}}, "REQUEST_INVALID", "mime_type"),
    ({**VALID, "mime_type": "image/png\x00"}, "REQUEST_INVALID", "mime_type"),
    ({**VALID, "mime_type": 5}, "MIME_TYPE_UNSUPPORTED", None),
    ({**VALID, "mime_type": "\u202eimage/png"}, "MIME_TYPE_UNSUPPORTED", None),
    ({**VALID, "mime_type": "图像/png"}, "MIME_TYPE_UNSUPPORTED", None),
    # options
    ({**VALID, "options": []}, "OPTIONS_INVALID", None),
    ({**VALID, "options": [{"include_exif": True}]}, "OPTIONS_INVALID", None),
    ({**VALID, "options": "include_exif"}, "OPTIONS_INVALID", None),
    ({**VALID, "options": 3}, "OPTIONS_INVALID", None),
    ({**VALID, "options": True}, "OPTIONS_INVALID", None),
    # Text that is not JSON to Python: an integer past 4,300 digits, nesting past its limit.
    ({**VALID, "options": '{"min_size": 1' + "0" * 5000 + "}"}, "OPTIONS_INVALID", None),
    ({**VALID, "options": "[" * 5000}, "OPTIONS_INVALID", None),
    # JSON Schema's integer takes 1.0, which OpenCV refused as the plugin's failure.
    (
        {**VALID, "plugin": "face-detection", "options": {"min_neighbors": 1.0}},
        "OPTIONS_INVALID",
        None,
    ),
    ({**VALID, "options": {"🎉": "שלום"}}, "OPTIONS_INVALID", None),
    ({**VALID, "options": {"include_exif": "\u202eyes"}}, "OPTIONS_INVALID", None),
    ({**VALID, "options": {"include_exif": "\x00"}}, "REQUEST_INVALID", "options"),
    ({**VALID, "options": {"\x00": True}}, "REQUEST_INVALID", "options"),
    ({**VALID, "options": {"include_exif": ["\ud800"]}}, "REQUEST_INVALID", "options"),
    # the body itself
    ([VALID], "REQUEST_INVALID", "non_field_errors"),
    ("image-metadata", "REQUEST_INVALID", "non_field_errors"),
    (12, "REQUEST_INVALID", "non_field_errors"),
    (None, "REQUEST_INVALID", "non_field_errors"),
]


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(("body", "code", "field"), JUNK)
def test_junk_in_any_field_is_a_400_envelope(
    api_client: APIClient, path: str, body: Any, code: str, field: str | None
) -> None:
    error = envelope(post_json(api_client, path, body), 400, code)

    if field is not None:
        assert list(error["details"]["fields"]) == [field]
        assert error["job_id"] is None
        assert Job.objects.count() == 0
    else:
        job = Job.objects.get()
        assert str(job.pk) == error["job_id"]
        assert (job.status, job.error_code) == (JobStatus.FAILED, code)
        assert job.error == {"error": error}


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(
    "raw",
    # JSON numbers past a float's range parse to infinity, which no JSON column can store.
    [b'{"a": 1e999}', b'{"a": [-1e999]}', b'{"\\ud800": 1}'],
)
def test_options_a_json_column_cannot_store_are_request_invalid_not_a_database_error(
    api_client: APIClient, path: str, raw: bytes
) -> None:
    body = b'{"plugin": "image-metadata", "image": "%s", "options": %s}' % (PNG.encode(), raw)

    error = envelope(
        api_client.post(path, body, content_type="application/json"), 400, "REQUEST_INVALID"
    )

    assert list(error["details"]["fields"]) == ["options"]
    assert Job.objects.count() == 0


# A file part, as (file name, bytes, content type): made into an upload by each test, since an
# upload is read once.
PNG_PART = ("x.png", images.small_png(), "image/png")


def form(**fields: Any) -> dict[str, Any]:
    return {"plugin": "image-metadata", "image": PNG_PART, **fields}


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"image": PNG_PART}, "REQUEST_INVALID"),
        (form(plugin="image\x00metadata"), "REQUEST_INVALID"),
        (form(options='{"include_exif": NaN}'), "REQUEST_INVALID"),
        (form(options='{"x": "\\u0000"}'), "REQUEST_INVALID"),
        (form(plugin="🎉 שלום"), "PLUGIN_NOT_FOUND"),
        (form(options="{not json"), "OPTIONS_INVALID"),
        (form(options='["include_exif"]'), "OPTIONS_INVALID"),
        (form(options='{"min_size": 1' + "0" * 5000 + "}"), "OPTIONS_INVALID"),
        (form(mime_type="\u202eimage/png"), "MIME_TYPE_UNSUPPORTED"),
        (form(image="🎉", mime_type="image/png"), "IMAGE_NOT_BASE64"),
        (form(image=("x.png", "שלום 🎉".encode(), "image/png")), "IMAGE_UNREADABLE"),
        (form(image=("🎉.png", images.small_png(), "text/plain")), "MIME_TYPE_UNSUPPORTED"),
        (form(image=("x.png", b"", "image/png")), "IMAGE_EMPTY"),
        # The part's Content-Type would be stored as the job's mime_type: a text column (and
        # PostgreSQL's above all) refuses NUL, so it is refused at the door.
        (form(image=("x.png", images.small_png(), "image/png\x00")), "REQUEST_INVALID"),
    ],
)
def test_junk_in_a_multipart_form_is_a_400_envelope(
    api_client: APIClient, path: str, fields: dict[str, Any], code: str
) -> None:
    data = {
        name: SimpleUploadedFile(*value) if isinstance(value, tuple) else value
        for name, value in fields.items()
    }

    envelope(api_client.post(path, data, format="multipart"), 400, code)


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("many", ["fields", "files"])
def test_a_form_past_django_s_limits_is_told_the_limit(
    api_client: APIClient, settings: Any, path: str, many: str
) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = settings.DATA_UPLOAD_MAX_NUMBER_FILES = 5
    data: dict[str, Any] = form()
    data["image"] = SimpleUploadedFile(*PNG_PART)
    for number in range(6):
        data[f"extra{number}"] = (
            "x" if many == "fields" else SimpleUploadedFile(f"{number}.png", b"x", "image/png")
        )

    error = envelope(api_client.post(path, data, format="multipart"), 400, "REQUEST_INVALID")

    assert error["message"] == f"The request has more than 5 {many}."
    assert error["details"] == {f"max_{many}": 5}
    assert Job.objects.count() == 0


# --- 401 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "code"),
    [
        ({}, "NOT_AUTHENTICATED"),
        ({"HTTP_AUTHORIZATION": "Token not-a-token"}, "AUTHENTICATION_FAILED"),
        ({"HTTP_AUTHORIZATION": "Token two words"}, "AUTHENTICATION_FAILED"),
        ({"HTTP_AUTHORIZATION": "Token"}, "AUTHENTICATION_FAILED"),
        # A header's bytes reach Django as latin-1 text (PEP 3333): UTF-8 arrives as mojibake.
        ({"HTTP_AUTHORIZATION": "Token 🎉".encode().decode("latin-1")}, "AUTHENTICATION_FAILED"),
        # Another scheme is not ours to judge: no credentials, as far as we are concerned.
        ({"HTTP_AUTHORIZATION": "Bearer abc"}, "NOT_AUTHENTICATED"),
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", ANALYZE),
        ("post", ASYNC),
        ("get", JOBS),
        ("get", f"{JOBS}/x"),
        ("delete", f"{JOBS}/x"),
        ("get", "/v1/plugins"),
    ],
)
def test_missing_or_bad_credentials_are_401_with_www_authenticate(
    credentials: dict[str, str], code: str, method: str, path: str
) -> None:
    client = APIClient()
    client.credentials(**credentials)

    response = getattr(client, method)(path, VALID, format="json")

    envelope(response, 401, code)
    assert response["WWW-Authenticate"] == "Token"
    assert Job.objects.count() == 0


def test_the_token_of_a_deactivated_user_is_refused(user: Any) -> None:
    client = client_for(user)
    user.is_active = False
    user.save()

    response = client.get("/v1/plugins")

    assert envelope(response, 401, "AUTHENTICATION_FAILED")["message"] == (
        "User inactive or deleted."
    )


# --- 403 ---------------------------------------------------------------------------------


def test_a_session_post_without_a_csrf_token_is_403(user: Any) -> None:
    """A browser session must prove the request came from our pages; a token client need not."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/v1/plugins").status_code == 200

    response = client.post(ANALYZE, VALID, format="json")

    error = envelope(response, 403, "PERMISSION_DENIED")
    assert error["message"].startswith("CSRF Failed")
    assert Job.objects.count() == 0


# --- 404 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/no-such-thing"),
        ("get", "/v1"),
        ("post", "/v1/analyze"),
        ("get", "/v1/plugins/image-metadata/versions"),
        ("get", "/v1/analyze-execution/"),
        ("get", "/v1/%F0%9F%8E%89"),
        ("delete", f"{JOBS}/{uuid.uuid4()}/result/extra"),
    ],
)
def test_a_path_with_no_endpoint_is_404_not_found(
    api_client: APIClient, method: str, path: str
) -> None:
    envelope(getattr(api_client, method)(path), 404, "NOT_FOUND")


@pytest.mark.parametrize("job_id", [str(uuid.uuid4()), "not-a-uuid", "🎉", "1 OR 1=1", "%00"])
@pytest.mark.parametrize("suffix", ["", "/result"])
def test_an_unknown_job_is_404_job_not_found(
    api_client: APIClient, job_id: str, suffix: str
) -> None:
    error = envelope(api_client.get(f"{JOBS}/{job_id}{suffix}"), 404, "JOB_NOT_FOUND")

    assert error["type"] == "ExecutionError"


@pytest.mark.parametrize("job_id", [str(uuid.uuid4()), "not-a-uuid", "🎉", "1 OR 1=1", "%00"])
def test_cancelling_an_unknown_job_is_404(api_client: APIClient, job_id: str) -> None:
    envelope(api_client.delete(f"{JOBS}/{job_id}"), 404, "JOB_NOT_FOUND")


@pytest.mark.parametrize("mode", [JobMode.SYNC, JobMode.ASYNC])
def test_another_clients_job_is_404_for_every_verb(api_client: APIClient, mode: JobMode) -> None:
    other = get_user_model().objects.create_user(username="other")
    job = job_of(other, plugin="ocr", mode=mode)

    envelope(api_client.get(f"{JOBS}/{job.pk}"), 404, "JOB_NOT_FOUND")
    envelope(api_client.get(f"{JOBS}/{job.pk}/result"), 404, "JOB_NOT_FOUND")
    envelope(api_client.delete(f"{JOBS}/{job.pk}"), 404, "JOB_NOT_FOUND")
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING


@pytest.mark.parametrize("name", ["tarot-reader", "🎉", "%00", "x" * 300])
def test_an_unknown_plugin_is_404_plugin_not_found(api_client: APIClient, name: str) -> None:
    error = envelope(api_client.get(f"/v1/plugins/{name}"), 404, "PLUGIN_NOT_FOUND")

    assert error["type"] == "PluginError"
    # As a run naming it is told: the names there are, and the name as a job would store it.
    assert "image-metadata" in error["details"]["available"]
    assert error["plugin"] == (unquote(name).replace("\x00", "")[:100] or None)


@pytest.mark.parametrize(
    # Past the end; not a positive integer (DRF alone would read "" as 1, "last" as the last
    # page, and the last of repeated values); digits that are not ASCII.
    "query",
    ["page=99", "page=0", "page=-1", "page=", "page=last", "page=1&page=1", "page=%D9%A1"],
)
def test_a_page_that_does_not_exist_is_404(api_client: APIClient, query: str) -> None:
    error = envelope(api_client.get(f"{JOBS}?{query}"), 404, "NOT_FOUND")

    assert error["message"] == "Invalid page."


def test_the_first_page_may_be_named(api_client: APIClient) -> None:
    response = api_client.get(f"{JOBS}?page=1")

    assert response.status_code == 200
    assert response.json()["count"] == 0


# --- 405, 406 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("put", ANALYZE, "POST"),
        ("get", ANALYZE, "POST"),
        ("patch", ASYNC, "POST"),
        ("post", JOBS, "GET"),
        ("post", f"{JOBS}/{uuid.uuid4()}", "GET, DELETE"),
        ("delete", "/v1/plugins/ocr", "GET"),
    ],
)
def test_a_method_the_endpoint_does_not_have_is_405(
    api_client: APIClient, method: str, path: str, allowed: str
) -> None:
    response = getattr(api_client, method)(path, VALID, format="json")

    envelope(response, 405, "METHOD_NOT_ALLOWED")
    assert allowed in response["Allow"]
    assert Job.objects.count() == 0


@pytest.mark.parametrize("path", ["/v1/plugins", JOBS, "/v1/plugins/ocr"])
@pytest.mark.parametrize("accept", ["text/html", "application/xml", "image/png"])
def test_an_accept_header_we_cannot_satisfy_is_406(
    api_client: APIClient, path: str, accept: str
) -> None:
    envelope(api_client.get(path, HTTP_ACCEPT=accept), 406, "NOT_ACCEPTABLE")


# --- 409 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [JobStatus.PENDING, JobStatus.RUNNING])
def test_the_result_of_an_unfinished_job_is_409(
    api_client: APIClient, user: Any, status: JobStatus
) -> None:
    job = job_of(user, status)

    error = envelope(api_client.get(f"{JOBS}/{job.pk}/result"), 409, "JOB_NOT_FINISHED")

    assert error["type"] == "ExecutionError"
    assert error["details"] == {"job_id": str(job.pk), "status": status}


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (JobStatus.SUCCESS, "JOB_ALREADY_FINISHED"),
        (JobStatus.FAILED, "JOB_ALREADY_FINISHED"),
        (JobStatus.CANCELLED, "JOB_ALREADY_FINISHED"),
        (JobStatus.RUNNING, "JOB_STATE_CONFLICT"),
    ],
)
def test_cancelling_a_job_that_is_not_pending_is_409(
    api_client: APIClient, user: Any, status: JobStatus, code: str
) -> None:
    """A refused cancel changes nothing: not the row (its status, its finish) and not the stored
    image of a job that still has one (a RUNNING job's worker needs it; a FAILED job's is
    retained for an operator)."""
    now = timezone.now()
    job = job_of(
        user,
        status,
        started_at=None if status == JobStatus.CANCELLED else now - timedelta(seconds=2),
        finished_at=None if status == JobStatus.RUNNING else now - timedelta(seconds=1),
    )
    if status in {JobStatus.RUNNING, JobStatus.FAILED}:
        job.image.save(str(job.pk), ContentFile(images.small_png()))

    error = envelope(api_client.delete(f"{JOBS}/{job.pk}"), 409, code)

    assert error["type"] == "ExecutionError"
    assert error["details"] == {"job_id": str(job.pk), "status": status}
    after = Job.objects.get(pk=job.pk)
    assert (after.status, after.finished_at) == (status, job.finished_at)
    assert after.image.name == job.image.name
    if job.image:
        assert after.image.storage.exists(after.image.name)


@pytest.mark.parametrize("path", POSTS)
def test_a_key_whose_first_request_is_still_running_is_409(
    api_client: APIClient, user: Any, path: str
) -> None:
    """The in-progress claim is what a concurrent first request leaves in the table
    (test_idempotency.py races two real requests); here it is written directly."""
    drf_request = Request(APIRequestFactory().post(path, VALID, format="json"), [JSONBodyParser()])
    IdempotencyRecord.objects.create(
        user=user, key="in-flight", fingerprint=request_fingerprint(drf_request)
    )

    response = post_json(api_client, path, VALID, HTTP_IDEMPOTENCY_KEY="in-flight")

    error = envelope(response, 409, "IDEMPOTENT_REQUEST_IN_PROGRESS")
    assert error["details"] == {"idempotency_key": "in-flight"}
    assert Job.objects.count() == 0


# --- 413 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("authenticated", [True, False])
def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(
    api_client: APIClient, settings: Any, path: str, authenticated: bool
) -> None:
    """The body sent is tiny and valid; only its declared length is over the limit. Refusing it
    proves the answer came from the Content-Length alone, before parsing or authentication."""
    settings.EXECUTION = {**settings.EXECUTION, "MAX_REQUEST_BYTES": 1000}
    client = api_client if authenticated else APIClient()

    response = post_json(client, path, VALID, CONTENT_LENGTH="1001")

    error = envelope(response, 413, "REQUEST_TOO_LARGE")
    assert error["details"] == {"max_bytes": 1000, "size": 1001}
    assert Job.objects.count() == 0


@pytest.mark.parametrize("path", POSTS)
def test_a_real_body_over_the_limit_is_413(api_client: APIClient, settings: Any, path: str) -> None:
    settings.EXECUTION = {**settings.EXECUTION, "MAX_REQUEST_BYTES": 1000}

    response = post_json(api_client, path, {**VALID, "image": "A" * 2000})

    assert envelope(response, 413, "REQUEST_TOO_LARGE")["details"]["max_bytes"] == 1000
    assert Job.objects.count() == 0


def test_a_json_body_over_the_memory_limit_is_413(api_client: APIClient, settings: Any) -> None:
    """Within the request limit but over Django's DATA_UPLOAD_MAX_MEMORY_SIZE."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = post_json(api_client, ANALYZE, {**VALID, "options": {"pad": "x" * 2000}})

    envelope(response, 413, "REQUEST_TOO_LARGE")
    assert Job.objects.count() == 0


def test_a_form_field_over_the_memory_limit_is_413(api_client: APIClient, settings: Any) -> None:
    """Within the request limit, but one text field of the form is over Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE: the parser's refusal is the same envelope."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = api_client.post(
        ANALYZE,
        {"plugin": "image-metadata", "image": PNG * 20, "mime_type": "image/png"},
        format="multipart",
    )

    envelope(response, 413, "REQUEST_TOO_LARGE")
    assert Job.objects.count() == 0


def test_a_file_part_over_the_limit_is_stopped_by_the_upload_handlers(
    user: Any, settings: Any
) -> None:
    """A body without a trustworthy Content-Length (chunked, behind some servers) gets past the
    middleware; the upload handlers count the file part as it streams in. The view is called
    without the middleware to show that second line of defence on its own."""
    settings.EXECUTION = {**settings.EXECUTION, "MAX_REQUEST_BYTES": 1000}
    upload = SimpleUploadedFile("big.png", images.small_png() + b"\x00" * 2000, "image/png")
    request = APIRequestFactory().post(
        ANALYZE, {"plugin": "image-metadata", "image": upload}, format="multipart"
    )
    force_authenticate(request, user=user)

    response = AnalyzeExecutionView.as_view()(request)
    response.render()

    envelope(response, 413, "REQUEST_TOO_LARGE")
    assert Job.objects.count() == 0


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("transport", ["json", "multipart"])
def test_an_image_over_the_image_limit_is_413_image_too_large(
    api_client: APIClient, settings: Any, path: str, transport: str
) -> None:
    settings.EXECUTION = {**settings.EXECUTION, "MAX_IMAGE_BYTES": 100}
    image = images.small_png() + b"\x00" * 200
    if transport == "json":
        response = post_json(api_client, path, {**VALID, "image": b64(image)})
    else:
        upload = SimpleUploadedFile("big.png", image, "image/png")
        response = api_client.post(
            path, {"plugin": "image-metadata", "image": upload}, format="multipart"
        )

    error = envelope(response, 413, "IMAGE_TOO_LARGE")
    assert error["type"] == "ValidationError"
    assert error["details"]["max_bytes"] == 100
    assert Job.objects.get().error_code == "IMAGE_TOO_LARGE"


# --- 415 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/csv", "plugin,image\nimage-metadata,abc\n"),
        ("application/xml", "<request><plugin>image-metadata</plugin></request>"),
        ("application/x-www-form-urlencoded", "plugin=image-metadata"),
        ("text/plain", json.dumps(VALID)),
    ],
)
def test_a_body_in_a_media_type_we_do_not_parse_is_415(
    api_client: APIClient, path: str, content_type: str, body: str
) -> None:
    response = api_client.post(path, body, content_type=content_type)

    error = envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert content_type in error["message"]
    assert Job.objects.count() == 0


# --- 422 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", POSTS)
def test_a_key_reused_with_another_body_is_422(api_client: APIClient, path: str) -> None:
    first = post_json(api_client, path, VALID, HTTP_IDEMPOTENCY_KEY="order-1")
    assert first.status_code == {ANALYZE: 200, ASYNC: 202}[path]

    response = post_json(
        api_client, path, {**VALID, "plugin": "qr-code"}, HTTP_IDEMPOTENCY_KEY="order-1"
    )

    error = envelope(response, 422, "IDEMPOTENCY_KEY_REUSED")
    assert error["details"] == {"idempotency_key": "order-1"}
    assert Job.objects.count() == 1


# --- 429 ---------------------------------------------------------------------------------


def test_over_the_rate_is_429_with_retry_after(api_client: APIClient, monkeypatch: Any) -> None:
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"user": "2/minute"})
    monkeypatch.setattr(TokenRateThrottle, "timer", lambda self: 1_000_030.0)  # one window
    for _ in range(2):
        assert api_client.get("/v1/plugins").status_code == 200

    response = api_client.get("/v1/plugins")

    error = envelope(response, 429, "THROTTLED")
    assert error["type"] == "ExecutionError"
    # The window ends 50 s after the moment the timer gives: the header and the message agree.
    assert response["Retry-After"] == "50"
    assert "50 seconds" in error["message"]
    # Throttled before the body is looked at: a POST over the rate writes nothing.
    envelope(post_json(api_client, ANALYZE, VALID), 429, "THROTTLED")
    assert Job.objects.count() == 0


# --- 503 ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("method", "path"), [("get", "/v1/plugins"), ("post", ANALYZE)])
def test_an_unreachable_database_is_503(user: Any, method: str, path: str) -> None:
    """The database goes away for one request: token authentication needs it, so the failure
    happens inside DRF, and the client is told to retry rather than shown a 500."""
    client = client_for(user)
    name = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = str(Path(name).parent / "no-such-directory" / "db.sqlite3")
    try:
        response = getattr(client, method)(path, VALID, format="json")
    finally:
        connection.close()
        connection.settings_dict["NAME"] = name

    error = envelope(response, 503, "SERVICE_UNAVAILABLE")
    assert error["type"] == "ExecutionError"
    assert client.get("/v1/plugins").status_code == 200


def test_json_nested_past_the_parsers_depth_is_a_parse_error(api_client: Any) -> None:
    body = "[" * 100_000 + "]" * 100_000

    response = api_client.post(ANALYZE, body, content_type="application/json")

    envelope(response, 400, "PARSE_ERROR")


def test_a_form_with_more_fields_than_django_allows_is_refused(api_client: Any) -> None:
    fields = {f"field{number}": "x" for number in range(1500)}  # Django allows 1000

    response = api_client.post(ANALYZE, {"plugin": "ocr", **fields}, format="multipart")

    envelope(response, 400, "REQUEST_INVALID")


@pytest.fixture
def token_guesser(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], APIClient]:
    """``token_guesser(failures)``: allow that many failed authentications a minute from an
    address, and get a client that sends a token that does not exist."""

    def guesser(failures: int) -> APIClient:
        rates = {"failed_auth": f"{failures}/minute"}
        monkeypatch.setattr(FailedAuthenticationThrottle, "THROTTLE_RATES", rates)
        # One clock reading for the whole test: a minute that turned mid-test would start a
        # new window and let more failures through as 401.
        monkeypatch.setattr(FailedAuthenticationThrottle, "timer", lambda self: 1_000_030.0)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
        return client

    return guesser


def test_an_address_that_keeps_failing_to_authenticate_is_throttled(
    token_guesser: Callable[[int], APIClient], user: Any
) -> None:
    """Guessing tokens: after the allowed failures, that address's failures answer 429; a valid
    token from the same address (behind a proxy: every client) is never refused for them."""
    guesser = token_guesser(3)
    honest = client_for(user)
    statuses = []
    for _ in range(100):
        statuses.append(guesser.get("/v1/plugins").status_code)
        assert honest.get("/v1/plugins").status_code == 200

    assert statuses == [401, 401, 401] + [429] * 97
    blocked = guesser.get("/v1/plugins")
    envelope(blocked, 429, "THROTTLED")
    assert 0 < int(blocked["Retry-After"]) <= 61


def concurrent_failure_counts(failures: int) -> list[int]:
    """Count ``failures`` failed authentications of one address from 8 threads at once; the
    counts they saw, in order."""
    request = APIRequestFactory().get("/v1/plugins")

    def counted(_: int) -> int | None:
        return FailedAuthenticationThrottle().count(Request(request), None)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return sorted(count or 0 for count in pool.map(counted, range(failures)))


def test_failed_authentications_are_counted_atomically(
    token_guesser: Callable[[int], APIClient],
) -> None:
    """Concurrent failures from one address each count: 40 at once against a limit of 20 give
    exactly 20 answers of 401 and 20 of 429 (DRF's list of moments lost counts here)."""
    token_guesser(20)

    assert concurrent_failure_counts(40) == list(range(1, 41))


@pytest.mark.scaled
def test_failed_authentications_are_counted_atomically_in_redis(
    token_guesser: Callable[[int], APIClient], settings: Any
) -> None:
    """The same on the scaled set-up's Redis, from threads with connections of their own."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": f"atomic-test-{uuid.uuid4()}",
        }
    }
    token_guesser(20)

    assert concurrent_failure_counts(40) == list(range(1, 41))


def test_a_request_for_a_host_we_do_not_serve_is_an_envelope_under_v1(api_client: Any) -> None:
    response = api_client.get("/v1/plugins", HTTP_HOST="evil.example")

    envelope(response, 400, "REQUEST_INVALID")
    assert api_client.get("/admin/", HTTP_HOST="evil.example")["Content-Type"].startswith(
        "text/html"
    )


# --- found by the acceptance audit ------------------------------------------------------


def test_throttling_fails_open_when_redis_is_gone(
    api_client: APIClient, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """On the scaled set-up the throttle counters live in Redis; with Redis away, the API still
    answers (a sync run needs only the database) and says once that it does not throttle."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    throttling._last_warned = 0.0

    with caplog.at_level(logging.WARNING, logger="execution.api.throttling"):
        assert api_client.get("/v1/plugins").status_code == 200
        assert api_client.get("/v1/plugins").status_code == 200
        envelope(APIClient().get("/v1/plugins"), 401, "NOT_AUTHENTICATED")

    warnings = [r.getMessage() for r in caplog.records if r.name == "execution.api.throttling"]
    assert len(warnings) == 1
    assert warnings[0].startswith("Throttle cache unreachable, requests are not throttled")


def test_a_forwarded_for_header_does_not_change_the_throttled_address(
    token_guesser: Callable[[int], APIClient],
) -> None:
    """With no proxy configured, X-Forwarded-For is the client's own word: ignored."""
    guesser = token_guesser(2)
    statuses = [
        guesser.get("/v1/plugins", HTTP_X_FORWARDED_FOR=f"10.0.0.{number}").status_code
        for number in range(3)
    ]

    assert statuses == [401, 401, 429]


def test_a_chunked_body_is_refused_with_411(api_client: APIClient) -> None:
    response = api_client.post(
        ANALYZE, b"", content_type="application/json", HTTP_TRANSFER_ENCODING="chunked"
    )

    envelope(response, 411, "LENGTH_REQUIRED")


def test_unknown_v1_paths_are_envelopes_with_debug_on_too(
    api_client: APIClient, settings: Any
) -> None:
    settings.DEBUG = True

    envelope(api_client.get("/v1/no/such/thing"), 404, "NOT_FOUND")


def test_a_job_error_names_the_job_in_the_envelope(api_client: APIClient, user: Any) -> None:
    job = job_of(user, plugin="ocr")

    error = envelope(
        api_client.get(f"/v1/analyze-execution/jobs/{job.pk}/result"), 409, "JOB_NOT_FINISHED"
    )

    assert error["job_id"] == str(job.pk)
