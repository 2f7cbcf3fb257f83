"""Schemathesis against the live OpenAPI document, through the real WSGI application.

Every operation the schema lists is called with generated requests: valid ones, invalid ones
(negative mode) and the boundary cases of schemathesis' coverage phase. Each response must be one
the schema documents (status, content type, headers, body), never a 5xx, and every error must be
exactly the envelope with nothing of our internals in it. The run counts what it sent, and a last
test checks that the run was big enough and reached the success path of every operation, so a
run that only ever saw 400s and 404s cannot pass for a good one.

Run with ``CI=true`` for the full run (≥ 1000 requests); locally a smaller run (≥ 300).
"""

from __future__ import annotations

import base64
import os
import random
import uuid
from collections import Counter
from typing import Any

import pytest
import schemathesis
from django.test import Client as DjangoClient
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from execution.api.throttling import TokenRateThrottle
from execution.models import JobMode, JobStatus
from execution_project.wsgi import application
from tests import images
from tests.conftest import scaled_set_up_unavailable
from tests.envelopes import assert_envelope, strings
from tests.helpers import job_of

# Also on the PostgreSQL pass: it refuses what SQLite stores (NUL, unpaired surrogates, NaN).
pytestmark = pytest.mark.every_database

IN_CI = os.environ.get("CI") == "true"
# Hypothesis examples per operation in the fuzzing phase (valid and invalid data together); the
# examples and coverage phases add their own fixed cases on top (about 80 per POST, 16 per GET).
MAX_EXAMPLES = 300 if IN_CI else 60
MIN_REQUESTS = 1000 if IN_CI else 300
# Reproduce a run with SCHEMATHESIS_SEED=<the seed printed by a failing test>.
SEED = int(os.environ.get("SCHEMATHESIS_SEED") or random.randrange(2**32))

# The fixed state every operation's run starts from (rows the fixture creates): a job for each
# branch of the job endpoints, so generated requests reach 200 and 409 and not only 404.
TOKEN = "schemathesis0000000000000000000000000000"
SUCCEEDED = uuid.UUID("00000000-0000-4000-8000-000000000001")
PENDING = uuid.UUID("00000000-0000-4000-8000-000000000002")
FAILED = uuid.UUID("00000000-0000-4000-8000-000000000003")
PNG = base64.b64encode(images.small_png()).decode()

# What the run sent: operation label → count, and ("METHOD /path" as sent, status) → count.
SENT: Counter[str] = Counter()
STATUSES: Counter[tuple[str, int]] = Counter()


def _live_schema() -> dict[str, Any]:
    """The document /api/schema/ serves, plus request examples that can only come from the test:
    a real image for each POST and the ids of the jobs the fixture creates. The examples phase
    sends them as they are, and the fuzzing phase draws on them, so success paths get exercised."""
    # Django's test client: it keeps the database signals out of its request, and at import no
    # fixture does that for the WSGI application yet.
    response = DjangoClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    document = response.json()
    paths = document["paths"]
    json_examples = {
        "metadata": {"plugin": "image-metadata", "image": PNG, "mime_type": "image/png"},
        "data-url": {"plugin": "image-metadata", "image": f"data:image/png;base64,{PNG}"},
        "faces": {
            "plugin": "face-detection",
            "image": PNG,
            "mime_type": "image/png",
            "options": {"min_size": 4},
        },
        "qr-code": {"plugin": "qr-code", "image": PNG, "mime_type": "image/png", "options": {}},
    }
    for path in ("/v1/analyze-execution", "/v1/analyze-execution/async"):
        content = paths[path]["post"]["requestBody"]["content"]
        content["application/json"]["examples"] = {
            name: {"value": value} for name, value in json_examples.items()
        }
    job_ids = {"succeeded": SUCCEEDED, "pending": PENDING, "failed": FAILED}
    for path in (
        "/v1/analyze-execution/jobs/{job_id}",
        "/v1/analyze-execution/jobs/{job_id}/result",
    ):
        for operation in paths[path].values():
            (parameter,) = [p for p in operation["parameters"] if p["name"] == "job_id"]
            parameter["examples"] = {
                name: {"value": str(job_id)} for name, job_id in job_ids.items()
            }
    (name,) = paths["/v1/plugins/{name}"]["get"]["parameters"]
    name["examples"] = {plugin: {"value": plugin} for plugin in ("image-metadata", "qr-code")}
    return document


def _schema() -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                # No .hypothesis/ directory: every run explores afresh (the seed reproduces it).
                "database": "none",
            },
            "phases": {"stateful": {"enabled": False}},
        }
    )
    loaded = schemathesis.openapi.from_dict(_live_schema(), config=config)
    loaded.app = application
    return loaded


