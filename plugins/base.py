"""The contract every analysis plugin fulfils."""

from __future__ import annotations

from typing import Any, ClassVar


class PluginUnavailable(Exception):
    """Raised by ``setup()`` when the plugin cannot work here (a dependency is missing).

    The message is shown to operators and clients as the plugin's ``reason``: say what is
    missing and how to install it.
    """


class ImageUnreadable(Exception):
    """Raised by ``run()`` when the image bytes cannot be decoded.

    The execution layer reports it as a validation error of the input, not as a plugin fault.
    """


class OptionsUnsupported(Exception):
    """Raised by ``run()`` when valid-looking options cannot be served here (an OCR language
    that is not installed). The client gets OPTIONS_INVALID, not a plugin fault."""


class AnalysisPlugin:
    """Base class of analysis plugins.

    Subclasses set the class attributes and implement ``run``. ``run`` receives
    ``{"image": bytes, "mime_type": str, "options": dict}`` with the image already decoded
    from base64, its MIME type checked against its bytes and the options validated against
    ``options_schema`` (defaults are not filled in: read them with ``options.get``).
    It returns a JSON-serialisable dict, checked against ``output_schema`` when one is given.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "0.0.0"
    description: ClassVar[str] = ""
    options_schema: ClassVar[dict[str, Any] | None] = None
    output_schema: ClassVar[dict[str, Any] | None] = None

    def setup(self) -> None:
        """Check dependencies and load models once per process; raise ``PluginUnavailable``."""

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError
