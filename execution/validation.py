"""Input and output validation, called by the ToolRunner on every execution.

Each rule fails with its own exception class (and so its own envelope ``code``), and the
image is checked before any plugin sees it: a plugin receives bytes whose format matches the
declared MIME type and options that satisfy its schema.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, runtime_checkable

from jsonschema import Draft202012Validator, validators
from PIL import Image
from referencing import Registry

from execution import exceptions
from execution.conf import execution_settings

# Leading bytes of each accepted format; enough to tell them apart, cheap to check.
_SIGNATURES: tuple[tuple[str, tuple[bytes, ...]], ...] = (
    ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ("image/jpeg", (b"\xff\xd8\xff",)),
    ("image/gif", (b"GIF87a", b"GIF89a")),
    ("image/bmp", (b"BM",)),
    ("image/tiff", (b"II*\x00", b"MM\x00*")),
)
# Deleted by str.translate: one copy, where "".join(text.split()) makes a string per line.
_ASCII_WHITESPACE = dict.fromkeys(map(ord, " \t\n\r\v\f"))
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}


@runtime_checkable
class ImageFile(Protocol):
    """An uploaded file (Django's ``UploadedFile`` or any open binary file)."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class ExecutionRequest:
    """What a client asked for, as received: nothing here has been checked yet."""

    plugin: str
    image: str | bytes | ImageFile | None = None
    mime_type: str | None = None
    options: Any = field(default_factory=dict)


class ExecutionPayload(TypedDict):
    """What a plugin's ``run`` receives."""

    image: bytes
    mime_type: str
    options: dict[str, Any]


@dataclass(frozen=True)
class ValidatedInput:
    payload: ExecutionPayload
    size: int
    sha256: str


def unstorable_reason(value: Any) -> str | None:
    """What in ``value`` no JSON database column holds, or None: NUL characters (PostgreSQL
    refuses them in text and jsonb), unpaired surrogates (not UTF-8), NaN and infinities (JSON
    text 1e999 parses to infinity). Clients and plugins can send all of them."""
    if isinstance(value, str):
        if "\x00" in value:
            return "NUL characters"
        if any("\ud800" <= char <= "\udfff" for char in value):
            return "unpaired surrogate characters"
    elif isinstance(value, float) and not math.isfinite(value):
        return "NaN or infinite numbers"
    elif isinstance(value, dict | list | tuple):
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        for item in items:
            if found := unstorable_reason(item):
                return found
    return None


def unstorable(value: Any) -> bool:
    return unstorable_reason(value) is not None


def storable_text(value: Any, *, limit: int) -> str:
    """A client's string made safe to store and echo: no NUL, no lone surrogates, bounded."""
    text = str(value)[:limit]
    return "".join(c for c in text if c != "\x00" and not "\ud800" <= c <= "\udfff")


def sniff_mime_type(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for mime_type, signatures in _SIGNATURES:
        if data.startswith(signatures):
            return mime_type
    return None


def normalize_mime_type(value: str) -> str:
    essence = value.split(";", 1)[0].strip().lower()
    return _ALIASES.get(essence, essence)


def _split_data_url(image: str) -> tuple[str, str | None]:
    """Accept ``data:image/png;base64,...`` as browsers produce it; return (base64, mime)."""
    header, comma, data = image.partition(",")
    # The scheme and its ";base64" are case-insensitive (RFC 2397); the MIME type is
    # normalized where it is compared.
    if not comma or not header.lower().endswith(";base64"):
        raise exceptions.ImageNotBase64("A data URL image must be base64-encoded.")
    return data, header[len("data:") : -len(";base64")] or None


def decode_image(
    image: str | bytes | ImageFile | None, *, max_bytes: int
) -> tuple[bytes, str | None]:
    """Return the image bytes and the MIME type a data URL declared, if any."""
    if image is None:
        raise exceptions.ImageMissing()
    if isinstance(image, bytes):
        data, data_url_mime = image, None
    elif isinstance(image, ImageFile):
        # Read one byte past the limit: enough to know it is too large, never the whole file.
        data, data_url_mime = image.read(max_bytes + 1), None
    elif isinstance(image, str):
        text, data_url_mime = image.strip(), None
        if text[:5].lower() == "data:":
            text, data_url_mime = _split_data_url(text)
        if not text:
            raise exceptions.ImageEmpty()
        try:
            data = _decode_base64(text, max_bytes=max_bytes)
        except (binascii.Error, ValueError) as error:
            raise exceptions.ImageNotBase64(
                "The image is not valid base64 (standard alphabet, RFC 4648).",
                details={"reason": str(error)},
            ) from error
    else:
        message = "The image must be a base64 string or an uploaded file."
        raise exceptions.RequestInvalid(message, details={"fields": {"image": [message]}})
    if not data:
        raise exceptions.ImageEmpty()
    if len(data) > max_bytes:
        raise _too_large(max_bytes, size=len(data))
    return data, data_url_mime


def _decode_base64(text: str, *, max_bytes: int) -> bytes:
    """Decode without copying the text: a 20 MB image is 27 MB of base64, and every copy costs
    that again. binascii reads an ASCII str in place (base64.b64decode would first copy it to
    bytes); line-wrapped base64 (what the `base64` tool prints) is compacted, one copy, only
    when the text does not decode as it is."""
    if _decoded_size(text) > max_bytes:
        text = text.translate(_ASCII_WHITESPACE)
        # Refuse before decoding, so an oversized body never costs its decoded size in memory.
        if _decoded_size(text) > max_bytes:
            raise _too_large(max_bytes)
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        compact = text.translate(_ASCII_WHITESPACE)
        if len(compact) == len(text):
            raise
    if not compact:
        raise exceptions.ImageEmpty()
    return binascii.a2b_base64(compact, strict_mode=True)


def _decoded_size(text: str) -> int:
    return math.floor(len(text) * 3 / 4) - text[-2:].count("=")


def _too_large(max_bytes: int, *, size: int | None = None) -> exceptions.ImageTooLarge:
    details: dict[str, Any] = {"max_bytes": max_bytes}
    if size is not None:
        details["size"] = size
    return exceptions.ImageTooLarge(
        f"The image is larger than the limit of {max_bytes} bytes.", details=details
    )


def check_mime_type(declared: str | None, data: bytes, *, accepted: list[str]) -> str:
    if declared is None or not str(declared).strip():
        raise exceptions.MimeTypeMissing()
    if not isinstance(declared, str):
        message = "mime_type must be a string."
        raise exceptions.RequestInvalid(message, details={"fields": {"mime_type": [message]}})
    mime_type = normalize_mime_type(declared)
    if mime_type not in accepted:
        shown = storable_text(mime_type, limit=100)
        raise exceptions.MimeTypeUnsupported(
            f"{shown!r} is not an accepted image type.",
            details={"mime_type": shown, "accepted": list(accepted)},
        )
    detected = sniff_mime_type(data)
    if detected is None:
        raise exceptions.ImageUnreadable(
            "The bytes are not in any image format this server accepts.",
            details={"accepted": list(accepted)},
        )
    if detected != mime_type:
        raise exceptions.MimeTypeMismatch(
            f"The image was declared {mime_type} but its bytes are {detected}.",
            details={"declared": mime_type, "detected": detected},
        )
    return mime_type


# Pillow's name for each accepted format, to read a header with its format's own parser.
_PILLOW_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/bmp": "BMP",
    "image/tiff": "TIFF",
}


def image_size(data: bytes, *, mime_type: str) -> tuple[int, int] | None:
    """Width and height from the image's header, or None if it cannot be read.

    ``Image.open`` refuses an image past twice Pillow's own pixel limit (179 Mpx) without
    saying its size, so a 900 Mpx PNG would be told apart from a 64 Mpx one. The format's own
    header parser (what ``Image.open`` calls) reads the size whatever it is; no pixel is decoded.
    """
    Image.init()
    name = _PILLOW_FORMATS.get(mime_type)
    if name is None or name not in Image.OPEN:
        return None
    factory, _accept = Image.OPEN[name]
    try:
        with factory(io.BytesIO(data), "") as image:
            width, height = image.size
    except (OSError, SyntaxError, ValueError, EOFError, struct.error):
        return None  # not decodable here: the plugin's full decode reports IMAGE_UNREADABLE
    return width, height


def check_pixels(data: bytes, *, mime_type: str, max_pixels: int) -> None:
    """Refuse images whose decoded size would exhaust memory: 10 MiB of PNG can hold 170
    million pixels. Only the header is read."""
    size = image_size(data, mime_type=mime_type)
    if size is None:
        return
    width, height = size
    if width * height > max_pixels:
        raise exceptions.ImageTooLarge(
            f"The image has {width * height} pixels; the limit is {max_pixels}.",
            details={"width": width, "height": height, "max_pixels": max_pixels},
        )


def _is_int(checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


# JSON Schema's "integer" takes 1.0, but a plugin is handed what Python parsed: a float, which
# C libraries refuse (OpenCV's minNeighbors), as the plugin's failure. Options are checked with
# integers that are ints, so 1.0 is refused as the client's (OPTIONS_INVALID); outputs are not.
_OptionsValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_int),
)


