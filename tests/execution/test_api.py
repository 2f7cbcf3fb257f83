"""The /v1 API end to end: HTTP → services → ToolRunner → real plugin → database."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from execution.models import Job, JobMode, JobStatus
from registry.models import PluginRegistry, PluginState
from tests import images
from tests.conftest import b64
from tests.helpers import plugin_counts

pytestmark = pytest.mark.usefixtures("synced_registry")

ANALYZE = "/v1/analyze-execution"


def analyze(client: APIClient, **body: Any) -> Any:
    return client.post(ANALYZE, body, format="json")


def test_faces_in_a_real_photograph(api_client: APIClient) -> None:
    response = analyze(
        api_client,
        plugin="face-detection",
        image=b64(images.astronaut_jpeg()),
        mime_type="image/jpeg",
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"job_id", "status", "plugin", "result", "execution_time_ms"}
    assert body["status"] == "SUCCESS"
    assert body["plugin"] == "face-detection"
    assert body["result"]["count"] == 1
    face = body["result"]["faces"][0]
    # Eileen Collins' face sits in the upper middle of the 512 x 512 photograph.
    assert 150 < face["x"] < 220
    assert 40 < face["y"] < 110
    assert body["execution_time_ms"] > 0
    assert plugin_counts("face-detection") == (1, 0)


def test_qr_code_text(api_client: APIClient) -> None:
    response = analyze(
        api_client,
        plugin="qr-code",
        image=b64(images.qr_code_png("https://example.org/job/42")),
        mime_type="image/png",
    )

    assert response.status_code == 200
    assert [code["text"] for code in response.json()["result"]["codes"]] == [
        "https://example.org/job/42"
    ]


def test_multipart_upload_takes_the_mime_type_from_the_file_part(api_client: APIClient) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("astronaut.jpg", images.astronaut_jpeg(), "image/jpeg")
    response = api_client.post(
        ANALYZE,
        {"plugin": "image-metadata", "image": upload, "options": json.dumps({})},
        format="multipart",
    )

    assert response.status_code == 200
    assert response.json()["result"]["format"] == "JPEG"
    assert response.json()["result"]["width"] == 512


def test_every_sync_execution_is_a_job_the_client_can_read_back(api_client: APIClient) -> None:
    job_id = analyze(
        api_client, plugin="image-metadata", image=b64(images.small_png()), mime_type="image/png"
    ).json()["job_id"]

    response = api_client.get(f"/v1/analyze-execution/jobs/{job_id}")

    assert response.status_code == 200
    job = response.json()
    assert job["job_id"] == job_id
    assert job["status"] == "SUCCESS"
    assert job["mode"] == "SYNC"
    assert job["plugin"] == "image-metadata"
    assert job["image_size"] == len(images.small_png())
    assert job["image_sha256"] == hashlib.sha256(images.small_png()).hexdigest()
    assert job["error"] is None
    assert job["started_at"] >= job["created_at"]
    assert job["finished_at"] >= job["started_at"]
    stored = Job.objects.get(pk=job_id)
    assert (stored.mode, stored.status) == (JobMode.SYNC, JobStatus.SUCCESS)


PNG = b64(images.small_png())


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"plugin": "image-metadata", "mime_type": "image/png"}, 400, "IMAGE_MISSING"),
        ({"plugin": "image-metadata", "image": "", "mime_type": "image/png"}, 400, "IMAGE_EMPTY"),
        (
            {"plugin": "image-metadata", "image": "@@@", "mime_type": "image/png"},
            400,
            "IMAGE_NOT_BASE64",
        ),
        (
            {"plugin": "image-metadata", "image": PNG, "mime_type": "text/plain"},
            400,
            "MIME_TYPE_UNSUPPORTED",
        ),
        (
            {"plugin": "image-metadata", "image": PNG, "mime_type": "image/jpeg"},
            400,
            "MIME_TYPE_MISMATCH",
        ),
        ({"plugin": "image-metadata", "image": PNG}, 400, "MIME_TYPE_MISSING"),
        (
            {
                "plugin": "face-detection",
                "image": PNG,
                "mime_type": "image/png",
                "options": {"min_size": "big"},
            },
            400,
            "OPTIONS_INVALID",
        ),
        (
            {"plugin": "face-detection", "image": PNG, "mime_type": "image/png", "options": "fast"},
            400,
            "OPTIONS_INVALID",
        ),
    ],
)
def test_bad_input_is_an_envelope_with_its_code_and_counts_as_an_error(
    api_client: APIClient, body: dict, status: int, code: str
) -> None:
    response = analyze(api_client, **body)

    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["type"] == "ValidationError"
    assert error["plugin"] == body["plugin"]
    assert plugin_counts(body["plugin"]) == (0, 1)
    job = Job.objects.get(pk=error["job_id"])
    assert (job.status, job.error_code) == (JobStatus.FAILED, code)
    assert job.error == response.json()


def test_unknown_plugin_fails_the_job_and_lists_the_available_ones(api_client: APIClient) -> None:
    response = analyze(api_client, plugin="tarot-reader", image=PNG, mime_type="image/png")

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"], error["plugin"]) == (
        "PluginError",
        "PLUGIN_NOT_FOUND",
        "tarot-reader",
    )
    assert "face-detection" in error["details"]["available"]
    assert Job.objects.get(pk=error["job_id"]).status == JobStatus.FAILED
    assert not PluginRegistry.objects.filter(name="tarot-reader").exists()


def test_an_unavailable_plugin_is_refused_with_its_reason(api_client: APIClient) -> None:
    PluginRegistry.objects.filter(name="ocr").update(
        state=PluginState.UNAVAILABLE, reason="disabled by an operator (ops)"
    )

    response = analyze(api_client, plugin="ocr", image=PNG, mime_type="image/png")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "PLUGIN_UNAVAILABLE"
    assert error["details"] == {"reason": "disabled by an operator (ops)"}
    assert plugin_counts("ocr") == (0, 0)


def test_a_failing_plugin_answers_400_and_never_leaks_the_traceback(api_client: APIClient) -> None:
    response = analyze(api_client, plugin="test-raises", image=PNG, mime_type="image/png")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "PLUGIN_FAILED"
    assert "Traceback" not in response.content.decode()
    assert "_internal" not in response.json()
    job = Job.objects.get(pk=response.json()["error"]["job_id"])
    assert "RuntimeError: model weights are corrupt" in job.error_traceback


def test_oversized_image_answers_413(api_client: APIClient, settings: Any) -> None:
    settings.EXECUTION = {**settings.EXECUTION, "MAX_IMAGE_BYTES": 100}
    response = analyze(
        api_client, plugin="image-metadata", image=b64(b"\x00" * 200), mime_type="image/png"
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "IMAGE_TOO_LARGE"


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "plugin"), ({"plugin": ""}, "plugin"), ({"plugin": "x" * 101}, "plugin")],
)
def test_a_malformed_request_writes_no_job(api_client: APIClient, body: dict, field: str) -> None:
    response = analyze(api_client, **body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "REQUEST_INVALID"
    assert field in error["details"]["fields"]
    assert error["job_id"] is None
    assert Job.objects.count() == 0


def test_broken_json_is_an_envelope(api_client: APIClient) -> None:
    response = api_client.post(ANALYZE, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "PARSE_ERROR"
    assert Job.objects.count() == 0


def test_wrong_method_and_unknown_path_are_envelopes(api_client: APIClient) -> None:
    assert api_client.get(ANALYZE).json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    response = api_client.get("/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_plugins_list_and_detail_show_state_schemas_and_metrics(api_client: APIClient) -> None:
    analyze(api_client, plugin="image-metadata", image=PNG, mime_type="image/png")

    listed = {plugin["name"]: plugin for plugin in api_client.get("/v1/plugins").json()}
    assert {"image-metadata", "qr-code", "face-detection", "ocr"} <= set(listed)
    detail = api_client.get("/v1/plugins/image-metadata").json()
    assert detail == listed["image-metadata"]
    assert detail["state"] == "INITIALIZED"
    assert detail["success_count"] == 1
    assert detail["avg_execution_time_ms"] == pytest.approx(detail["last_execution_time_ms"])
    assert detail["options_schema"]["type"] == "object"

    missing = api_client.get("/v1/plugins/tarot-reader")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "PLUGIN_NOT_FOUND"


def test_the_jobs_list_filters_plugin_and_status_in_any_case(api_client: APIClient) -> None:
    analyze(api_client, plugin="image-metadata", image=PNG, mime_type="image/png")
    analyze(api_client, plugin="ocr", image="@@@", mime_type="image/png")

    def listed(query: str) -> list[tuple[str, str]]:
        results = api_client.get(f"/v1/analyze-execution/jobs?{query}").json()["results"]
        return [(job["plugin"], job["status"]) for job in results]

    assert listed("plugin=IMAGE-Metadata") == [("image-metadata", "SUCCESS")]
    assert listed("status=failed") == [("ocr", "FAILED")]
    assert listed("plugin=ocr&status=Success") == []
