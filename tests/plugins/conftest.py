"""Real images for the built-in plugin tests, and a runner that checks the plugin contract.

The images come from ``tests.images``: made in memory, no files and no network.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

import jsonschema
import pytest
from PIL import Image

from plugins.base import AnalysisPlugin, PluginUnavailable
from plugins.builtin.faces import FaceDetectionPlugin
from plugins.builtin.metadata import ImageMetadataPlugin
from plugins.builtin.ocr import OcrPlugin
from plugins.builtin.qr_code import QrCodePlugin
from tests import images

Analyse = Callable[..., dict[str, Any]]
Encode = Callable[..., bytes]
PluginT = TypeVar("PluginT", bound=AnalysisPlugin)


def _side_by_side(*parts: Image.Image) -> Image.Image:
    canvas = Image.new("L", (sum(i.width for i in parts), max(i.height for i in parts)), 255)
    left = 0
    for image in parts:
        canvas.paste(image, (left, 0))
        left += image.width
    return canvas


def _check_schemas(plugin_class: type[AnalysisPlugin]) -> None:
    assert plugin_class.options_schema is not None
    assert plugin_class.output_schema is not None
    jsonschema.Draft202012Validator.check_schema(plugin_class.options_schema)
    jsonschema.Draft202012Validator.check_schema(plugin_class.output_schema)
    assert plugin_class.options_schema["additionalProperties"] is False
    for name, schema in plugin_class.options_schema["properties"].items():
        assert schema.get("title"), f"option {name} has no title"
        assert schema.get("description"), f"option {name} has no description"


# Helpers are handed out as fixtures so that test modules never import from conftest.


@pytest.fixture(scope="session")
def encode() -> Encode:
    """``encode(image, format="PNG", **save_params)`` -> bytes."""
    return images.encode


@pytest.fixture(scope="session")
def qr_code_image() -> Callable[[str], Image.Image]:
    return images.qr_code_image


@pytest.fixture(scope="session")
def side_by_side() -> Callable[..., Image.Image]:
    return _side_by_side


@pytest.fixture(scope="session")
def text_image() -> Callable[..., Image.Image]:
    return images.text_image


@pytest.fixture(scope="session")
def check_schemas() -> Callable[[type[AnalysisPlugin]], None]:
    """Assert that a plugin's schemas are valid draft 2020-12 and its options documented."""
    return _check_schemas


@pytest.fixture
def analyse() -> Analyse:
    """Run a plugin as the execution layer would, and check what it returns.

    Options are validated first (the execution layer guarantees that), and the result must
    match the output schema and come back unchanged through JSON.
    """

    def run(
        plugin: AnalysisPlugin, image: bytes, mime_type: str = "image/png", **options: Any
    ) -> dict[str, Any]:
        jsonschema.Draft202012Validator(plugin.options_schema).validate(options)
        result = plugin.run({"image": image, "mime_type": mime_type, "options": options})
        jsonschema.Draft202012Validator(plugin.output_schema).validate(result)
        assert json.loads(json.dumps(result, allow_nan=False)) == result
        return result

    return run


# Plugins are set up once per test session, as the server sets them up once per process.


def _set_up(plugin_class: type[PluginT]) -> PluginT:
    plugin = plugin_class()
    plugin.setup()
    return plugin


@pytest.fixture(scope="session")
def metadata_plugin() -> ImageMetadataPlugin:
    return _set_up(ImageMetadataPlugin)


@pytest.fixture(scope="session")
def qr_plugin() -> QrCodePlugin:
    return _set_up(QrCodePlugin)


@pytest.fixture(scope="session")
def face_plugin() -> FaceDetectionPlugin:
    return _set_up(FaceDetectionPlugin)


@pytest.fixture(scope="session")
def ocr_plugin() -> OcrPlugin:
    try:
        return _set_up(OcrPlugin)
    except PluginUnavailable as error:
        # Tesseract is a system package; CI installs it, so there it must be found.
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"OCR tests need Tesseract: {error}")


@pytest.fixture(scope="session")
def astronaut() -> Image.Image:
    """A real photograph with exactly one face (astronaut Eileen Collins), 512 x 512."""
    return images.astronaut()


@pytest.fixture(scope="session")
def blank_png() -> bytes:
    return images.encode(Image.new("RGB", (320, 240), "white"))


@pytest.fixture
def truncated_jpeg(astronaut: Image.Image) -> bytes:
    data = images.encode(astronaut, "JPEG")
    return data[: len(data) // 2]


@pytest.fixture(params=["not an image", "png header only"])
def unreadable_bytes(request: pytest.FixtureRequest) -> bytes:
    if request.param == "png header only":
        return b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    return b"this is plain text, not an image"