if unavailable := scaled_set_up_unavailable():
    # Reading the schema goes through the cache, which is the missing Redis on this pass.
    pytest.skip(f"scaled set-up unavailable: {unavailable}", allow_module_level=True)
schema = _schema()


@pytest.fixture
def state(synced_registry: None, media_root: Any, user: Any, monkeypatch: Any) -> None:
    """A client with a token, plugins synced, the three jobs the schema's examples name, files of
    async jobs under media_root, and a throttle rate the run cannot reach (a run of 1000 429s
    would pass every check and test nothing). TokenRateThrottle is the only throttle configured."""
    print(f"Reproduce this run with SCHEMATHESIS_SEED={SEED}")
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"user": "1000000/minute"})
    Token.objects.create(user=user, key=TOKEN)
    job_of(
        user,
        JobStatus.SUCCESS,
        id=SUCCEEDED,
        mode=JobMode.SYNC,
        mime_type="image/png",
        result={"format": "PNG", "width": 8, "height": 6},
        execution_time_ms=1.5,
    )
    job_of(user, id=PENDING, mime_type="image/png")
    envelope = {
        "error": {
            "type": "ValidationError",
            "code": "IMAGE_UNREADABLE",
            "message": "The image bytes cannot be decoded.",
            "details": {},
            "plugin": "image-metadata",
            "job_id": str(FAILED),
            "timestamp": "2026-11-21T12:00:00Z",
        }
    }
    job_of(
        user,
        JobStatus.FAILED,
        id=FAILED,
        mode=JobMode.SYNC,
        mime_type="image/png",
        error=envelope,
        error_code="IMAGE_UNREADABLE",
    )


def _sent_strings(case: schemathesis.Case) -> list[str]:
    """Every string the request carried, so an echo of the client's own input ("no plugin is
    named 'Error('") is not mistaken for a leak of ours."""
    sent = [case.path]
    for container in (case.path_parameters, case.query, case.headers, case.body):
        sent += strings(container)
    return sent


@pytest.mark.usefixtures("wsgi_in_the_test_transaction", "state")
@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
def test_every_operation_answers_as_documented(case: schemathesis.Case) -> None:
    """One generated request. The checks are chosen rather than all of schemathesis' defaults:
    positive_data_acceptance would call a valid-looking request for an unknown plugin a failure,
    though 400 PLUGIN_NOT_FOUND is the right answer to it."""
    response = case.call(headers={"Authorization": f"Token {TOKEN}"})
    SENT[case.operation.label] += 1
    # Keyed by the method sent: the coverage phase also probes methods the path does not allow.
    STATUSES[f"{case.method.upper()} {case.operation.path}", response.status_code] += 1
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
            negative_data_rejection,
        ],
    )
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    if response.status_code >= 300:
        assert response.headers["content-type"] == ["application/json"]
        assert_envelope(response.json(), sent=_sent_strings(case))


# The status that shows an operation's success path was reached.
SUCCESS = {
    "POST /v1/analyze-execution": 200,
    "POST /v1/analyze-execution/async": 202,
    "GET /v1/analyze-execution/jobs": 200,
    "GET /v1/analyze-execution/jobs/{job_id}": 200,
    "DELETE /v1/analyze-execution/jobs/{job_id}": 200,
    "GET /v1/analyze-execution/jobs/{job_id}/result": 200,
    "GET /v1/plugins": 200,
    "GET /v1/plugins/{name}": 200,
}


def test_the_run_was_big_enough_and_reached_every_success_path(
    request: pytest.FixtureRequest,
) -> None:
    """A run of nothing but 400s and 404s passes every check above and proves little: the run
    must be as big as promised and have reached each operation's success status. It runs after
    the generated tests (pytest keeps a module's order) and reads what they counted; selected on
    its own (``-k``, a node id) it has nothing to read, and only then is skipped."""
    generator = test_every_operation_answers_as_documented.__name__
    if not any(
        item.path == request.node.path and item.name.partition("[")[0] == generator
        for item in request.session.items
    ):
        pytest.skip(f"runs with {generator}, not on its own")
    assert set(SENT) == set(SUCCESS), SENT
    assert sum(SENT.values()) >= MIN_REQUESTS, (SENT, STATUSES)
    print(f"requests sent: {sum(SENT.values())}", dict(SENT), sorted(STATUSES.items()))
    missed = {label for label, status in SUCCESS.items() if not STATUSES[label, status]}
    assert not missed, (missed, STATUSES)
