from __future__ import annotations

import base64
import io
import tracemalloc

import pytest

from execution import exceptions
from execution.validation import (
    check_mime_type,
    check_options,
    decode_image,
    normalize_mime_type,
    sniff_mime_type,
    validate_output,
)
from tests import images

ACCEPTED = ["image/png", "image/jpeg", "image/gif", "image/webp"]
PNG = images.small_png()


def test_base64_decodes_including_line_wrapped_output_of_the_base64_tool() -> None:
    encoded = base64.encodebytes(PNG).decode()  # wrapped at 76 characters
    assert "\n" in encoded
    assert decode_image(encoded, max_bytes=10_000) == (PNG, None)


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_large_image_is_decoded_without_copies_of_its_base64(wrapped: bool) -> None:
    image = PNG * (4_000_000 // len(PNG))
    encoded = (base64.encodebytes if wrapped else base64.b64encode)(image).decode()
    tracemalloc.start()
    try:
        data, _ = decode_image(encoded, max_bytes=len(image))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert data == image
    # The decoded bytes alone; wrapped text costs its compaction too (str.translate's buffer and
    # result), still less than the five images' worth "".join(text.split()) took.
    assert peak < len(image) * (4 if wrapped else 1.05)


def test_line_wrapped_base64_is_measured_without_its_line_breaks() -> None:
    encoded = base64.encodebytes(PNG).decode()
    assert decode_image(encoded, max_bytes=len(PNG)) == (PNG, None)
    with pytest.raises(exceptions.ImageTooLarge):
        decode_image(encoded, max_bytes=len(PNG) - 1)


@pytest.mark.parametrize("header", ["data:image/png;base64,", "DATA:IMAGE/PNG;BASE64,"])
def test_a_data_url_gives_bytes_and_its_mime_type(header: str) -> None:
    """In any case: the scheme and ``;base64`` are case-insensitive (RFC 2397)."""
    data_url = header + base64.b64encode(PNG).decode()
    image, mime_type = decode_image(data_url, max_bytes=10_000)
    assert image == PNG
    assert mime_type is not None
    assert normalize_mime_type(mime_type) == "image/png"


def test_raw_bytes_and_uploaded_files_pass_through() -> None:
    assert decode_image(PNG, max_bytes=10_000) == (PNG, None)
    assert decode_image(io.BytesIO(PNG), max_bytes=10_000) == (PNG, None)


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (None, exceptions.ImageMissing),
        ("", exceptions.ImageEmpty),
        ("   \n", exceptions.ImageEmpty),
        (b"", exceptions.ImageEmpty),
        ("%%%not-base64%%%", exceptions.ImageNotBase64),
        ("abc", exceptions.ImageNotBase64),  # wrong padding
        ("data:image/png,rawtext", exceptions.ImageNotBase64),
        (12345, exceptions.RequestInvalid),
        (["a"], exceptions.RequestInvalid),
    ],
)
def test_undecodable_images_fail_with_their_own_code(image: object, error: type) -> None:
    with pytest.raises(error):
        decode_image(image, max_bytes=10_000)  # type: ignore[arg-type]


def test_oversized_base64_is_refused_before_decoding() -> None:
    encoded = base64.b64encode(b"\x00" * 101).decode()
    with pytest.raises(exceptions.ImageTooLarge) as caught:
        decode_image(encoded, max_bytes=100)
    assert caught.value.details == {"max_bytes": 100}
    assert caught.value.status_code == 413
    assert decode_image(base64.b64encode(b"\x00" * 100).decode(), max_bytes=100)[0] == b"\x00" * 100


def test_oversized_upload_is_refused_after_reading_one_byte_past_the_limit() -> None:
    upload = io.BytesIO(b"\x00" * 10_000)
    with pytest.raises(exceptions.ImageTooLarge) as caught:
        decode_image(upload, max_bytes=100)
    assert caught.value.details == {"max_bytes": 100, "size": 101}
    assert upload.tell() == 101


