"""Find plugins: dotted paths from settings, then the ``execution_server.plugins`` entry points.

Discovery never raises. A plugin that cannot be imported, whose class breaks the contract,
whose ``setup()`` fails or whose name is already taken is reported as unavailable with the
reason, so one broken plugin never stops the server.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from jsonschema import Draft202012Validator, SchemaError

from plugins.base import AnalysisPlugin, PluginUnavailable

logger = logging.getLogger(__name__)

# Names travel in URLs (/v1/plugins/{name}) and registry rows (100 characters).
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MAX_VERSION_LENGTH = 50
_REFERENCE_KEYWORDS = frozenset({"$ref", "$dynamicRef"})


@dataclass(frozen=True)
class UnavailablePlugin:
    """A plugin that was found but cannot run, and why."""

    name: str
    reason: str
    source: str
    version: str = ""
    description: str = ""


@dataclass
class Discovery:
    """What discovery found: plugins ready to run by name, and those that are not."""

    available: dict[str, AnalysisPlugin] = field(default_factory=dict)
    unavailable: dict[str, UnavailablePlugin] = field(default_factory=dict)


def import_dotted_path(path: str) -> Any:
    module_path, _, attribute = path.rpartition(".")
    if not module_path:
        raise ImportError(f"{path!r} is not a dotted path to a class")
    return getattr(import_module(module_path), attribute)


def _candidates(
    dotted_paths: Iterable[str], entry_point_group: str | None
) -> Iterable[tuple[str, str, Callable[[], Any]]]:
    """Yield (fallback name, source, loader) for every configured plugin."""
    for path in dotted_paths:
        yield (
            path.rpartition(".")[2],
            f"settings: {path}",
            functools.partial(import_dotted_path, path),
        )
    if entry_point_group:
        for entry_point in entry_points(group=entry_point_group):
            yield entry_point.name, f"entry point: {entry_point.value}", entry_point.load


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def contract_problem(plugin_class: type[AnalysisPlugin], name: str) -> str | None:
    """What in the class's declarations breaks the contract, checked once here so that no
    request ever meets a malformed name or schema."""
    if not NAME_PATTERN.fullmatch(name):
        return f"invalid name {name[:100]!r}: letters, digits, '.', '_' and '-', at most 100"
    if len(str(plugin_class.version)) > MAX_VERSION_LENGTH:
        return f"version is longer than {MAX_VERSION_LENGTH} characters"
    for attribute in ("options_schema", "output_schema"):
        schema = getattr(plugin_class, attribute)
        if schema is None:
            continue
        if not isinstance(schema, dict):
            return f"{attribute} is not a JSON Schema object"
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as error:
            return f"{attribute} is not a valid JSON Schema ({error.message})"
        if remote := _remote_reference(schema):
            return f"{attribute} refers to a schema outside itself ({remote!r}): only local refs"
    return None


def _remote_reference(schema: Any) -> str | None:
    """The first ``$ref`` (or ``$dynamicRef``) that points outside the schema: validating it
    would fetch a URL (or read a file) when a request arrives."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in _REFERENCE_KEYWORDS and isinstance(value, str) and not value.startswith("#"):
                return value
            if found := _remote_reference(value):
                return found
    elif isinstance(schema, list):
        for item in schema:
            if found := _remote_reference(item):
                return found
    return None


def discover_plugins(dotted_paths: Iterable[str], *, entry_point_group: str | None) -> Discovery:
    found = Discovery()
    classes: dict[str, list[tuple[type[AnalysisPlugin], str]]] = {}
    for fallback_name, source, load in _candidates(dotted_paths, entry_point_group):
        try:
            plugin_class = load()
        except Exception as error:  # an import error must not stop the server
            logger.warning("Plugin %s could not be imported: %s", source, error)
            reason = f"could not be imported ({_describe(error)})"
            found.unavailable[fallback_name[:100]] = UnavailablePlugin(
                fallback_name[:100], reason, source
            )
            continue
        if not (isinstance(plugin_class, type) and issubclass(plugin_class, AnalysisPlugin)):
            reason = "is not a subclass of plugins.base.AnalysisPlugin"
            found.unavailable[fallback_name[:100]] = UnavailablePlugin(
                fallback_name[:100], reason, source
            )
            continue
        name = getattr(plugin_class, "name", "") or fallback_name
        if not isinstance(name, str):
            name = fallback_name
        if problem := contract_problem(plugin_class, name):
            key = name[:100]
            found.unavailable[key] = UnavailablePlugin(key, problem, source)
            continue
        classes.setdefault(name, []).append((plugin_class, source))

    for name, providers in classes.items():
        plugin_class, source = providers[0]
        version, description = str(plugin_class.version), str(plugin_class.description)
        if len(providers) > 1:
            # An ambiguous name runs nothing: which code answers must never depend on the
            # order packages happen to be installed in.
            sources = " and ".join(provider_source for _, provider_source in providers)
            reason = f"duplicate plugin name, provided by {sources}; remove all but one"
            logger.warning("Plugin %r: %s", name, reason)
            found.unavailable[name] = UnavailablePlugin(name, reason, source, version, description)
            continue
        try:
            plugin = plugin_class()
            plugin.setup()
        except PluginUnavailable as error:
            found.unavailable[name] = UnavailablePlugin(
                name, str(error), source, version, description
            )
            continue
        except Exception as error:  # a failing setup must not stop the server
            logger.exception("Plugin %r failed its setup", name)
            found.unavailable[name] = UnavailablePlugin(
                name, f"setup failed ({_describe(error)})", source, version, description
            )
            continue
        found.available[name] = plugin
    return found
