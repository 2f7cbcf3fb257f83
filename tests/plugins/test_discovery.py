from __future__ import annotations

import subprocess
import sys

import pytest

from plugins import discovery
from plugins.builtin.faces import FaceDetectionPlugin
from plugins.builtin.metadata import ImageMetadataPlugin
from plugins.builtin.ocr import OcrPlugin
from plugins.builtin.qr_code import QrCodePlugin
from plugins.discovery import UnavailablePlugin, discover_plugins
from tests.conftest import BUILTIN_PLUGINS
from tests.plugins.sample_plugins import EchoPlugin

SAMPLES = "tests.plugins.sample_plugins"
ENTRY_POINT_GROUP = "execution_server_tests.sample_plugins"


def test_builtin_plugins_are_all_available_here():
    found = discover_plugins(BUILTIN_PLUGINS, entry_point_group=None)

    assert found.unavailable == {}
    assert {name: type(plugin) for name, plugin in found.available.items()} == {
        "image-metadata": ImageMetadataPlugin,
        "qr-code": QrCodePlugin,
        "face-detection": FaceDetectionPlugin,
        "ocr": OcrPlugin,
    }


def test_a_working_plugin_is_set_up_and_runs():
    found = discover_plugins([f"{SAMPLES}.EchoPlugin"], entry_point_group=None)

    plugin = found.available["sample-echo"]
    assert isinstance(plugin, EchoPlugin)
    assert plugin.run({"image": b"1234", "mime_type": "image/png", "options": {}}) == {"bytes": 4}


@pytest.mark.parametrize(
    ("path", "name", "error"),
    [
        (f"{SAMPLES}_nowhere.EchoPlugin", "EchoPlugin", "ModuleNotFoundError: No module named"),
        (f"{SAMPLES}.NoSuchClass", "NoSuchClass", "AttributeError: module"),
        ("NoDots", "NoDots", "ImportError: 'NoDots' is not a dotted path to a class"),
    ],
)
def test_import_error_makes_the_plugin_unavailable(path, name, error):
    found = discover_plugins([path], entry_point_group=None)

    assert found.available == {}
    [unavailable] = found.unavailable.values()
    assert unavailable.name == name
    assert unavailable.reason.startswith(f"could not be imported ({error}")
    assert unavailable.source == f"settings: {path}"


@pytest.mark.parametrize("attribute", ["NotAPlugin", "not_a_class"])
def test_something_that_is_not_a_plugin_class(attribute):
    path = f"{SAMPLES}.{attribute}"

    found = discover_plugins([path], entry_point_group=None)

    assert found.available == {}
    assert found.unavailable == {
        attribute: UnavailablePlugin(
            attribute, "is not a subclass of plugins.base.AnalysisPlugin", f"settings: {path}"
        )
    }


def test_setup_reporting_a_missing_dependency():
    path = f"{SAMPLES}.MissingDependencyPlugin"

    found = discover_plugins([path], entry_point_group=None)

    assert found.unavailable == {
        "sample-missing-dependency": UnavailablePlugin(
            name="sample-missing-dependency",
            reason="libsample is not installed: pip install libsample",
            source=f"settings: {path}",
            version="1.0.0",
            description="Needs a library that is not installed.",
        )
    }


def test_setup_crashing(caplog):
    path = f"{SAMPLES}.BrokenSetupPlugin"

    found = discover_plugins([path], entry_point_group=None)

    assert found.available == {}
    unavailable = found.unavailable["sample-broken-setup"]
    assert unavailable.reason == "setup failed (RuntimeError: model file is corrupt)"
    assert "failed its setup" in caplog.text


def test_duplicate_names_make_neither_available():
    first, second = f"{SAMPLES}.FirstDuplicatePlugin", f"{SAMPLES}.SecondDuplicatePlugin"

    found = discover_plugins([first, second, f"{SAMPLES}.EchoPlugin"], entry_point_group=None)

    assert list(found.available) == ["sample-echo"]
    assert list(found.unavailable) == ["sample-duplicate"]
    assert found.unavailable["sample-duplicate"].reason == (
        f"duplicate plugin name, provided by settings: {first} and settings: {second}; "
        "remove all but one"
    )


