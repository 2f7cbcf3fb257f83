"""What a newcomer meets in Swagger UI (/api/docs/): each operation described for clients, and
"Try it out" working with what the page fills in, the request examples and the form's defaults,
sent as they are through the whole chain."""

from __future__ import annotations

import base64
import inspect
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import resolve
from rest_framework.test import APIClient

pytestmark = pytest.mark.usefixtures("synced_registry")

# What Swagger UI puts in a string field that has neither an example nor a default.
SWAGGER_PLACEHOLDER = "string"


@pytest.fixture
def document(db: None) -> dict[str, Any]:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def _docstrings_of_the_view(path: str) -> set[str]:
    """Every docstring in the view class's MRO: the texts drf-spectacular falls back to."""
    view = resolve(
        path.replace("{job_id}", "3f0c2b1e-8d4a-4c5e-9a7b-1f2e3d4c5b6a").replace(
            "{name}", "qr-code"
        )
    ).func.cls  # type: ignore[attr-defined]
    return {inspect.cleandoc(cls.__doc__) for cls in view.__mro__ if cls.__doc__}


def test_every_operation_has_a_summary_and_a_description_written_for_clients(
    document: dict[str, Any],
) -> None:
    leaked = []
    for method, path, operation in _operations(document):
        assert operation.get("summary"), (method, path)
        description = operation.get("description", "")
        assert description, (method, path)
        if inspect.cleandoc(description) in _docstrings_of_the_view(path):
            leaked.append(f"{method} {path}")
    assert leaked == [], "operations showing a code docstring as their description"


def _post_operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(path, op) for method, path, op in _operations(document) if method == "post"]


def test_the_json_examples_succeed_as_they_are(
    document: dict[str, Any], api_client: APIClient, media_root: Any
) -> None:
    posts = _post_operations(document)
    assert len(posts) == 2
    for path, operation in posts:
        examples = operation["requestBody"]["content"]["application/json"]["examples"]
        assert examples, path
        for example in examples.values():
            response = api_client.post(path, example["value"], format="json")
            assert response.status_code in (200, 202), (path, response.json())
            if response.status_code == 200:
                promised = operation["responses"]["200"]["content"]["application/json"]
                (result_example,) = promised["examples"].values()
                assert response.json()["result"] == result_example["value"]["result"]


def test_the_multipart_form_as_swagger_fills_it_succeeds(
    document: dict[str, Any], api_client: APIClient, media_root: Any
) -> None:
    schemas = document["components"]["schemas"]
    for path, operation in _post_operations(document):
        form = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
        properties = schemas[form["$ref"].rsplit("/", 1)[1]]["properties"]
        json_example = next(
            iter(operation["requestBody"]["content"]["application/json"]["examples"].values())
        )["value"]
        filled: dict[str, Any] = {}
        for name, field in properties.items():
            if field.get("format") == "binary":
                image = base64.b64decode(json_example["image"])
                filled[name] = SimpleUploadedFile("image.png", image, content_type="image/png")
            elif name == "plugin":
                filled[name] = json_example["plugin"]
            else:
                value = field.get("example", field.get("default", SWAGGER_PLACEHOLDER))
                if value != "":  # Swagger UI leaves an empty field out of the form
                    filled[name] = value
        response = api_client.post(path, filled, format="multipart")
        assert response.status_code in (200, 202), (path, filled, response.json())
