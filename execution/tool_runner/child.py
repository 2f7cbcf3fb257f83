"""The child side of the plugin pool: what a worker process does, and nothing else.

A child never sets Django up: ``serve`` is given the plugin list, the entry-point group and a
temporary directory of its own, makes itself the leader of a process group, discovers and sets
up the plugins once, says it is ready, and then runs one task at a time from its pipe under the
limits the task carries. Everything a plugin can do wrong ends here as a ``ChildReply``
(exceptions included, ``SystemExit`` and ``KeyboardInterrupt`` too); only a dying process (a
segfault, ``os._exit``, a signal) or a run past its timeout is seen by the parent. What a
plugin starts (pytesseract's ``tesseract``) is in the child's group, and what it writes through
``tempfile`` or ``TMPDIR`` is in the child's directory: the parent kills the one and removes the
other when it ends the child, so neither outlives it.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import logging
import math
import os
import re
import resource
import signal
import sys
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from plugins.base import AnalysisPlugin, ImageUnreadable, OptionsUnsupported
from plugins.discovery import discover_plugins

# Replies a child can give. "ok" carries the result as JSON text: the parent never unpickles an
# object a plugin built, and a result that is not JSON is refused here, where it was made.
OK = "ok"
NOT_A_DICT = "not_a_dict"
NOT_JSON = "not_json"
IMAGE_UNREADABLE = "image_unreadable"
OPTIONS_UNSUPPORTED = "options_unsupported"
FAILED = "failed"
MEMORY = "memory"
EXITED = "exited"
INTERRUPTED = "interrupted"
NOT_INSTALLED = "not_installed"
# A new child's first word: its plugins are set up, a run's timeout may start.
READY = "ready"

_PR_SET_PDEATHSIG = 1
_ALLOCATION_FAILED = re.compile(
    r"insufficient memory|failed to allocate|out of memory|cannot allocate memory", re.IGNORECASE
)

_plugins: dict[str, AnalysisPlugin] = {}
_unavailable: dict[str, str] = {}


@dataclass(frozen=True)
class ChildTask:
    """One run. The image travels in the task when small, through a file when large: a task
    is pickled whole, and a 20 MB image pickled is 20 MB more in the parent."""

    plugin: str
    mime_type: str
    options: dict[str, Any]
    memory_mb: int
    cpu_seconds: int
    image: bytes = b""
    image_path: str | None = None


@dataclass(frozen=True)
class ChildReply:
    kind: str
    result_json: str = ""
    exception_type: str = ""
    message: str = ""
    traceback: str = ""
    exit_code: int | None = None
    # What the plugin logged during the run, (logger, level, message), for the parent to log
    # again where its logging is configured and the job is bound.
    logs: tuple[tuple[str, int, str], ...] = ()


def serve(
    connection: Connection,
    plugins: list[str],
    entry_point_group: str | None,
    log_level: int,
    temp_dir: str,
) -> None:
    """A child's whole life: set up once, then one reply per task until the parent closes the
    pipe (or dies, which closes it too)."""
    initialize(plugins, entry_point_group, log_level, temp_dir)
    connection.send(READY)
    while True:
        try:
            task = connection.recv()
        except EOFError:
            return
        connection.send(run_plugin(task))


def initialize(
    plugins: list[str], entry_point_group: str | None, log_level: int, temp_dir: str
) -> None:
    """Runs once in every new child, before its first task."""
    # First of all, so that every process a plugin starts (one that does not start a session of
    # its own) is in this group, which the parent kills with the child (pool.ChildProcess.kill).
    os.setpgid(0, 0)
    _die_with_parent()
    # Out of the terminal's foreground group, a child no longer gets its Ctrl-C, and ignores a
    # SIGINT sent to it anyway: the parent stops its children itself, and a run in hand ends as
    # the parent says rather than as a KeyboardInterrupt here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The directory the parent made for this child alone (0700), and removes after it: for
    # Python's tempfile here and, through TMPDIR, for the programs a plugin runs.
    tempfile.tempdir = temp_dir
    os.environ["TMPDIR"] = temp_dir
    root = logging.getLogger()
    root.setLevel(log_level)
    root.addHandler(_run_log)
    # A crashing plugin must not write a core file of the child's whole address space.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    found = discover_plugins(plugins, entry_point_group=entry_point_group)
    _plugins.clear()
    _plugins.update(found.available)
    _unavailable.clear()
    _unavailable.update({name: missing.reason for name, missing in found.unavailable.items()})


def _die_with_parent() -> None:
    """SIGKILL this child when the process that started it dies (Linux), so that a parent killed
    outright (a gunicorn worker past --timeout, a qcluster worker) leaves no child running a
    plugin forever. An idle child stops anyway: its task pipe closes. The processes its plugin
    started outlive it then, and its directory stays: only the parent kills and removes those."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() == 1:  # the parent died before the call took effect
            os._exit(1)