def test_a_plugin_without_a_name_is_named_after_its_class():
    found = discover_plugins([f"{SAMPLES}.NamelessPlugin"], entry_point_group=None)

    assert list(found.available) == ["NamelessPlugin"]


@pytest.fixture
def installed_distribution(tmp_path, monkeypatch):
    """A distribution declaring plugins through entry points, as a pip install leaves it."""
    dist_info = tmp_path / "sample_plugin_pack-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: sample-plugin-pack\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n"
        f"echo = {SAMPLES}:EchoPlugin\n"
        f"gone = {SAMPLES}_nowhere:GonePlugin\n"
        f"duplicate = {SAMPLES}:SecondDuplicatePlugin\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.mark.usefixtures("installed_distribution")
def test_entry_points_are_discovered_after_dotted_paths():
    first_duplicate = f"{SAMPLES}.FirstDuplicatePlugin"

    found = discover_plugins([first_duplicate], entry_point_group=ENTRY_POINT_GROUP)

    assert list(found.available) == ["sample-echo"]
    assert isinstance(found.available["sample-echo"], EchoPlugin)
    assert set(found.unavailable) == {"gone", "sample-duplicate"}
    gone = found.unavailable["gone"]
    assert gone.source == f"entry point: {SAMPLES}_nowhere:GonePlugin"
    assert gone.reason.startswith("could not be imported (ModuleNotFoundError: No module named")
    assert found.unavailable["sample-duplicate"].reason == (
        f"duplicate plugin name, provided by settings: {first_duplicate} and "
        f"entry point: {SAMPLES}:SecondDuplicatePlugin; remove all but one"
    )


@pytest.mark.usefixtures("installed_distribution")
def test_entry_points_are_ignored_without_a_group(monkeypatch):
    """Without a group the entry points are not even read: ``entry_points(group=None)`` would
    find nothing anyway, so only a spy on the lookup can tell."""
    groups = []
    real_entry_points = discovery.entry_points

    def spy(**selection):
        groups.append(selection.get("group"))
        return real_entry_points(**selection)

    monkeypatch.setattr(discovery, "entry_points", spy)

    found = discover_plugins([f"{SAMPLES}.EchoPlugin"], entry_point_group=None)

    assert groups == []
    assert list(found.available) == ["sample-echo"]
    assert found.unavailable == {}
    # The spy sees the lookup when there is a group, and the installed pack is found.
    assert "gone" in discover_plugins([], entry_point_group=ENTRY_POINT_GROUP).unavailable
    assert groups == [ENTRY_POINT_GROUP]


def test_plugins_package_stays_independent_of_the_server():
    # In a fresh interpreter, since this one has Django loaded by the rest of the suite.
    script = (
        "import sys\n"
        "from plugins.discovery import discover_plugins\n"
        f"found = discover_plugins({BUILTIN_PLUGINS!r}, entry_point_group=None)\n"
        "assert len(found.available) == 4, found.unavailable\n"
        "loaded = {name.split('.')[0] for name in sys.modules}\n"
        "print(sorted(loaded & {'django', 'execution', 'registry'}))\n"
    )

    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )

    assert completed.stdout == "[]\n"


@pytest.mark.parametrize(
    ("class_name", "key", "reason"),
    [
        (
            "BadNamePlugin",
            "no spaces/or slashes",
            "invalid name 'no spaces/or slashes': letters, digits, '.', '_' and '-', at most 100",
        ),
        ("LongVersionPlugin", "sample-long-version", "version is longer than 50 characters"),
        (
            "BadSchemaPlugin",
            "sample-bad-schema",
            "options_schema is not a valid JSON Schema ('nonsense' is not valid under any of "
            "the given schemas)",
        ),
        (
            "RemoteRefPlugin",
            "sample-remote-ref",
            "options_schema refers to a schema outside itself "
            "('https://schemas.example.org/box.json'): only local refs",
        ),
    ],
)
def test_a_plugin_that_breaks_the_contract_is_unavailable_with_the_reason(class_name, key, reason):
    found = discover_plugins([f"{SAMPLES}.{class_name}"], entry_point_group=None)

    assert found.available == {}
    assert found.unavailable[key].reason == reason


def test_a_schema_with_local_refs_only_is_accepted():
    found = discover_plugins([f"{SAMPLES}.LocalRefPlugin"], entry_point_group=None)

    assert list(found.available) == ["sample-local-ref"]
