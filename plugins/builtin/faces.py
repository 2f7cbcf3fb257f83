"""Frontal face detection with the Haar cascade that ships with OpenCV (Viola-Jones)."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

from PIL import Image

from plugins.base import AnalysisPlugin, PluginUnavailable
from plugins.builtin._imaging import grayscale_array, import_opencv, open_for_analysis

CASCADE_FILE = "haarcascade_frontalface_default.xml"
# The cascade's detection window: smaller faces cannot be found, whatever min_size says.
CASCADE_WINDOW = 24
# Detection cost grows with the pixels times the pyramid's levels: past this many pixels the
# cascade runs on a downscaled copy (4 Mpx finds faces down to about 2% of a 50 Mpx image's
# width) and the boxes are scaled back to the image's own pixels.
DETECTION_MAX_PIXELS = 4_000_000
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
                "1.1). Smaller finds more faces but is slower; the floor of 1.05 keeps a "
                "request to about twice the default's passes (1.01 cost 10 times the CPU).",
                "type": "number",
                "minimum": 1.05,
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
                "description": "Smallest face side, in pixels of the image, to look for "
                "(default 30; the cascade cannot see faces under 24 pixels).",
                "type": "integer",
                "minimum": CASCADE_WINDOW,
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
        self._set_up = False
        # The execution layer may call run() on this one instance from several threads, and
        # CascadeClassifier.detectMultiScale is not thread-safe: it keeps its image pyramid
        # buffers on the classifier (with OpenCV 4.14, concurrent calls on images of different
        # sizes fail with "vector::_M_range_check"). One classifier behind a lock is enough:
        # each call already spreads over all cores through OpenCV's own thread pool, so
        # per-thread classifiers would cost memory and load time for little throughput.
        self._lock = threading.Lock()

    def setup(self) -> None:
        self._classifier = self._load_classifier()
        self._set_up = True

    def _load_classifier(self) -> Any:
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
        return classifier

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        if not self._set_up:
            raise RuntimeError("setup() must be called before run()")
        options = payload["options"]
        image = open_for_analysis(payload["image"])
        scale = min(1.0, math.sqrt(DETECTION_MAX_PIXELS / (image.width * image.height)))
        detected = image
        if scale < 1.0:
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            detected = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        gray = grayscale_array(detected)
        min_size = max(CASCADE_WINDOW, round(options.get("min_size", 30) * scale))
        with self._lock:
            if self._classifier is None:
                self._classifier = self._load_classifier()
            try:
                boxes = self._classifier.detectMultiScale(
                    gray,
                    scaleFactor=options.get("scale_factor", 1.1),
                    minNeighbors=options.get("min_neighbors", 5),
                    minSize=(min_size, min_size),
                )
            except BaseException:
                # The classifier keeps its buffers between calls, and after a failure (OpenCV
                # out of memory) it failed every later call in the process: set up a new one.
                self._classifier = None
                raise
        faces = [
            _scaled_box(box, scale=scale, width=image.width, height=image.height)
            for box in sorted((tuple(box) for box in boxes), key=_reading_order)
        ]
        return {
            "faces": faces,
            "count": len(faces),
            "image_width": image.width,
            "image_height": image.height,
        }


def _scaled_box(box: tuple[int, ...], *, scale: float, width: int, height: int) -> dict[str, int]:
    """A box found on the downscaled copy, in the image's own pixels (within its bounds)."""
    x, y, w, h = (round(int(value) / scale) for value in box)
    x, y = min(x, width - 1), min(y, height - 1)
    return {"x": x, "y": y, "width": min(w, width - x), "height": min(h, height - y)}


def _reading_order(box: tuple[int, ...]) -> tuple[int, int]:
    return box[1], box[0]
