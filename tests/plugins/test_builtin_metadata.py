from __future__ import annotations

import jsonschema
import pytest
from PIL import ExifTags, Image, ImageCms
from PIL.TiffImagePlugin import IFDRational

from plugins.base import ImageUnreadable
from plugins.builtin.metadata import MAX_TEXT_LENGTH, ImageMetadataPlugin


@pytest.fixture(scope="module")
def camera_jpeg(encode) -> bytes:
    """A JPEG as a camera writes it: main, Exif and GPS directories, rationals, a maker note."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Acme"
    exif[ExifTags.Base.Model] = "Cam 3000"
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.XResolution] = IFDRational(300, 1)
    exif[ExifTags.Base.YResolution] = IFDRational(1, 0)  # broken: NaN is not JSON
    exif[ExifTags.Base.ImageDescription] = "x" * 2000
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = "2024:05:01 10:00:00"
    details[ExifTags.Base.ExposureTime] = IFDRational(1, 250)
    details[ExifTags.Base.ExifVersion] = b"0232"
    details[ExifTags.Base.ComponentsConfiguration] = b"\x01\x02\x03\x00"
    details[ExifTags.Base.MakerNote] = bytes(range(256)) * 4  # opaque vendor blob
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (IFDRational(52, 1), IFDRational(31, 1), IFDRational(25, 2))
    return encode(Image.new("RGB", (64, 32), "red"), "JPEG", exif=exif, dpi=(300, 300))


def test_schemas_are_valid(check_schemas):
    check_schemas(ImageMetadataPlugin)


def test_jpeg_with_exif(analyse, metadata_plugin, camera_jpeg):
    result = analyse(metadata_plugin, camera_jpeg, "image/jpeg")

    assert result == {
        "format": "JPEG",
        "width": 64,
        "height": 32,
        "mode": "RGB",
        "n_frames": 1,
        "is_animated": False,
        "dpi": [300, 300],
        "has_icc_profile": False,
        "exif": {
            "Make": "Acme",
            "Model": "Cam 3000",
            "Orientation": 6,
            "XResolution": 300.0,
            "ImageDescription": "x" * MAX_TEXT_LENGTH,
            "DateTimeOriginal": "2024:05:01 10:00:00",
            "ExposureTime": 0.004,
            "ExifVersion": "0232",
            "ComponentsConfiguration": "01020300",
            "GPSLatitudeRef": "N",
            "GPSLatitude": [52.0, 31.0, 12.5],
        },
    }


def test_exif_can_be_left_out(analyse, metadata_plugin, camera_jpeg):
    result = analyse(metadata_plugin, camera_jpeg, "image/jpeg", include_exif=False)

    assert "exif" not in result
    assert result["format"] == "JPEG"


def test_animated_gif(analyse, metadata_plugin, encode):
    frames = [Image.new("RGB", (20, 10), colour) for colour in ("red", "green", "blue")]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)

    result = analyse(metadata_plugin, gif, "image/gif")

    assert result == {
        "format": "GIF",
        "width": 20,
        "height": 10,
        "mode": "P",
        "n_frames": 3,
        "is_animated": True,
        "dpi": None,
        "has_icc_profile": False,
        "exif": {},
    }


def test_png_with_icc_profile_and_resolution(analyse, metadata_plugin, encode):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    png = encode(Image.new("RGBA", (10, 12)), "PNG", dpi=(72, 72), icc_profile=srgb)

    result = analyse(metadata_plugin, png)

    # PNG stores pixels per metre, so 72 dpi comes back as 2835 px/m = 72.009 dpi.
    assert result["dpi"] == [72.009, 72.009]
    assert result["has_icc_profile"] is True
    assert (result["format"], result["mode"], result["width"], result["height"]) == (
        "PNG",
        "RGBA",
        10,
        12,
    )


def test_unreadable_bytes(metadata_plugin, unreadable_bytes):
    with pytest.raises(ImageUnreadable, match="not an image in a format Pillow can read"):
        metadata_plugin.run({"image": unreadable_bytes, "mime_type": "image/png", "options": {}})


def test_truncated_image(metadata_plugin, truncated_jpeg):
    with pytest.raises(ImageUnreadable, match="corrupt or truncated"):
        metadata_plugin.run({"image": truncated_jpeg, "mime_type": "image/jpeg", "options": {}})


def test_unknown_option_is_rejected_by_the_schema():
    validator = jsonschema.Draft202012Validator(ImageMetadataPlugin.options_schema)

    errors = list(validator.iter_errors({"exif": True}))

    assert [error.validator for error in errors] == ["additionalProperties"]
