"""The OpenAPI document is the contract a client is generated from: it must validate, list every
/v1 operation with every error it can answer, and be enough on its own to drive the API.

The last test is such a client: it knows nothing of our code but the document it downloads.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
import yaml
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client as DjangoClient
from drf_spectacular.validation import validate_schema
from rest_framework.authtoken.models import Token
from werkzeug.test import Client, EnvironBuilder, TestResponse

from execution import tasks
from execution.pagination import JOB_COUNT_LIMIT
from execution_project.wsgi import application
from tests import images
from tests.envelopes import ENVELOPE_KEYS, assert_envelope

pytestmark = pytest.mark.every_database

ERROR_ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
# What every authenticated operation can answer, whatever it does.
COMMON_ERRORS = {"401", "403", "405", "406", "429", "503"}
# operationId → (method, path, success status, its own error statuses)
OPERATIONS = {
    "analyze_execution": (
        "post",
        "/v1/analyze-execution",
        "200",
        {"400", "408", "409", "413", "415", "422"},
    ),
    "analyze_execution_async": (
        "post",
        "/v1/analyze-execution/async",
        "202",
        {"400", "408", "409", "413", "415", "422"},
    ),
    "jobs_list": ("get", "/v1/analyze-execution/jobs", "200", {"400", "404"}),
    "jobs_retrieve": ("get", "/v1/analyze-execution/jobs/{job_id}", "200", {"404"}),
    "jobs_cancel": ("delete", "/v1/analyze-execution/jobs/{job_id}", "200", {"404", "409"}),
    "jobs_result": ("get", "/v1/analyze-execution/jobs/{job_id}/result", "200", {"404", "409"}),
    "plugins_list": ("get", "/v1/plugins", "200", set()),
    "plugins_retrieve": ("get", "/v1/plugins/{name}", "200", {"404"}),
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The document as an anonymous client downloads it: no token, no session."""
    response = DjangoClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def operation(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    method, path, _, _ = OPERATIONS[operation_id]
    return document["paths"][path][method]


def test_the_spectacular_command_validates_the_schema_without_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`manage.py spectacular --validate --fail-on-warn` is what CI and a release run; a warning
    there means some part of the API went undocumented, so it fails. drf-spectacular prints its
    warnings and errors to sys.stderr (not to the command's stderr): nothing may reach it."""
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", f"--file={target}")

    printed = capsys.readouterr()
    assert (printed.out, printed.err) == ("", "")
    written = yaml.safe_load(target.read_text())
    assert written["openapi"].startswith("3.")
    assert set(written["paths"]) >= {path for _, path, _, _ in OPERATIONS.values()}


def test_the_served_document_is_a_valid_openapi_3_document_for_anonymous_clients(
    document: dict[str, Any],
) -> None:
    validate_schema(document)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Execution governance server"
    # The served document and the one the command writes are the same document.
    yaml_response = DjangoClient().get("/api/schema/")
    assert yaml_response.status_code == 200
    assert yaml_response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(yaml_response.content) == document


def test_every_v1_operation_is_listed_once_under_its_operation_id(
    document: dict[str, Any],
) -> None:
    listed = {
        details["operationId"]: (method, path)
        for path, item in document["paths"].items()
        if path.startswith("/v1/")
        for method, details in item.items()
    }

    assert listed == {key: (method, path) for key, (method, path, _, _) in OPERATIONS.items()}
    assert {path for path in document["paths"] if not path.startswith("/v1/")} == set()


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_every_error_status_is_documented_as_the_envelope_with_examples(
    document: dict[str, Any], operation_id: str
) -> None:
    _, _, success, errors = OPERATIONS[operation_id]
    responses = operation(document, operation_id)["responses"]

    assert set(responses) == {success, *errors, *COMMON_ERRORS}
    assert responses[success]["content"]["application/json"]["schema"] != ERROR_ENVELOPE
    for status in errors | COMMON_ERRORS:
        (content,) = responses[status]["content"].items()
        media_type, body = content
        assert media_type == "application/json"
        assert body["schema"] == ERROR_ENVELOPE
        assert body["examples"], status
        for example in body["examples"].values():
            assert_envelope(example["value"])


def test_the_envelope_component_matches_what_the_server_answers(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]

    assert schemas["ErrorEnvelope"]["required"] == ["error"]
    assert schemas["ErrorEnvelope"]["properties"]["error"] == {"$ref": "#/components/schemas/Error"}
    error = schemas["Error"]
    assert set(error["required"]) == set(error["properties"])
    assert set(error["properties"]) == ENVELOPE_KEYS


@pytest.mark.parametrize("operation_id", ["analyze_execution", "analyze_execution_async"])
def test_both_posts_document_a_json_and_a_multipart_body(
    document: dict[str, Any], operation_id: str
) -> None:
    details = operation(document, operation_id)
    content = details["requestBody"]["content"]
    schemas = document["components"]["schemas"]

    assert details["requestBody"]["required"] is True
    assert set(content) == {"application/json", "multipart/form-data"}
    as_json = schemas[content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    as_form = schemas[content["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert set(as_json["properties"]) == {"plugin", "image", "mime_type", "options"}
    assert as_json["required"] == ["plugin"]
    assert as_json["properties"]["image"]["format"] == "byte"
    assert as_json["properties"]["options"]["type"] == "object"
    assert set(as_form["properties"]) == {"plugin", "image", "mime_type", "options"}
    assert set(as_form["required"]) == {"plugin", "image"}
    assert as_form["properties"]["image"]["format"] == "binary"
    assert [p["name"] for p in details["parameters"] if p["in"] == "header"] == ["Idempotency-Key"]


def test_the_jobs_list_documents_its_filters_and_its_page(document: dict[str, Any]) -> None:
    """The list answers a page at a time: a client that cannot name the page (or follow its
    cursor) sees only the first one; the page says whether its count is exact."""
    parameters = {p["name"]: p for p in operation(document, "jobs_list")["parameters"]}
    page = document["components"]["schemas"]["JobPage"]

    assert set(parameters) == {"plugin", "status", "page", "cursor"}
    assert {p["in"] for p in parameters.values()} == {"query"}
    assert parameters["page"]["schema"]["type"] == "integer"
    assert parameters["cursor"]["schema"]["type"] == "string"
    assert set(page["properties"]) == {"count", "count_exact", "next", "previous", "results"}
    assert page["properties"]["count"]["maximum"] == JOB_COUNT_LIMIT
    assert page["properties"]["count_exact"]["type"] == "boolean"


# --- the documentation pages --------------------------------------------------------------

ASSET = re.compile(r'(?:src|href)="([^"]+)"')
REMOTE = re.compile(r"""(?:https?:)?//[\w.-]+\.[a-z]{2,}""")


def page(path: str) -> str:
    response = DjangoClient().get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    return response.content.decode()


def assert_assets_are_ours(html: str) -> list[str]:
    """Every script, stylesheet and icon is one of our own static files, found by Django's static
    finders in the sidecar package; nothing is fetched from another host."""
    assets = ASSET.findall(html)
    assert assets
    for url in assets:
        assert url.startswith(f"/{django_settings.STATIC_URL.strip('/')}/drf_spectacular_sidecar/")
        name = url.removeprefix(f"/{django_settings.STATIC_URL.strip('/')}/")
        assert finders.find(name), url
    assert REMOTE.findall(html) == []
    return assets


def test_swagger_ui_is_served_from_our_own_static_files() -> None:
    html = page("/api/docs/")

    assets = assert_assets_are_ours(html)

    assert any(url.endswith("/swagger-ui-bundle.js") for url in assets)
    assert '"/api/schema/"' in html


def test_swagger_ui_does_not_send_the_schema_to_the_online_validator() -> None:
    assert '"validatorUrl": null' in page("/api/docs/")


def test_redoc_is_served_from_our_own_static_files() -> None:
    html = page("/api/redoc/")

    assets = assert_assets_are_ours(html)

    assert any(url.endswith("/redoc.standalone.js") for url in assets)


def test_redoc_loads_its_script_and_the_schema_from_us() -> None:
    """The script and the schema come from this server."""
    html = page("/api/redoc/")

    assert 'spec-url="/api/schema/"' in html
    (script,) = re.findall(r'<script src="([^"]+)"', html)
    assert script.endswith("/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js")
    assert finders.find(script.removeprefix(f"/{django_settings.STATIC_URL.strip('/')}/"))


# --- a client generated from the document alone -------------------------------------------


class SchemaClient:
    """What a client generator makes of the document: operations by operationId, paths and
    methods from the document, bodies filled from the request schemas. It imports nothing of
    ours; every response is checked against the document by schemathesis."""

    def __init__(self, document: dict[str, Any], token: str) -> None:
        self.document = document
        self.schema = schemathesis.openapi.from_dict(document)
        self.http = Client(application)
        self.token = token
        self.operations = {
            details["operationId"]: (method, path)
            for path, item in document["paths"].items()
            for method, details in item.items()
        }

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            *_, name = schema["$ref"].split("/")
            schema = self.document["components"]["schemas"][name]
        return schema

    def body_schema(self, operation_id: str, media_type: str) -> dict[str, Any]:
        method, path = self.operations[operation_id]
        content = self.document["paths"][path][method]["requestBody"]["content"]
        return self.resolve(content[media_type]["schema"])

    def call(
        self,
        operation_id: str,
        *,
        path_parameters: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        form: dict[str, Any] | None = None,
    ) -> TestResponse:
        method, path = self.operations[operation_id]
        url = path.format(**(path_parameters or {}))
        builder = EnvironBuilder(
            path=url,
            method=method.upper(),
            headers={"Authorization": f"Token {self.token}", "Accept": "application/json"},
            json=json_body,
            data=form,
        )
        response = self.http.open(builder)
        # The status and media type must be documented; schemathesis checks the body against
        # the schema documented for them (it passes an undocumented status silently).
        documented = self.document["paths"][path][method]["responses"]
        assert str(response.status_code) in documented, response.get_data(as_text=True)
        assert response.mimetype in documented[str(response.status_code)]["content"]
        self.schema[path][method.upper()].validate_response(response)
        return response


def fill(schema: dict[str, Any], known: dict[str, Any], image: bytes) -> dict[str, Any]:
    """A body with every required property, and every property the client has a value for:
    known values by name, the image by the format the schema gives it."""
    body: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        if prop.get("format") == "byte":
            body[name] = base64.b64encode(image).decode()
        elif prop.get("format") == "binary":
            body[name] = (io.BytesIO(image), "image.png", "image/png")
        elif name in known:
            body[name] = known[name]
    assert set(schema.get("required", [])) <= set(body), (schema, body)
    return body


@pytest.mark.usefixtures("synced_registry", "wsgi_in_the_test_transaction", "media_root")
def test_a_client_generated_from_the_document_alone_submits_and_reads_jobs(
    document: dict[str, Any], user: Any
) -> None:
    client = SchemaClient(document, Token.objects.create(user=user).key)
    png = images.small_png()

    plugins = json.loads(client.call("plugins_list").get_data())
    (plugin,) = [entry["name"] for entry in plugins if entry["name"] == "image-metadata"]
    known = {"plugin": plugin, "mime_type": "image/png"}

    # Run now, as JSON with the image in base64.
    body = fill(client.body_schema("analyze_execution", "application/json"), known, png)
    ran = client.call("analyze_execution", json_body=body)
    assert ran.status_code == 200
    finished = json.loads(ran.get_data())
    assert finished["status"] == "SUCCESS"
    assert finished["result"]["width"] == 8

    job = client.call("jobs_retrieve", path_parameters={"job_id": finished["job_id"]})
    assert json.loads(job.get_data())["status"] == "SUCCESS"
    result = client.call("jobs_result", path_parameters={"job_id": finished["job_id"]})
    assert json.loads(result.get_data())["result"] == finished["result"]

    # Accepted for a worker, as a multipart upload; the job is where Location says.
    form = fill(client.body_schema("analyze_execution_async", "multipart/form-data"), known, png)
    accepted = client.call("analyze_execution_async", form=form)
    assert accepted.status_code == 202
    job_id = json.loads(accepted.get_data())["job_id"]
    assert urlsplit(accepted.headers["Location"]).path == f"/v1/analyze-execution/jobs/{job_id}"
    pending = client.call("jobs_result", path_parameters={"job_id": job_id})
    assert pending.status_code == 409
    assert json.loads(pending.get_data())["error"]["code"] == "JOB_NOT_FINISHED"

    tasks.run_job(job_id)  # what the worker does with the queued task

    done = client.call("jobs_result", path_parameters={"job_id": job_id})
    assert done.status_code == 200
    assert json.loads(done.get_data())["result"] == finished["result"]
    listed = client.call("jobs_list")
    assert {job["job_id"] for job in json.loads(listed.get_data())["results"]} == {
        finished["job_id"],
        job_id,
    }