@contextmanager
def _limits(*, memory_mb: int, cpu_seconds: int) -> Iterator[None]:
    """Soft limits for one run: the address space, and CPU time from now on. Past the memory
    limit an allocation fails (a MemoryError in Python); past the CPU limit the kernel sends
    SIGXCPU, which kills the child. Both are put back for the pool's own work afterwards."""
    memory = resource.getrlimit(resource.RLIMIT_AS)
    cpu = resource.getrlimit(resource.RLIMIT_CPU)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = math.ceil(usage.ru_utime + usage.ru_stime)
    resource.setrlimit(resource.RLIMIT_AS, (_capped(memory_mb * 1024 * 1024, memory[1]), memory[1]))
    resource.setrlimit(resource.RLIMIT_CPU, (_capped(used + cpu_seconds, cpu[1]), cpu[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, memory)
        resource.setrlimit(resource.RLIMIT_CPU, cpu)


def _capped(value: int, hard: int) -> int:
    return value if hard == resource.RLIM_INFINITY else min(value, hard)


class _RunLog(logging.Handler):
    """Keeps the records of a run (at most ``MAX_RUN_LOG_RECORDS``) for its reply; outside a
    run (set-up), warnings go to stderr as Python's last-resort handler would."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, int, str]] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.records is None:
            if record.levelno >= logging.WARNING and logging.lastResort is not None:
                logging.lastResort.handle(record)
        elif len(self.records) < MAX_RUN_LOG_RECORDS:
            self.records.append((record.name, record.levelno, record.getMessage()))


MAX_RUN_LOG_RECORDS = 100
_run_log = _RunLog()


def run_plugin(task: ChildTask) -> ChildReply:
    """The child's entry point: one plugin run, whatever it does, becomes one reply."""
    _run_log.records = []
    try:
        return dataclasses.replace(_run(task), logs=tuple(_run_log.records))
    finally:
        _run_log.records = None


def _run(task: ChildTask) -> ChildReply:
    plugin = _plugins.get(task.plugin)
    if plugin is None:
        reason = _unavailable.get(task.plugin, "not found by discovery in the plugin process")
        return ChildReply(NOT_INSTALLED, message=reason)
    image = task.image if task.image_path is None else _read(task.image_path)
    payload = {"image": image, "mime_type": task.mime_type, "options": task.options}
    del image
    try:
        with _limits(memory_mb=task.memory_mb, cpu_seconds=task.cpu_seconds):
            return _encoded(plugin.run(payload))
    except ImageUnreadable as error:
        return _reply(IMAGE_UNREADABLE, error)
    except OptionsUnsupported as error:
        return _reply(OPTIONS_UNSUPPORTED, error)
    except MemoryError as error:
        # The parent replaces this child after the reply: a native library that ran out of
        # memory may leave its objects broken (OpenCV's classifier failed every later call).
        return _reply(MEMORY, error)
    except SystemExit as error:
        code = error.code if isinstance(error.code, int) else (0 if error.code is None else 1)
        return ChildReply(EXITED, exit_code=code, traceback=traceback.format_exc())
    except KeyboardInterrupt as error:
        return _reply(INTERRUPTED, error)
    except Exception as error:
        return _reply(MEMORY if _allocation_failed(error) else FAILED, error)


def _allocation_failed(error: Exception) -> bool:
    """C libraries report an allocation refused under the limit as their own error, not as a
    MemoryError: OpenCV raises cv2.error "Insufficient memory", others say so in words."""
    return bool(_ALLOCATION_FAILED.search(str(error)))


def _read(path: str) -> bytes:
    with open(path, "rb") as stored:
        return stored.read()


def _encoded(result: Any) -> ChildReply:
    if not isinstance(result, dict):
        return ChildReply(NOT_A_DICT, exception_type=type(result).__name__)
    try:
        return ChildReply(OK, result_json=json.dumps(result, allow_nan=False))
    except (TypeError, ValueError) as error:
        return ChildReply(NOT_JSON, message=str(error))


def _reply(kind: str, error: BaseException) -> ChildReply:
    return ChildReply(
        kind,
        exception_type=type(error).__name__,
        message=str(error),
        traceback=traceback.format_exc(),
    )
