"""Frontal face detection with the Haar cascade that ships with OpenCV (Viola-Jones)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from plugins.base import AnalysisPlugin, PluginUnavailable
from plugins.builtin._imaging import grayscale_array, import_opencv, open_for_analysis

CASCADE_FILE = "haarcascade_frontalface_default.xml"
_OPENCV_4 = "install `opencv-python-headless>=4.9,<5`"

_INTEGER_PIXELS = {"type": "integer", "minimum": 0}


class FaceDetectionPlugin(AnalysisPlugin):
    name = "face-detection"
    version = "1.0.0"
    description = (
        "Finds frontal faces with OpenCV's Haar cascade and returns their bounding boxes. "
        "Fast and dependency-free, but misses profiles and strongly tilted faces."
    )
    options_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "scale_factor": {
                "title": "Scale factor",
                "description": "How much the image shrinks between detection passes (default "
                "1.1). Smaller finds more faces but is slower; the floor of 1.01 stops a "
                "request from asking for thousands of passes.",
                "type": "number",
                "minimum": 1.01,
                "maximum": 2,
                "default": 1.1,
            },
            "min_neighbors": {
                "title": "Minimum neighbours",
                "description": "Overlapping detections needed to keep a face (default 5). "
                "Higher means fewer false positives and more missed faces.",
                "type": "integer",
                "minimum": 0,
                "maximum": 50,
                "default": 5,
            },
            "min_size": {
                "title": "Minimum face size",
                "description": "Smallest face side, in pixels, to look for (default 30).",
                "type": "integer",
                "minimum": 1,
                "maximum": 10000,
                "default": 30,
            },
        },
    }
    output_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "required": ["faces", "count", "image_width", "image_height"],
        "properties": {
            "faces": {
                "title": "Face bounding boxes, in pixels of the upright image, top to bottom",
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["x", "y", "width", "height"],
                    "properties": {
                        "x": _INTEGER_PIXELS,
                        "y": _INTEGER_PIXELS,
                        "width": _INTEGER_PIXELS,
                        "height": _INTEGER_PIXELS,
                    },
                },
            },
            "count": {"title": "Number of faces", "type": "integer", "minimum": 0},
            "image_width": {"title": "Width of the upright image", "type": "integer"},
            "image_height": {"title": "Height of the upright image", "type": "integer"},
        },
    }

    def __init__(self) -> None:
        self._classifier: Any = None
        # The execution layer may call run() on this one instance from several threads, and
        # CascadeClassifier.detectMultiScale is not thread-safe: it keeps its image pyramid
        # buffers on the classifier (with OpenCV 4.14, concurrent calls on images of different
        # sizes fail with "vector::_M_range_check"). One classifier behind a lock is enough:
        # each call already spreads over all cores through OpenCV's own thread pool, so
        # per-thread classifiers would cost memory and load time for little throughput.
        self._lock = threading.Lock()

    def setup(self) -> None:
        cv2 = import_opencv()
        cascades = getattr(getattr(cv2, "data", None), "haarcascades", None)
        if not cascades:
            raise PluginUnavailable(
                f"OpenCV {cv2.__version__} ships no Haar cascades (cv2.data is missing, as in "
                f"OpenCV 5 wheels): {_OPENCV_4}"
            )
        path = Path(cascades) / CASCADE_FILE
        if not path.is_file() or path.stat().st_size == 0:
            raise PluginUnavailable(f"the Haar cascade {path} is missing or empty: {_OPENCV_4}")
        classifier = cv2.CascadeClassifier()
        try:
            loaded = classifier.load(str(path))
        except cv2.error as error:
            raise PluginUnavailable(
                f"OpenCV cannot load the Haar cascade {path}: {error}"
            ) from error
        if not loaded or classifier.empty():
            raise PluginUnavailable(f"OpenCV cannot load the Haar cascade {path}")
        self._classifier = classifier

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        if self._classifier is None:
            raise RuntimeError("setup() must be called before run()")
        options = payload["options"]
        image = open_for_analysis(payload["image"])
        gray = grayscale_array(image)
        min_size = options.get("min_size", 30)
        with self._lock:
            boxes = self._classifier.detectMultiScale(
                gray,
                scaleFactor=options.get("scale_factor", 1.1),
                minNeighbors=options.get("min_neighbors", 5),
                minSize=(min_size, min_size),
            )
        faces = [
            {"x": int(x), "y": int(y), "width": int(width), "height": int(height)}
            for x, y, width, height in sorted((tuple(box) for box in boxes), key=_reading_order)
        ]
        return {
            "faces": faces,
            "count": len(faces),
            "image_width": image.width,
            "image_height": image.height,
        }


def _reading_order(box: tuple[int, ...]) -> tuple[int, int]:
    return box[1], box[0]
