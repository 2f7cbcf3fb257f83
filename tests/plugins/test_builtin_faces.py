from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import jsonschema
import pytest
from PIL import ExifTags, Image

from plugins.base import ImageUnreadable, PluginUnavailable
from plugins.builtin import faces
from plugins.builtin.faces import CASCADE_FILE, DETECTION_MAX_PIXELS, FaceDetectionPlugin

# Centre of Eileen Collins' face in skimage.data.astronaut(): the middle of the box
# (177, 66, 95 x 95) that the default options find on the full photo with OpenCV 4.14.
FACE_CENTRE = (224, 113)


@pytest.fixture(scope="module")
def portrait(astronaut) -> Image.Image:
    """The astronaut photo cropped to 512 x 400, so width and height differ."""
    return astronaut.crop((0, 0, 512, 400))


def test_schemas_are_valid(check_schemas):
    check_schemas(FaceDetectionPlugin)


@pytest.mark.parametrize(
    ("image_format", "mime_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg")]
)
def test_one_face_in_the_astronaut_photo(
    analyse, face_plugin, encode, portrait, image_format, mime_type
):
    result = analyse(face_plugin, encode(portrait, image_format), mime_type)

    assert result["count"] == 1
    assert (result["image_width"], result["image_height"]) == (512, 400)
    [face] = result["faces"]
    x, y = FACE_CENTRE
    assert face["x"] < x < face["x"] + face["width"]
    assert face["y"] < y < face["y"] + face["height"]
    assert 60 <= face["width"] == face["height"] <= 140


def test_exif_orientation_is_applied(analyse, face_plugin, encode, portrait):
    # Stored sideways, as phones do, with the EXIF tag saying "turn 90 degrees clockwise".
    sideways = portrait.rotate(90, expand=True)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6

    upright = analyse(face_plugin, encode(portrait))
    turned = analyse(face_plugin, encode(sideways, exif=exif))
    ignored = analyse(face_plugin, encode(sideways))

    assert upright["count"] == 1
    assert turned == upright
    assert ignored == {"faces": [], "count": 0, "image_width": 400, "image_height": 512}


def test_no_face(analyse, face_plugin, blank_png):
    assert analyse(face_plugin, blank_png) == {
        "faces": [],
        "count": 0,
        "image_width": 320,
        "image_height": 240,
    }


def test_min_size_larger_than_the_face(analyse, face_plugin, encode, portrait):
    result = analyse(face_plugin, encode(portrait), min_size=200)

    assert result["count"] == 0


def test_min_neighbors_zero_keeps_every_raw_detection(analyse, face_plugin, encode, portrait):
    result = analyse(face_plugin, encode(portrait), min_neighbors=0, scale_factor=1.2)

    # Without grouping, the one face yields many overlapping candidate windows.
    assert result["count"] > 1
    assert result["count"] == len(result["faces"])
    assert [(face["y"], face["x"]) for face in result["faces"]] == sorted(
        (face["y"], face["x"]) for face in result["faces"]
    )


def test_concurrent_runs_on_one_instance_agree(face_plugin, encode, astronaut, portrait):
    # Images of different sizes: sharing an unguarded classifier between threads crashes in
    # exactly this case, as its scratch buffers get resized under another thread's feet.
    images = [encode(astronaut), encode(portrait), encode(astronaut.resize((300, 300)))]
    payloads = [{"image": image, "mime_type": "image/png", "options": {}} for image in images]
    expected = [face_plugin.run(payload) for payload in payloads]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(face_plugin.run, payloads * 4))

    assert results == expected * 4


@pytest.mark.parametrize(
    "options",
    [
        {"scale_factor": 1.0},
        {"scale_factor": 1.01},  # 10 times the CPU of the default: 187 s on a 44 Mpx photo
        {"min_size": 0},
        {"min_size": 23},  # under the cascade's 24-pixel window: it finds nothing smaller
        {"min_neighbors": -1},
    ],
)
def test_unsafe_options_are_rejected_by_the_schema(options):
    validator = jsonschema.Draft202012Validator(FaceDetectionPlugin.options_schema)

    assert not validator.is_valid(options)


