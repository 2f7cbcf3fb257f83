"""Small plugin classes that exercise each branch of plugin discovery."""

from __future__ import annotations

from typing import Any

from plugins.base import AnalysisPlugin, PluginUnavailable


class EchoPlugin(AnalysisPlugin):
    name = "sample-echo"
    version = "2.1.0"
    description = "Returns the size of the image it was given."

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"bytes": len(payload["image"])}


class NotAPlugin:
    """Has the right shape but does not subclass AnalysisPlugin."""

    name = "sample-impostor"

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {}


not_a_class = EchoPlugin()  # an instance where a class is expected


class MissingDependencyPlugin(AnalysisPlugin):
    name = "sample-missing-dependency"
    version = "1.0.0"
    description = "Needs a library that is not installed."

    def setup(self) -> None:
        raise PluginUnavailable("libsample is not installed: pip install libsample")


class BrokenSetupPlugin(AnalysisPlugin):
    name = "sample-broken-setup"

    def setup(self) -> None:
        raise RuntimeError("model file is corrupt")


class NamelessPlugin(AnalysisPlugin):
    """Sets no name: discovery falls back to the class or entry point name."""

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {}


class FirstDuplicatePlugin(AnalysisPlugin):
    name = "sample-duplicate"


class SecondDuplicatePlugin(AnalysisPlugin):
    name = "sample-duplicate"


class BadNamePlugin(AnalysisPlugin):
    name = "no spaces/or slashes"


class LongVersionPlugin(AnalysisPlugin):
    name = "sample-long-version"
    version = "1." * 40


class BadSchemaPlugin(AnalysisPlugin):
    name = "sample-bad-schema"
    options_schema = {"type": "nonsense"}


class RemoteRefPlugin(AnalysisPlugin):
    """Its schema would make every validation fetch a URL."""

    name = "sample-remote-ref"
    options_schema = {
        "type": "object",
        "properties": {"box": {"$ref": "https://schemas.example.org/box.json"}},
    }


class LocalRefPlugin(AnalysisPlugin):
    name = "sample-local-ref"
    output_schema = {
        "$defs": {"count": {"type": "integer"}},
        "type": "object",
        "properties": {"count": {"$ref": "#/$defs/count"}},
    }

    def run(self, payload: dict) -> dict:
        return {"count": 1}
