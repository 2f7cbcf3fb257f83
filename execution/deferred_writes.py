"""Writes that must not be lost when the database is away at the moment they are due.

A run that finished while the database was unreachable (or locked past its busy timeout) still
has to be recorded: its job row and its count. The write is queued here and retried with
backoff by one thread per process until the database answers again; the client meanwhile gets
503 with the job id. If the process dies first, the job is still RUNNING and the sweep fails it
as WORKER_LOST and counts it: each run is counted once, by whichever gets there.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import InterfaceError, InternalError, OperationalError, close_old_connections

logger = logging.getLogger(__name__)

# What a retry can mend: a connection refused or lost, a lock held past the busy timeout, a
# database (or a replica) that is read-only for now.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, InternalError)
FIRST_DELAY_SECONDS = 0.2
MAX_DELAY_SECONDS = 5.0
# At exit, how long the process waits for writes still queued before leaving them to the sweep.
EXIT_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class PendingWrite:
    write: Callable[[], None]
    what: str


_queue: queue.Queue[PendingWrite] = queue.Queue()
_lock = threading.Lock()
_thread: threading.Thread | None = None


def write_later(write: Callable[[], None], *, what: str) -> None:
    """Queue ``write`` (one transaction, safe to retry) until the database takes it."""
    global _thread
    logger.warning("Database unavailable: %s is queued until it is back", what)
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_drain, name="deferred-writes", daemon=True)
            _thread.start()
            atexit.register(wait_for_deferred_writes, timeout=EXIT_GRACE_SECONDS)
    _queue.put(PendingWrite(write, what))


def wait_for_deferred_writes(*, timeout: float) -> bool:
    """True once every queued write is done (for tests, and at exit)."""
    deadline = time.monotonic() + timeout
    while _queue.unfinished_tasks:
        if time.monotonic() >= deadline:
            logger.error("%d deferred write(s) not done; the sweep settles them", _queue.qsize())
            return False
        time.sleep(0.05)
    return True


def _drain() -> None:
    while True:
        pending = _queue.get()
        try:
            _retry(pending)
        finally:
            _queue.task_done()


def _retry(pending: PendingWrite) -> None:
    delay = FIRST_DELAY_SECONDS
    while True:
        close_old_connections()
        try:
            pending.write()
        except DATABASE_UNAVAILABLE as error:
            logger.info("Still waiting for the database (%s): %s", error, pending.what)
            time.sleep(delay)
            delay = min(delay * 2, MAX_DELAY_SECONDS)
            continue
        except Exception:
            logger.exception("Deferred write failed for good: %s", pending.what)
            return
        logger.warning("Database back: %s is written", pending.what)
        return
