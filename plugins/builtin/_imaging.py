"""Decoding shared by the built-in plugins.

Every built-in plugin decodes through Pillow, so they all accept the same formats (OpenCV's
own decoder cannot read GIF, for instance), fail the same way on broken bytes and, for the
pixel analyses, see the same upright, opaque picture.
"""

from __future__ import annotations

import contextlib
import io
from types import ModuleType
from typing import TYPE_CHECKING

from PIL import Image, ImageOps, UnidentifiedImageError

from plugins.base import ImageUnreadable, PluginUnavailable

if TYPE_CHECKING:
    import numpy as np

# Pillow's codecs report broken data with whichever of these their parser happens to hit.
DECODE_ERRORS: tuple[type[Exception], ...] = (OSError, SyntaxError, ValueError, EOFError)


def open_image(data: bytes) -> Image.Image:
    """Decode ``data`` fully (first frame), raising ``ImageUnreadable`` when that fails.

    Decoding the pixels, not just the header, is what catches truncated files: ``Image.open``
    alone only parses the header and would let a half-uploaded image through.
    """
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Image.DecompressionBombError as error:
        raise ImageUnreadable(f"the image is too large to decode safely: {error}") from error
    except UnidentifiedImageError as error:
        # Pillow's own message names a BytesIO object's address, which helps nobody.
        raise ImageUnreadable("the bytes are not an image in a format Pillow can read") from error
    except DECODE_ERRORS as error:
        raise ImageUnreadable(f"the image data is corrupt or truncated ({error})") from error
    return image


def open_for_analysis(data: bytes) -> Image.Image:
    """Decode ``data`` into the upright, opaque RGB picture a person would see.

    Phone photos are often stored sideways with an EXIF Orientation tag: faces and text are
    only found once the picture is turned upright. Transparent pixels are usually stored as
    black, so without flattening onto white a QR code on a transparent background turns into
    a black square.
    """
    image = open_image(data)
    # Pillow's EXIF parser raises assorted types on malformed data, and a broken EXIF block
    # must not stop the analysis of otherwise fine pixels: they are then used as stored.
    with contextlib.suppress(Exception):
        image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        background = Image.new("RGBA", image.size, "white")
        return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def grayscale_array(image: Image.Image) -> np.ndarray:
    """Return ``image`` as the 8-bit single-channel array OpenCV's detectors work on."""
    import numpy as np  # only the OpenCV plugins need numpy, and OpenCV brings it

    return np.asarray(image.convert("L"))


def import_opencv() -> ModuleType:
    """Import OpenCV, or explain how to install it (called from ``setup()``, not at import)."""
    try:
        import cv2
    except ImportError as error:
        raise PluginUnavailable(
            f"OpenCV is not installed or cannot load ({error}): "
            "install it with `pip install 'opencv-python-headless>=4.9,<5'`"
        ) from error
    return cv2
