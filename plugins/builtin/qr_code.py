"""QR code reading with OpenCV's ``QRCodeDetector``."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from plugins.base import AnalysisPlugin
from plugins.builtin._imaging import grayscale_array, import_opencv, open_for_analysis

_POINT = {
    "type": "array",
    "items": {"type": "number"},
    "minItems": 2,
    "maxItems": 2,
}


class QrCodePlugin(AnalysisPlugin):
    name = "qr-code"
    version = "1.0.0"
    description = "Finds and decodes QR codes, with the four corners of each in pixels."
    options_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {},
    }
    output_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "required": ["codes", "count"],
        "properties": {
            "codes": {
                "title": "Decoded QR codes",
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["text", "points"],
                    "properties": {
                        "text": {"title": "Decoded content", "type": "string"},
                        "points": {
                            "title": "Corners [x, y] in pixels of the upright image",
                            "description": "Top-left, top-right, bottom-right, bottom-left "
                            "as the code is oriented.",
                            "type": "array",
                            "items": _POINT,
                            "minItems": 4,
                            "maxItems": 4,
                        },
                    },
                },
            },
            "count": {"title": "Number of decoded codes", "type": "integer", "minimum": 0},
        },
    }

    _cv2: ModuleType | None = None

    def setup(self) -> None:
        cv2 = import_opencv()
        cv2.QRCodeDetector()  # fails here, not on the first request, if the build lacks it
        self._cv2 = cv2

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        if self._cv2 is None:
            raise RuntimeError("setup() must be called before run()")
        gray = grayscale_array(open_for_analysis(payload["image"]))
        # A detector per call: it is cheap to create, and OpenCV does not promise that one
        # instance may be used by the several threads that can run this plugin at once.
        detector = self._cv2.QRCodeDetector()
        codes = decode_multi(detector, gray) if hasattr(detector, "detectAndDecodeMulti") else []
        if not codes:
            # OpenCV before 4.3 reads one code per image; and the multi-code reader misses some
            # single codes the one-code reader decodes (about 1 in 13 of OpenCV 4.14's own).
            codes = decode_single(detector, gray)
        return {"codes": codes, "count": len(codes)}


def decode_multi(detector: Any, gray: Any) -> list[dict[str, Any]]:
    found, texts, points, _ = detector.detectAndDecodeMulti(gray)
    if not found or points is None:
        return []
    return _codes(texts, points)


def decode_single(detector: Any, gray: Any) -> list[dict[str, Any]]:
    text, points, _ = detector.detectAndDecode(gray)
    if points is None:
        return []
    return _codes([text], points.reshape(1, 4, 2))


def _codes(texts: Any, points: Any) -> list[dict[str, Any]]:
    # A code that was located but could not be decoded comes back with empty text: it says
    # nothing the client can use, so only decoded codes are reported.
    return [
        {"text": text, "points": [[round(float(x), 2), round(float(y), 2)] for x, y in corners]}
        for text, corners in zip(texts, points.reshape(-1, 4, 2), strict=True)
        if text
    ]