@pytest.mark.parametrize(
    ("data", "mime_type"),
    [
        (images.small_png(), "image/png"),
        (images.astronaut_jpeg(), "image/jpeg"),
        (images.encode(images.astronaut(), "GIF"), "image/gif"),
        (images.encode(images.astronaut(), "WEBP"), "image/webp"),
        (images.encode(images.astronaut(), "BMP"), "image/bmp"),
        (images.encode(images.astronaut(), "TIFF"), "image/tiff"),
        (b"%PDF-1.7", None),
    ],
)
def test_sniffing_recognises_each_accepted_format(data: bytes, mime_type: str | None) -> None:
    assert sniff_mime_type(data) == mime_type


def test_mime_type_is_normalised() -> None:
    assert check_mime_type("IMAGE/JPG; q=1", images.astronaut_jpeg(), accepted=ACCEPTED) == (
        "image/jpeg"
    )


@pytest.mark.parametrize(
    ("declared", "data", "error"),
    [
        (None, PNG, exceptions.MimeTypeMissing),
        ("", PNG, exceptions.MimeTypeMissing),
        ("text/plain", PNG, exceptions.MimeTypeUnsupported),
        ("image/svg+xml", PNG, exceptions.MimeTypeUnsupported),
        ("image/jpeg", PNG, exceptions.MimeTypeMismatch),
        ("image/png", b"GIF89a....", exceptions.MimeTypeMismatch),
        ("image/png", b"hello world", exceptions.ImageUnreadable),
    ],
)
def test_mime_type_failures(declared: str | None, data: bytes, error: type) -> None:
    with pytest.raises(error):
        check_mime_type(declared, data, accepted=ACCEPTED)


def test_mismatch_details_name_both_types() -> None:
    with pytest.raises(exceptions.MimeTypeMismatch) as caught:
        check_mime_type("image/jpeg", PNG, accepted=ACCEPTED)
    assert caught.value.details == {"declared": "image/jpeg", "detected": "image/png"}


SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"min_size": {"type": "integer", "minimum": 1}},
}


def test_options_default_to_an_empty_object_and_are_checked_against_the_schema() -> None:
    assert check_options(None, SCHEMA) == {}
    assert check_options({"min_size": 3}, SCHEMA) == {"min_size": 3}
    assert check_options({"anything": 1}, None) == {"anything": 1}


@pytest.mark.parametrize(
    ("options", "errors"),
    [
        ({"min_size": "big"}, [{"path": "min_size", "message": "'big' is not of type 'integer'"}]),
        ({"min_size": 0}, [{"path": "min_size", "message": "0 is less than the minimum of 1"}]),
        (
            {"colour": "red"},
            [
                {
                    "path": "",
                    "message": "Additional properties are not allowed ('colour' was unexpected)",
                }
            ],
        ),
    ],
)
def test_options_that_break_the_schema(options: dict, errors: list) -> None:
    with pytest.raises(exceptions.OptionsInvalid) as caught:
        check_options(options, SCHEMA)
    assert caught.value.details == {"errors": errors}


def test_options_that_are_not_an_object() -> None:
    with pytest.raises(exceptions.OptionsInvalid) as caught:
        check_options([1, 2], SCHEMA)
    assert caught.value.details == {"received_type": "list"}


def test_output_checks() -> None:
    assert validate_output({"count": 1}, {"type": "object"}) == {"count": 1}
    with pytest.raises(exceptions.OutputNotADict):
        validate_output(None, None)
    with pytest.raises(exceptions.OutputNotJson):
        validate_output({"value": float("nan")}, None)
    with pytest.raises(exceptions.OutputNotJson):
        validate_output({"value": {1, 2}}, None)
    with pytest.raises(exceptions.OutputSchemaMismatch):
        validate_output({}, {"type": "object", "required": ["count"]})


def test_validation_never_fetches_a_remote_ref(monkeypatch: pytest.MonkeyPatch) -> None:
    """Discovery refuses such schemas; should one get here, jsonschema must not go to the
    network for it (its default would), but fail as unresolvable."""
    import urllib.request

    from referencing.exceptions import Unresolvable

    from execution.validation import check_options

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("validation tried to fetch a remote $ref")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    schema = {"properties": {"box": {"$ref": "https://schemas.example.org/box.json"}}}

    with pytest.raises(Unresolvable):
        check_options({"box": 1}, schema)
