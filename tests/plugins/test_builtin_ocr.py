from __future__ import annotations

import jsonschema
import pytest

from plugins.base import ImageUnreadable, OptionsUnsupported, PluginUnavailable
from plugins.builtin.ocr import OcrPlugin

LINES = ["Hello governance", "plugin 2024"]


@pytest.fixture(scope="module")
def two_lines(text_image, encode) -> bytes:
    return encode(text_image(LINES))


def test_schemas_are_valid(check_schemas):
    check_schemas(OcrPlugin)


def test_reads_rendered_text(analyse, ocr_plugin, two_lines):
    result = analyse(ocr_plugin, two_lines)

    assert result["text"] == "Hello governance\nplugin 2024"
    assert result["language"] == "eng"
    assert [word["text"] for word in result["words"]] == ["Hello", "governance", "plugin", "2024"]
    assert all(word["confidence"] >= 80 for word in result["words"])
    hello, governance, plugin, year = result["words"]
    # Boxes are in image pixels: words of a line side by side, the second line below.
    assert hello["x"] + hello["width"] < governance["x"]
    assert plugin["x"] + plugin["width"] < year["x"]
    assert hello["y"] + hello["height"] < plugin["y"]
    assert all(word["x"] + word["width"] <= 900 for word in result["words"])


def test_single_line_mode(analyse, ocr_plugin, text_image, encode):
    result = analyse(ocr_plugin, encode(text_image(["Single line 42"])), psm=7, lang="eng")

    assert result["text"] == "Single line 42"
    assert len(result["words"]) == 3


def test_blank_image_has_no_text(analyse, ocr_plugin, blank_png):
    assert analyse(ocr_plugin, blank_png) == {"text": "", "words": [], "language": "eng"}


@pytest.mark.parametrize("language", ["deu", "eng+deu"])
def test_language_not_installed(ocr_plugin, two_lines, language):
    payload = {"image": two_lines, "mime_type": "image/png", "options": {"lang": language}}

    with pytest.raises(OptionsUnsupported, match=r"not installed: deu\. Installed: eng "):
        ocr_plugin.run(payload)


@pytest.mark.parametrize(
    "options",
    [{"psm": 0}, {"psm": 2}, {"psm": 14}, {"lang": "en"}, {"lang": "eng --oem 0"}, {"x": 1}],
)
def test_options_the_schema_rejects(options):
    assert not jsonschema.Draft202012Validator(OcrPlugin.options_schema).is_valid(options)


def test_options_the_schema_accepts():
    validator = jsonschema.Draft202012Validator(OcrPlugin.options_schema)

    assert validator.is_valid({"lang": "chi_sim+eng", "psm": 11})


def test_unreadable_bytes(ocr_plugin, unreadable_bytes):
    with pytest.raises(ImageUnreadable):
        ocr_plugin.run({"image": unreadable_bytes, "mime_type": "image/png", "options": {}})


def test_unavailable_without_tesseract(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH on which there is no tesseract

    with pytest.raises(PluginUnavailable, match=r"Tesseract is not installed.*tesseract-ocr"):
        OcrPlugin().setup()
