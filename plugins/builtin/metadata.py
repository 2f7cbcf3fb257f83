"""Image metadata: format, geometry, frames and EXIF, read with Pillow."""

from __future__ import annotations

import math
import numbers
from typing import Any

from PIL import ExifTags, Image

from plugins.base import AnalysisPlugin, ImageUnreadable
from plugins.builtin._imaging import DECODE_ERRORS, open_image

# EXIF is attacker-controlled and can be large (maker notes, thumbnails): these limits keep
# one result small enough to store and return whatever the file contains.
MAX_EXIF_TAGS = 200
MAX_TEXT_LENGTH = 512
MAX_SEQUENCE_LENGTH = 64
MAX_HEX_BYTES = 32

# Pointers to sub-directories: their offsets mean nothing to a client, their contents are
# merged into the result instead.
_IFD_POINTERS = {int(ExifTags.IFD.Exif), int(ExifTags.IFD.GPSInfo), int(ExifTags.IFD.Interop)}

_SCALAR = {"type": ["string", "number", "null"]}


class ImageMetadataPlugin(AnalysisPlugin):
    name = "image-metadata"
    version = "1.0.0"
    description = (
        "Reports the image format, size, colour mode, frame count, resolution, ICC profile "
        "presence and EXIF tags (camera, date, exposure, GPS)."
    )
    options_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "include_exif": {
                "title": "Include EXIF",
                "description": "Return the EXIF tags (default true). They may include the GPS "
                "position where the photo was taken.",
                "type": "boolean",
                "default": True,
            },
        },
    }
    output_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "required": [
            "format",
            "width",
            "height",
            "mode",
            "n_frames",
            "is_animated",
            "dpi",
            "has_icc_profile",
        ],
        "properties": {
            "format": {"title": "Pillow format name, e.g. JPEG or PNG", "type": "string"},
            "width": {"title": "Width in pixels, as stored", "type": "integer", "minimum": 1},
            "height": {"title": "Height in pixels, as stored", "type": "integer", "minimum": 1},
            "mode": {"title": "Pillow colour mode, e.g. RGB, L, P", "type": "string"},
            "n_frames": {"title": "Number of frames", "type": "integer", "minimum": 1},
            "is_animated": {"title": "More than one frame", "type": "boolean"},
            "dpi": {
                "title": "Resolution in dots per inch [x, y], null when not recorded",
                "type": ["array", "null"],
                "items": {"type": "number"},
                "minItems": 2,
                "maxItems": 2,
            },
            "has_icc_profile": {"title": "Embeds an ICC colour profile", "type": "boolean"},
            "exif": {
                "title": "EXIF tags by name (only with include_exif)",
                "type": "object",
                "maxProperties": MAX_EXIF_TAGS,
                "additionalProperties": {
                    "anyOf": [_SCALAR, {"type": "array", "items": _SCALAR}],
                },
            },
        },
    }

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        image = open_image(payload["image"])
        try:
            # Counting frames decodes the headers of all of them, where a broken one shows.
            n_frames = int(getattr(image, "n_frames", 1))
        except DECODE_ERRORS as error:
            raise ImageUnreadable(f"an animation frame cannot be read ({error})") from error
        result: dict[str, Any] = {
            "format": image.format or "",
            "width": image.width,
            "height": image.height,
            "mode": image.mode,
            "n_frames": n_frames,
            "is_animated": n_frames > 1,
            "dpi": _dpi(image),
            "has_icc_profile": bool(image.info.get("icc_profile")),
        }
        if payload["options"].get("include_exif", True):
            result["exif"] = exif_tags(image)
        return result


def _dpi(image: Image.Image) -> list[int | float] | None:
    dpi = image.info.get("dpi")
    if not (isinstance(dpi, tuple) and len(dpi) == 2):
        return None
    x, y = _json_number(dpi[0]), _json_number(dpi[1])
    return None if x is None or y is None else [x, y]


def exif_tags(image: Image.Image) -> dict[str, Any]:
    """Return the EXIF tags of the main, Exif and GPS directories by name, JSON-safe and bounded.

    Values that cannot be shown usefully (long binary blobs such as maker notes) are left out
    rather than mangled.
    """
    try:
        exif = image.getexif()
        directories = [
            (exif, ExifTags.TAGS),
            (exif.get_ifd(ExifTags.IFD.Exif), ExifTags.TAGS),
            (exif.get_ifd(ExifTags.IFD.GPSInfo), ExifTags.GPSTAGS),
        ]
    except Exception:
        # Pillow's EXIF parser raises assorted types on malformed data; a broken EXIF block
        # is treated as absent because the rest of the metadata is still worth returning.
        return {}
    tags: dict[str, Any] = {}
    for directory, names in directories:
        for tag_id, raw in directory.items():
            if tag_id in _IFD_POINTERS:  # GPS tag ids (0-31) never collide with these
                continue
            value = _json_value(raw)
            if value is None:
                continue
            tags[names.get(tag_id, f"0x{tag_id:04x}")] = value
            if len(tags) == MAX_EXIF_TAGS:
                return tags
    return tags


def _json_value(raw: Any, *, nested: bool = False) -> Any:
    """Convert one EXIF value to JSON; ``None`` means "leave the tag out"."""
    if isinstance(raw, bytes):
        return _bytes_value(raw)
    if isinstance(raw, str):
        text = raw.rstrip("\x00").strip()
        return text[:MAX_TEXT_LENGTH] if text else None
    if isinstance(raw, numbers.Real):  # int, float and Pillow's IFDRational
        return _json_number(raw)
    if isinstance(raw, tuple | list) and not nested:
        items = [_json_value(item, nested=True) for item in raw[:MAX_SEQUENCE_LENGTH]]
        return items or None
    return None  # nested directories and unknown types have no faithful JSON form


def _json_number(raw: Any) -> int | float | None:
    if isinstance(raw, int):
        return int(raw)  # also turns a bool subclass into a plain int
    try:
        number = float(raw)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    # An IFDRational with a zero denominator is NaN, and NaN or infinity is not JSON.
    return round(number, 6) if math.isfinite(number) else None


def _bytes_value(raw: bytes) -> str | None:
    data = raw.rstrip(b"\x00")
    if data and all(32 <= byte < 127 for byte in data):
        return data[:MAX_TEXT_LENGTH].decode("ascii")  # e.g. ExifVersion b"0232"
    if 0 < len(raw) <= MAX_HEX_BYTES:
        return raw.hex()
    return None