def _schema_errors(
    schema: dict[str, Any], instance: Any, *, validator_class: Any = Draft202012Validator
) -> list[dict[str, str]]:
    # An empty registry: jsonschema would otherwise fetch a remote $ref over the network at
    # validation time (discovery refuses schemas that have one; this makes it impossible).
    validator = validator_class(schema, registry=Registry())
    return [
        {"path": "/".join(str(part) for part in error.absolute_path), "message": error.message}
        for error in sorted(validator.iter_errors(instance), key=lambda error: error.path)
    ][:20]


def check_options_size(options: Any, *, max_bytes: int) -> None:
    """Refuse options over ``max_bytes`` as JSON (or as the text a form sent), before they are
    parsed further, stored with a job or handed to a plugin."""
    if isinstance(options, str):
        size = len(options.encode("utf-8", "surrogatepass"))
    else:
        try:
            size = len(json.dumps(options, separators=(",", ":"), default=str).encode())
        except (TypeError, ValueError, RecursionError):
            return  # not JSON: check_options refuses it with its reason
    if size > max_bytes:
        raise exceptions.OptionsTooLarge(
            f"The options are {size} bytes as JSON; the limit is {max_bytes}.",
            details={"size_bytes": size, "max_bytes": max_bytes},
        )


def check_options(options: Any, schema: dict[str, Any] | None) -> dict[str, Any]:
    check_options_size(options, max_bytes=execution_settings.MAX_OPTIONS_BYTES)
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise exceptions.OptionsInvalid(
            "options must be a JSON object.", details={"received_type": type(options).__name__}
        )
    if reason := unstorable_reason(options):
        raise exceptions.OptionsInvalid(f"options must not contain {reason}.")
    if schema is not None and (
        errors := _schema_errors(schema, options, validator_class=_OptionsValidator)
    ):
        raise exceptions.OptionsInvalid(details={"errors": errors})
    return options


