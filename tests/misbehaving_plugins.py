"""Plugins that break the contract on purpose, to test that the ToolRunner catches each way."""

from __future__ import annotations

import ctypes
import json
import logging
import os
import re
import subprocess
import tempfile
import time
from typing import Any

import numpy as np

from plugins.base import AnalysisPlugin


def _options(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties}


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
    options_schema = _options(seconds={"type": "number", "minimum": 0, "maximum": 600})

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        seconds = payload["options"].get("seconds", 1.0)
        time.sleep(seconds)
        return {"slept": seconds}


class RaisesSystemExit(AnalysisPlugin):
    """``sys.exit(3)`` in a plugin: 3 is the status gunicorn's master takes for a boot error."""

    name = "test-raises-system-exit"

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        raise SystemExit(3)


class RaisesKeyboardInterrupt(AnalysisPlugin):
    name = "test-raises-keyboard-interrupt"

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        raise KeyboardInterrupt


class SleepsForever(AnalysisPlugin):
    """Hangs without using CPU: only a timeout stops it."""

    name = "test-sleeps-forever"

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        while True:
            time.sleep(3600)


class SpinsInC(AnalysisPlugin):
    """A catastrophic regular expression: C code that holds the GIL and never returns to Python,
    so no signal handler of Python's ever runs while it spins."""

    name = "test-spins-in-c"

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        re.match(r"(a+)+$", "a" * 64 + "b")
        return {"matched": False}


class Segfaults(AnalysisPlugin):
    """Reads address 0 through ctypes, as a buggy C extension would: SIGSEGV."""

    name = "test-segfaults"

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        ctypes.string_at(0)
        return {}


class AllocatesForever(AnalysisPlugin):
    """Takes memory 16 MiB at a time (written, so really resident) until something stops it."""

    name = "test-allocates-forever"

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        hoard = []
        while True:
            hoard.append(b"x" * (16 * 1024 * 1024))


class ExitsProcess(AnalysisPlugin):
    """Ends its whole process with the status it is given (3 is gunicorn's boot-error code), as
    a careless library can: ``os._exit`` runs no handler and no ``finally``; ``native`` calls
    the C library's exit(), as native code would, past anything Python can intercept. Without a
    status it returns, so a circuit's trial run can succeed."""

    name = "test-exits-process"
    options_schema = _options(
        status={"type": "integer", "minimum": 0, "maximum": 255}, native={"type": "boolean"}
    )

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        options = payload["options"]
        if "status" not in options:
            return {"exited": False}
        if options.get("native"):
            ctypes.CDLL(None).exit(options["status"])
        os._exit(options["status"])


class ReturnsHuge(AnalysisPlugin):
    """Returns a result of the size it is asked for (50 MB by default)."""

    name = "test-returns-huge"
    options_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"size": {"type": "integer", "minimum": 0}},
    }

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"text": "x" * payload["options"].get("size", 50_000_000)}


class Chatty(AnalysisPlugin):
    """Logs from inside its run, as a plugin's libraries do (its lines must reach the server's
    log, with the job bound, from whichever process ran it)."""

    name = "test-chatty"

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        logging.getLogger("tests.chatty").warning("looking at %d bytes", len(payload["image"]))
        return {}


class ReportsProcess(AnalysisPlugin):
    """Says which process ran it, to tell the plugin pool's children apart."""

    name = "test-reports-process"

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"pid": os.getpid()}


class LeavesProcess(AnalysisPlugin):
    """Starts a process and writes a temporary file, as pytesseract runs tesseract on a copy of
    the image, and writes their pid and path (and its temporary directory) to the file
    ``report`` names, for the test to look for them. Then it ``hangs`` (the default), ``exits``
    its process (``os._exit``), or ``returns``, leaving the process running either way."""

    name = "test-leaves-process"
    options_schema = {
        **_options(
            report={"type": "string", "minLength": 1},
            then={"enum": ["hangs", "exits", "returns"]},
        ),
        "required": ["report"],
    }

    def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        options = payload["options"]
        sleeper = subprocess.Popen(["sleep", "300"])
        with tempfile.NamedTemporaryFile(prefix="tess_", suffix="_input.PNG", delete=False) as copy:
            copy.write(payload["image"])
        left = {"pid": sleeper.pid, "file": copy.name, "temp_dir": tempfile.gettempdir()}
        # Whole or not at all: the test may read it while this process is being killed.
        with open(f"{options['report']}.part", "w") as report:
            json.dump(left, report)
        os.replace(f"{options['report']}.part", options["report"])
        then = options.get("then", "hangs")
        if then == "exits":
            os._exit(0)
        while then == "hangs":
            time.sleep(3600)
        return left
