"""An example plugin: the number of distinct colours of an image, and the most common ones."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, UnidentifiedImageError

from plugins.base import AnalysisPlugin, ImageUnreadable


class ColourCountPlugin(AnalysisPlugin):
    name = "colour-count"
    version = "1.0.0"
    description = "Counts the distinct colours of an image and lists the most common ones."
    options_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"top": {"type": "integer", "minimum": 1, "maximum": 20, "default": 3}},
    }
    output_schema = {
        "type": "object",
        "required": ["colours", "top"],
        "additionalProperties": False,
        "properties": {
            "colours": {"type": "integer", "minimum": 1},
            "top": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["rgb", "pixels"],
                    "properties": {
                        "rgb": {"type": "string", "pattern": "^#[0-9a-f]{6}$"},
                        "pixels": {"type": "integer", "minimum": 1},
                    },
                },
            },
        },
    }

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            with Image.open(io.BytesIO(payload["image"])) as image:
                rgb = image.convert("RGB")
        except (UnidentifiedImageError, OSError) as error:
            raise ImageUnreadable(f"Pillow cannot decode the image: {error}") from error
        # getcolors returns None past maxcolors: every pixel may be its own colour.
        counts = rgb.getcolors(maxcolors=rgb.width * rgb.height) or []
        counts.sort(reverse=True)
        top = payload["options"].get("top", 3)
        return {
            "colours": len(counts),
            "top": [
                {"rgb": "#{:02x}{:02x}{:02x}".format(*colour), "pixels": pixels}
                for pixels, colour in counts[:top]
            ],
        }
