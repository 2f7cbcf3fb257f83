"""Structured logs: the execution a line was written in, and one line per execution.

``bind(job_id=..., plugin=..., mode=...)`` puts fields in a context variable for the length of
a block; ``ExecutionContextFilter``, installed on the handlers in ``settings.LOGGING``, copies
them onto every record those handlers see, whichever logger wrote it (ours, Django's,
django-q2's), so a line written while a job runs names the job. A context variable, not a
thread-local: it follows the code into ``asyncio`` tasks and ``contextvars.copy_context`` and
never leaks from one request's thread into the next.

``log_execution`` writes the one line per execution that the ToolRunner's ``finally`` emits.
With ``LOG_FORMAT=json`` (python-json-logger) each field is a JSON key; in plain text the
fields follow the message as ``key=value``.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

EXECUTION_LOGGER = "execution.executions"
# The fields bound for an execution, in the order the plain format prints them.
CONTEXT_FIELDS = ("job_id", "plugin", "mode")
_EXECUTION_FIELDS = (*CONTEXT_FIELDS, "outcome", "code", "duration_ms", "worker")

# Replaced, never mutated: a block's bindings end with it, whatever ran inside.
_context: ContextVar[Mapping[str, str]] = ContextVar(
    "execution_log_context", default=MappingProxyType({})
)

logger = logging.getLogger(EXECUTION_LOGGER)


@contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Every log record written inside the block carries these fields (None ones are left out)."""
    bound = {**_context.get(), **{key: str(value) for key, value in fields.items() if value}}
    token = _context.set(bound)
    try:
        yield
    finally:
        _context.reset(token)


def bound_fields() -> dict[str, str]:
    return dict(_context.get())


def worker_name() -> str:
    """host:pid, the way the Job row names the process that ran it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def log_execution(
    *, plugin: str, job_id: str | None, outcome: str, code: str, elapsed_ms: float
) -> None:
    """The line an execution leaves, whatever its outcome. ``mode`` comes from the bound context
    (the job service knows it, the ToolRunner does not)."""
    fields = {
        "job_id": job_id or _context.get().get("job_id", ""),
        "plugin": plugin,
        "mode": _context.get().get("mode", ""),
        "outcome": outcome,
        "code": code,
        "duration_ms": round(elapsed_ms, 3),
        "worker": worker_name(),
    }
    logger.info("execution finished", extra=fields)


class ExecutionContextFilter(logging.Filter):
    """Copies the bound fields onto each record; a field the call passed itself wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class PlainFormatter(logging.Formatter):
    """The human-readable format, with the execution's fields appended as ``key=value``."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        # Before any traceback, which format() appends after the message.
        line = super().formatMessage(record)
        pairs = [
            f"{key}={getattr(record, key)}"
            for key in _EXECUTION_FIELDS
            if getattr(record, key, "") not in ("", None)
        ]
        return f"{line} {' '.join(pairs)}" if pairs else line
