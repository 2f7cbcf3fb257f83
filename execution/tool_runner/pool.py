"""The warm pool of plugin processes: one per server process, created on first use.

pebble's ProcessPool does what the standard library's pools cannot on Python 3.11: it kills a
task's process when the task passes its timeout, replaces a process that died, and recycles
each process after ``max_tasks`` runs. Children are started with ``forkserver``, not ``fork``:
the parent is a threaded gunicorn worker or a django-q2 worker holding database connections
and locks, none of which a child may inherit half-held.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.util
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from pebble import ProcessPool
from pebble.common.types import CONSTS

from execution.conf import execution_settings
from execution.tool_runner import child

logger = logging.getLogger(__name__)

# pebble waits this long for a process it stopped (SIGTERM) before SIGKILL; 3 s by default.
# A plugin spinning in C holds the GIL and never runs Python's SIGTERM handler, and a hanging
# run must answer within its timeout plus a second.
CONSTS.term_timeout = 0.3


@dataclass(frozen=True)
class PoolConfig:
    plugins: tuple[str, ...]
    entry_point_group: str | None
    size: int
    tasks_per_child: int
    log_level: int


# Re-entrant: the signal handler stops the pool in the main thread, which may hold the lock.
_lock = threading.RLock()
_pool: ProcessPool | None = None
_config: PoolConfig | None = None
_handlers_installed = False


def current_config() -> PoolConfig:
    return PoolConfig(
        plugins=tuple(execution_settings.PLUGINS),
        entry_point_group=execution_settings.PLUGIN_ENTRY_POINT_GROUP,
        size=pool_size(),
        tasks_per_child=execution_settings.TASKS_PER_CHILD,
        log_level=logging.getLogger().getEffectiveLevel(),
    )


def pool_size() -> int:
    """One child per thread that can feed the pool, so no run waits for a free child: a
    django-q2 worker (a multiprocessing child of its cluster) runs one task at a time; a web
    process runs one per thread."""
    if configured := execution_settings.POOL_SIZE:
        return int(configured)
    if multiprocessing.parent_process() is not None:
        return 1
    return int(execution_settings.WEB_THREADS)


def plugin_pool() -> ProcessPool:
    """This process's pool, (re)created when missing, broken or configured differently."""
    global _pool, _config
    config = current_config()
    with _lock:
        if _pool is not None and (config != _config or not _usable(_pool)):
            _stop(_pool)
            _pool = None
        if _pool is None:
            _pool = ProcessPool(
                max_workers=config.size,
                max_tasks=config.tasks_per_child,
                initializer=child.initialize,
                initargs=(list(config.plugins), config.entry_point_group, config.log_level),
                context=multiprocessing.get_context("forkserver"),
            )
            _config = config
            _install_shutdown()
        return _pool


def discard_pool(pool: ProcessPool) -> None:
    """Drop a pool found broken (pebble gives up on a pool whose processes all died at once);
    the next run starts a new one."""
    global _pool
    with _lock:
        if _pool is pool:
            _stop(pool)
            _pool = None


def shutdown_pool() -> None:
    """Stop every child now (tasks in hand are abandoned): at exit and on SIGTERM/SIGINT."""
    global _pool
    with _lock:
        if _pool is not None:
            _stop(_pool)
            _pool = None


def _usable(pool: ProcessPool) -> bool:
    # A pool not started yet is not "active" to pebble, but usable all the same.
    return pool.active or not getattr(pool, "_loops", ())


def _stop(pool: ProcessPool) -> None:
    pool.stop()
    with contextlib.suppress(TimeoutError):
        pool.join(timeout=5)


def _install_shutdown() -> None:
    """At exit, and on SIGTERM and SIGINT when the pool is created in the main thread (signal
    handlers can only be set there; a web thread's pool is stopped at exit, and its children
    die with the process anyway). The handlers chain to whatever was installed before:
    gunicorn's, django-q2's, or the default."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    # A multiprocessing finalizer, not only atexit: a django-q2 worker is a multiprocessing child,
    # which skips atexit and, before it exits, waits for its children (the pool's) to end.
    multiprocessing.util.Finalize(None, shutdown_pool, exitpriority=10)
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)
        if previous != signal.SIG_IGN:  # a process that ignores it (a qcluster worker) goes on
            signal.signal(signum, _chained(signum, previous))


def _chained(signum: int, previous: Any) -> Callable[[int, FrameType | None], None]:
    def handler(received: int, frame: FrameType | None) -> None:
        shutdown_pool()
        if callable(previous):
            previous(received, frame)
        elif previous == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    return handler
