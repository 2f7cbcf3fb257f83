"""Plugins that break the contract on purpose, to test that the ToolRunner catches each way."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from plugins.base import AnalysisPlugin


class Raises(AnalysisPlugin):
    name = "test-raises"
    version = "1.0"

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("model weights are corrupt")


class ReturnsList(AnalysisPlugin):
    name = "test-returns-list"

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        return [1, 2, 3]  # type: ignore[return-value]


class ReturnsNumpy(AnalysisPlugin):
    name = "test-returns-numpy"

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"count": np.int64(3)}


class BreaksOutputSchema(AnalysisPlugin):
    name = "test-breaks-output-schema"
    output_schema = {
        "type": "object",
        "required": ["count"],
        "properties": {"count": {"type": "integer"}},
    }

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"count": "three"}


class Echo(AnalysisPlugin):
    """Returns what it was given (minus the bytes), to check what the ToolRunner hands over."""

    name = "test-echo"
    options_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"level": {"type": "integer", "minimum": 0}},
    }

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "size": len(payload["image"]),
            "mime_type": payload["mime_type"],
            "options": payload["options"],
            "image_is_bytes": isinstance(payload["image"], bytes),
        }


class Sleeps(AnalysisPlugin):
    """Takes its time, so tests can act while a job is RUNNING (cancel races, killed workers)."""

    name = "test-sleeps"
    options_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"seconds": {"type": "number", "minimum": 0, "maximum": 600}},
    }

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        seconds = payload["options"].get("seconds", 1.0)
        time.sleep(seconds)
        return {"slept": seconds}


class TimesOut(AnalysisPlugin):
    """Stopped as django-q2 stops a task past Q_TIMEOUT: SystemExit raised inside the run."""

    name = "test-times-out"

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        raise SystemExit(1)


class ExitsProcess(AnalysisPlugin):
    """Ends its whole process with the status it is given (3 is gunicorn's boot-error code), as
    native code or a careless library can: ``os._exit`` runs no handler and no ``finally``."""

    name = "test-exits-process"
    options_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"status": {"type": "integer", "minimum": 0, "maximum": 255}},
    }

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        os._exit(payload["options"].get("status", 3))
