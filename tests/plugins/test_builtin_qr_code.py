from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from plugins.base import ImageUnreadable, PluginUnavailable
from plugins.builtin.qr_code import QrCodePlugin, decode_multi, decode_single


def square(left: float, right: float) -> list[list[float]]:
    return [[left, left], [right, left], [right, right], [left, right]]


# OpenCV pads a version 1 code (21 modules) with 2 quiet modules, conftest adds 4 more and
# scales by 8: the code spans pixels 48 to 48 + 21 * 8 - 1 = 215 on both axes.
HELLO_CORNERS = square(48.0, 215.0)


def test_schemas_are_valid(check_schemas):
    check_schemas(QrCodePlugin)


def test_one_code(analyse, qr_plugin, qr_code_image, encode):
    result = analyse(qr_plugin, encode(qr_code_image("hello world")))

    assert result == {"codes": [{"text": "hello world", "points": HELLO_CORNERS}], "count": 1}


def test_two_codes(analyse, qr_plugin, qr_code_image, side_by_side, encode):
    image = side_by_side(qr_code_image("first code"), qr_code_image("https://example.org/2"))

    result = analyse(qr_plugin, encode(image))

    assert result["count"] == 2
    assert sorted(code["text"] for code in result["codes"]) == [
        "first code",
        "https://example.org/2",
    ]


def test_no_code(analyse, qr_plugin, blank_png):
    assert analyse(qr_plugin, blank_png) == {"codes": [], "count": 0}


def test_lossy_jpeg_still_decodes(analyse, qr_plugin, qr_code_image, encode):
    jpeg = encode(qr_code_image("compressed").convert("RGB"), "JPEG", quality=60)

    result = analyse(qr_plugin, jpeg, "image/jpeg")

    assert [code["text"] for code in result["codes"]] == ["compressed"]


def test_code_on_transparent_background(analyse, qr_plugin, qr_code_image, encode):
    # Dark modules opaque, background fully transparent *black*: read naively as grayscale
    # this is a black square; composited onto white, as a viewer shows it, it is a QR code.
    modules = np.asarray(qr_code_image("hello world"))
    rgba = np.zeros((*modules.shape, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(modules == 0, 255, 0)

    result = analyse(qr_plugin, encode(Image.fromarray(rgba, "RGBA")))

    assert result == {"codes": [{"text": "hello world", "points": HELLO_CORNERS}], "count": 1}


def test_single_code_fallback_reads_the_same_code(qr_code_image):
    # The path used with OpenCV older than 4.3, exercised on this OpenCV's detectAndDecode.
    gray = np.asarray(qr_code_image("hello world"))

    single = decode_single(cv2.QRCodeDetector(), gray)

    assert single == [{"text": "hello world", "points": HELLO_CORNERS}]
    assert decode_multi(cv2.QRCodeDetector(), gray) == single


def test_single_code_fallback_without_code():
    assert decode_single(cv2.QRCodeDetector(), np.full((100, 100), 255, np.uint8)) == []


def test_unreadable_bytes(qr_plugin, unreadable_bytes):
    with pytest.raises(ImageUnreadable):
        qr_plugin.run({"image": unreadable_bytes, "mime_type": "image/png", "options": {}})


def test_unavailable_without_opencv(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # makes `import cv2` raise ImportError

    with pytest.raises(PluginUnavailable, match=r"OpenCV is not installed.*opencv-python-headless"):
        QrCodePlugin().setup()


def test_run_before_setup_is_a_programming_error(qr_code_image, encode):
    with pytest.raises(RuntimeError, match="setup"):
        QrCodePlugin().run(
            {"image": encode(qr_code_image("x")), "mime_type": "image/png", "options": {}}
        )


@pytest.mark.parametrize("text", ["https://example.org/job/5", "https://example.org/job/54"])
def test_codes_the_multi_code_reader_misses_are_still_read(
    analyse, qr_plugin, qr_code_image, encode, text
):
    # OpenCV 4.14's detectAndDecodeMulti finds nothing in these clean codes of its own encoder.
    result = analyse(qr_plugin, encode(qr_code_image(text)))

    assert [code["text"] for code in result["codes"]] == [text]
