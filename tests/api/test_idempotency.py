"""Idempotency-Key on the two POSTs: a retried request gets the first answer back and nothing
runs or is created twice, whatever transport carried it and however the retry raced the first.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.client import encode_multipart
from rest_framework.test import APIClient

from execution.models import IdempotencyRecord, Job
from tests import images
from tests.conftest import b64
from tests.helpers import client_for, plugin_counts

# media_root: an accepted async job stores its image, in the test's own directory.
pytestmark = [pytest.mark.usefixtures("synced_registry", "media_root"), pytest.mark.every_database]

ANALYZE = "/v1/analyze-execution"
ASYNC = "/v1/analyze-execution/async"
POSTS = [ANALYZE, ASYNC]
SUCCESS = {ANALYZE: 200, ASYNC: 202}
PNG = b64(images.small_png())
BODY = {"plugin": "image-metadata", "image": PNG, "mime_type": "image/png"}


def post(client: APIClient, path: str, body: Any, key: str | None = "key-1") -> Any:
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def post_form(client: APIClient, path: str, boundary: str, key: str = "key-1") -> Any:
    """The same form, encoded with the given multipart boundary."""
    fields = {
        "plugin": "image-metadata",
        "image": SimpleUploadedFile("photo.png", images.small_png(), "image/png"),
        "options": json.dumps({"include_exif": False}),
    }
    return client.post(
        path,
        encode_multipart(boundary, fields),
        content_type=f"multipart/form-data; boundary={boundary}",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def job_ids() -> list[str]:
    return [str(pk) for pk in Job.objects.values_list("pk", flat=True)]


def assert_replay_of(first: Any, replay: Any) -> None:
    """The replay is the first response: status, body, Location; only the marker is new."""
    assert replay.status_code == first.status_code
    assert replay.json() == first.json()
    assert replay.get("Location") == first.get("Location")
    assert replay["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first


@pytest.mark.parametrize("path", POSTS)
def test_the_same_key_and_json_body_replays_the_first_response(
    api_client: APIClient, path: str
) -> None:
    first = post(api_client, path, BODY)
    assert first.status_code == SUCCESS[path]
    runs = plugin_counts("image-metadata")

    replay = post(api_client, path, BODY)

    assert_replay_of(first, replay)
    assert job_ids() == [first.json()["job_id"]]
    assert plugin_counts("image-metadata") == runs
    if path == ASYNC:
        assert replay["Location"].endswith(f"/v1/analyze-execution/jobs/{first.json()['job_id']}")


@pytest.mark.parametrize("path", POSTS)
def test_the_same_form_with_another_boundary_is_the_same_request(
    api_client: APIClient, path: str
) -> None:
    """The key is bound to what was sent, not to how it was framed: a client library picks a
    new random boundary for every attempt."""
    first = post_form(api_client, path, "first-attempt-boundary")
    assert first.status_code == SUCCESS[path]
    runs = plugin_counts("image-metadata")

    replay = post_form(api_client, path, "a-Different-b0undary-for-the-retry")

    assert_replay_of(first, replay)
    assert Job.objects.count() == 1
    assert plugin_counts("image-metadata") == runs


def test_a_sync_run_is_replayed_without_running_the_plugin_again(api_client: APIClient) -> None:
    post(api_client, ANALYZE, BODY)
    assert plugin_counts("image-metadata") == (1, 0)

    for _ in range(3):
        assert post(api_client, ANALYZE, BODY)["Idempotent-Replayed"] == "true"

    assert plugin_counts("image-metadata") == (1, 0)
    assert Job.objects.count() == 1


@pytest.mark.parametrize("path", POSTS)
def test_an_answered_failure_is_replayed_too(api_client: APIClient, path: str) -> None:
    """A refusal that created a FAILED job is an answer like any other: the retry gets it back
    and makes no second failed job."""
    first = post(api_client, path, {**BODY, "image": "@@@"})
    assert first.json()["error"]["code"] == "IMAGE_NOT_BASE64"

    replay = post(api_client, path, {**BODY, "image": "@@@"})

    assert_replay_of(first, replay)
    assert Job.objects.count() == 1


@pytest.mark.parametrize("path", POSTS)
def test_the_same_key_with_another_body_is_422_and_creates_nothing(
    api_client: APIClient, path: str
) -> None:
    first = post(api_client, path, BODY)
    runs = plugin_counts("image-metadata")

    response = post(api_client, path, {**BODY, "options": {"include_exif": False}})

    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["details"]) == (
        "IDEMPOTENCY_KEY_REUSED",
        {"idempotency_key": "key-1"},
    )
    assert job_ids() == [first.json()["job_id"]]
    assert plugin_counts("image-metadata") == runs


def test_the_same_key_on_the_other_endpoint_is_another_request(api_client: APIClient) -> None:
    post(api_client, ANALYZE, BODY)

    response = post(api_client, ASYNC, BODY)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize("path", POSTS)
def test_each_client_has_its_own_keys(api_client: APIClient, path: str) -> None:
    other = client_for(get_user_model().objects.create_user(username="other"))

    mine = post(api_client, path, BODY)
    theirs = post(other, path, BODY)

    assert (mine.status_code, theirs.status_code) == (SUCCESS[path], SUCCESS[path])
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["job_id"] != theirs.json()["job_id"]
    assert Job.objects.count() == 2
    assert IdempotencyRecord.objects.filter(key="key-1").count() == 2
    assert post(other, path, BODY).json() == theirs.json()


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(
    "key",
    [
        "",
        "k" * 256,
        # A header's bytes reach Django as latin-1 text (PEP 3333): UTF-8 arrives as mojibake.
        "clé".encode().decode("latin-1"),
        "ключ-1".encode().decode("latin-1"),
        "tab\there",
        "nul\x00",
    ],
)
def test_a_key_that_is_not_1_to_255_printable_ascii_is_400(
    api_client: APIClient, path: str, key: str
) -> None:
    response = post(api_client, path, BODY, key=key)

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("ValidationError", "IDEMPOTENCY_KEY_INVALID")
    assert Job.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0


def test_a_key_of_255_printable_characters_is_accepted(api_client: APIClient) -> None:
    key = "~ !A-z0" * 36 + "abc"
    assert len(key) == 255

    assert post(api_client, ANALYZE, BODY, key=key).status_code == 200
    assert post(api_client, ANALYZE, BODY, key=key)["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("path", POSTS)
def test_a_request_refused_before_it_ran_releases_its_key(api_client: APIClient, path: str) -> None:
    """REQUEST_INVALID answers before anything is created: the client fixes the body and retries
    with the same key, and the retry runs (with another body, a kept key would answer 422)."""
    refused = post(api_client, path, {"image": PNG})
    assert refused.json()["error"]["code"] == "REQUEST_INVALID"
    assert IdempotencyRecord.objects.count() == 0

    fixed = post(api_client, path, BODY)

    assert fixed.status_code == SUCCESS[path]
    assert "Idempotent-Replayed" not in fixed
    assert Job.objects.count() == 1
    assert post(api_client, path, BODY)["Idempotent-Replayed"] == "true"


def test_without_a_key_every_request_runs(api_client: APIClient) -> None:
    for _ in range(2):
        assert "Idempotent-Replayed" not in post(api_client, ANALYZE, BODY, key=None)

    assert Job.objects.count() == 2
    assert plugin_counts("image-metadata") == (2, 0)


@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_with_one_key_run_the_plugin_once(user: Any) -> None:
    """Two threads, each with its own connection and real commits, send the same slow request
    with the same key at the same moment. The unique key decides: one runs (200), the other is
    told the first is still running (409); a retry afterwards gets the replay."""
    body = {**BODY, "plugin": "test-sleeps", "options": {"seconds": 1}}
    start = threading.Barrier(2)
    responses: list[Any] = []

    def send() -> None:
        client = client_for(user)
        try:
            start.wait()
            responses.append(post(client, ANALYZE, body, key="race"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)

    ran, refused = sorted(responses, key=lambda response: response.status_code)
    assert ran.status_code == 200
    assert ran.json()["result"] == {"slept": 1}
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert (error["code"], error["details"]) == (
        "IDEMPOTENT_REQUEST_IN_PROGRESS",
        {"idempotency_key": "race"},
    )
    assert job_ids() == [ran.json()["job_id"]]
    assert plugin_counts("test-sleeps") == (1, 0)

    retry = post(client_for(user), ANALYZE, body, key="race")

    assert_replay_of(ran, retry)
    assert Job.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_503_is_not_replayed_the_key_stays_usable(api_client: Any, monkeypatch: Any) -> None:
    """A queue that refused the job said "retry later": the retry must really be tried."""
    from execution.services import job_execution

    real_async_task = job_execution.async_task
    calls: list[Any] = []

    def down_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            raise ConnectionError("Connection refused")
        return real_async_task(*args, **kwargs)

    monkeypatch.setattr(job_execution, "async_task", down_once)
    body = {"plugin": "image-metadata", "image": b64(images.small_png()), "mime_type": "image/png"}
    headers = {"HTTP_IDEMPOTENCY_KEY": "retry-me"}

    first = api_client.post("/v1/analyze-execution/async", body, format="json", **headers)
    second = api_client.post("/v1/analyze-execution/async", body, format="json", **headers)

    assert (first.status_code, second.status_code) == (503, 202)
    assert "Idempotent-Replayed" not in second
    assert len(calls) == 2