def validate_input(
    request: ExecutionRequest, *, options_schema: dict[str, Any] | None
) -> ValidatedInput:
    data, data_url_mime = decode_image(request.image, max_bytes=execution_settings.MAX_IMAGE_BYTES)
    declared = request.mime_type or data_url_mime
    if (
        data_url_mime
        and request.mime_type
        and (normalize_mime_type(data_url_mime) != normalize_mime_type(str(request.mime_type)))
    ):
        raise exceptions.MimeTypeMismatch(
            "The data URL and mime_type declare different types.",
            details={
                "declared": storable_text(request.mime_type, limit=100),
                "data_url": storable_text(data_url_mime, limit=100),
            },
        )
    mime_type = check_mime_type(declared, data, accepted=execution_settings.ACCEPTED_MIME_TYPES)
    check_pixels(data, mime_type=mime_type, max_pixels=execution_settings.MAX_IMAGE_PIXELS)
    options = check_options(request.options, options_schema)
    return ValidatedInput(
        payload={"image": data, "mime_type": mime_type, "options": options},
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def validate_output(result: Any, schema: dict[str, Any] | None) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise exceptions.OutputNotADict(details={"returned_type": type(result).__name__})
    try:
        # ASCII-escaped, so its length is its size in bytes.
        size = len(json.dumps(result, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise exceptions.OutputNotJson(details={"reason": str(error)}) from error
    if size > (limit := execution_settings.MAX_RESULT_BYTES):
        raise exceptions.OutputTooLarge(
            f"The result is {size} bytes as JSON; the limit is {limit}.",
            details={"size_bytes": size, "max_bytes": limit},
        )
    if reason := unstorable_reason(result):
        raise exceptions.OutputNotJson(details={"reason": reason})
    if schema is not None and (errors := _schema_errors(schema, result)):
        raise exceptions.OutputSchemaMismatch(details={"errors": errors})
    return result