def test_unreadable_bytes(face_plugin, unreadable_bytes):
    with pytest.raises(ImageUnreadable):
        face_plugin.run({"image": unreadable_bytes, "mime_type": "image/png", "options": {}})


def test_unavailable_without_bundled_cascades(monkeypatch):
    monkeypatch.delattr(cv2, "data")  # how OpenCV 5 wheels look

    with pytest.raises(PluginUnavailable, match=r"ships no Haar cascades.*opencv-python-headless"):
        FaceDetectionPlugin().setup()


def test_unavailable_with_empty_cascade(monkeypatch, tmp_path):
    (tmp_path / CASCADE_FILE).write_bytes(b"")
    monkeypatch.setattr(cv2.data, "haarcascades", f"{tmp_path}/")

    with pytest.raises(PluginUnavailable, match="missing or empty"):
        FaceDetectionPlugin().setup()


def test_unavailable_with_corrupt_cascade(monkeypatch, tmp_path):
    (tmp_path / CASCADE_FILE).write_text("<opencv_storage><cascade>")
    monkeypatch.setattr(cv2.data, "haarcascades", f"{tmp_path}/")

    with pytest.raises(PluginUnavailable, match="cannot load the Haar cascade"):
        FaceDetectionPlugin().setup()


def test_a_large_image_is_searched_on_a_downscaled_copy(analyse, face_plugin, encode, portrait):
    """8 times the portrait's sides (13 Mpx, past the 4 Mpx budget): the face is found where it
    is, in the large image's own pixels. (At this size the cascade also sees a second, false
    face, downscaled or not.)"""
    large = portrait.resize((portrait.width * 8, portrait.height * 8), Image.Resampling.BICUBIC)
    assert large.width * large.height > DETECTION_MAX_PIXELS

    result = analyse(face_plugin, encode(large, "JPEG"), "image/jpeg", min_size=240)

    assert (result["image_width"], result["image_height"]) == (4096, 3200)
    x, y = FACE_CENTRE
    [face] = [
        face
        for face in result["faces"]
        if face["x"] < x * 8 < face["x"] + face["width"]
        and face["y"] < y * 8 < face["y"] + face["height"]
    ]
    assert 8 * 60 <= face["width"] <= 8 * 140
    for box in result["faces"]:
        assert box["x"] + box["width"] <= 4096
        assert box["y"] + box["height"] <= 3200


class _FailingClassifier:
    """A classifier in the state OpenCV left the shared one in after an allocation failed."""

    def detectMultiScale(self, *args, **kwargs):
        raise cv2.error("OpenCV(4.x) error: (-4:Insufficient memory) Failed to allocate")


def test_a_classifier_that_failed_is_set_up_again(analyse, encode, portrait):
    plugin = FaceDetectionPlugin()
    plugin.setup()
    plugin._classifier = _FailingClassifier()

    with pytest.raises(cv2.error, match="Insufficient memory"):
        plugin.run({"image": encode(portrait), "mime_type": "image/png", "options": {}})

    assert analyse(plugin, encode(portrait))["count"] == 1
    assert isinstance(plugin._classifier, cv2.CascadeClassifier)


def test_the_pixel_budget_bounds_the_detection_input(monkeypatch, encode, portrait):
    seen = []
    plugin = FaceDetectionPlugin()
    plugin.setup()
    real = plugin._classifier

    class Recording:
        def detectMultiScale(self, gray, **kwargs):
            seen.append((gray.shape, kwargs["minSize"]))
            return real.detectMultiScale(gray, **kwargs)

    plugin._classifier = Recording()
    large = portrait.resize((4096, 3200))
    plugin.run({"image": encode(large), "mime_type": "image/png", "options": {"min_size": 100}})

    [(shape, min_size)] = seen
    assert shape[0] * shape[1] <= DETECTION_MAX_PIXELS * 1.001
    assert min_size == (max(faces.CASCADE_WINDOW, round(100 * shape[1] / 4096)),) * 2
