"""Real test images, made in memory: scikit-image's sample photographs, OpenCV's QR encoder and
Pillow's bundled font. No files, no network."""

from __future__ import annotations

import functools
import io
from typing import Any

import cv2
import skimage.data
from PIL import Image, ImageDraw, ImageFont

# Pixels per QR module and extra modules of white quiet zone: large, clean codes decode surely.
QR_MODULE_PIXELS = 8
QR_EXTRA_QUIET_MODULES = 4


def encode(image: Image.Image, image_format: str = "PNG", **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


@functools.cache
def astronaut() -> Image.Image:
    """A real photograph with one frontal face (Eileen Collins, NASA, public domain)."""
    return Image.fromarray(skimage.data.astronaut())


@functools.cache
def astronaut_jpeg() -> bytes:
    return encode(astronaut(), "JPEG", quality=90)


def qr_code_image(text: str) -> Image.Image:
    """A black-on-white QR code of ``text``, upscaled without blurring the module edges."""
    modules = cv2.QRCodeEncoder.create().encode(text)
    border = QR_EXTRA_QUIET_MODULES
    padded = cv2.copyMakeBorder(
        modules, border, border, border, border, cv2.BORDER_CONSTANT, value=255
    )
    scale = QR_MODULE_PIXELS
    return Image.fromarray(
        cv2.resize(padded, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    )


def qr_code_png(text: str) -> bytes:
    return encode(qr_code_image(text))


def text_image(lines: list[str], width: int = 900) -> Image.Image:
    """Black text on white in Pillow's bundled scalable font (needs Pillow with FreeType)."""
    font = ImageFont.load_default(size=48)
    image = Image.new("RGB", (width, 40 + 80 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((30, 30 + 80 * number), line, font=font, fill="black")
    return image


@functools.cache
def small_png() -> bytes:
    """A tiny valid PNG, for tests about the path rather than the analysis."""
    return encode(Image.new("RGB", (8, 6), (200, 30, 30)))
