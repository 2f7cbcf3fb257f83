"""The warm pool of plugin processes: one per server process, created on first use.

Each child has a pipe of its own, and the thread that runs a plugin talks to its child itself:
it sends the task, waits on the pipe for at most the plugin's timeout, and reads the reply. No
scheduler or result thread stands between them, so a run costs two pipe writes and two wake-ups.
A child past its timeout is killed (SIGKILL: a plugin spinning in C never runs a Python signal
handler), a child that died is seen at once as the end of its pipe, and a child is replaced after
``tasks_per_child`` runs. Children are started with ``forkserver``, not ``fork``: the parent is a
threaded gunicorn worker or a django-q2 worker holding database connections and locks, none of
which a child may inherit half-held.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.util
import queue
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import FrameType
from typing import Any

from execution import exceptions
from execution.conf import execution_settings
from execution.tool_runner import child
from execution.tool_runner.catalog import plugin_catalog

logger = logging.getLogger(__name__)

# How long a stopped or retired child may take to exit before it is left to the forkserver.
EXIT_WAIT_SECONDS = 1.0
# How long a new child may take to set the plugins up (load models) before its first run, which
# its run's timeout does not include.
START_SECONDS = 60.0


def stopping() -> exceptions.ServiceUnavailable:
    return exceptions.ServiceUnavailable(
        "The plugin processes are stopping or could not start; retry later."
    )


def crash_failure(exit_code: int | None, cpu_seconds: int) -> exceptions.PluginError:
    """What a child's end in the middle of a run says: its signal, or its exit status."""
    if exit_code is not None and exit_code < 0:
        number = -exit_code
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        if number == signal.SIGXCPU:
            return exceptions.ResourceLimit(
                f"The plugin used more than its {cpu_seconds} s of CPU and was stopped.",
                details={"limit": "cpu_seconds", "cpu_seconds": cpu_seconds},
            )
        return exceptions.PluginCrashed(
            f"The plugin's process was killed by {name}.",
            details={"signal": name, "signal_number": number},
        )
    return exceptions.PluginCrashed(
        f"The plugin's process exited with status {exit_code}.",
        details={"exit_code": exit_code},
    )


@dataclass(frozen=True)
class PoolConfig:
    plugins: tuple[str, ...]
    entry_point_group: str | None
    size: int
    tasks_per_child: int
    log_level: int


class ChildProcess:
    """One warm child and our end of its pipe. Used by one thread at a time (the pool's slot)."""

    def __init__(self, config: PoolConfig) -> None:
        context = multiprocessing.get_context("forkserver")
        ours, theirs = context.Pipe()
        arguments = (theirs, list(config.plugins), config.entry_point_group, config.log_level)
        # Daemonic: an exiting parent takes the child with it, whatever else fails.
        self.process = context.Process(target=child.serve, args=arguments, daemon=True)
        self.process.start()
        theirs.close()
        self.connection: Connection = ours
        self.runs = 0

    def ready(self) -> bool:
        """Wait for the child's word that its plugins are set up; False if it never came."""
        try:
            return bool(
                self.connection.poll(START_SECONDS) and self.connection.recv() == child.READY
            )
        except (EOFError, OSError):
            return False

    def alive(self) -> bool:
        return self.process.is_alive() and not self.connection.closed

    def call(self, task: child.ChildTask, timeout: float) -> child.ChildReply | None:
        """The child's reply, or None if it ended during the run (see ``exit_code``)."""
        self.runs += 1
        try:
            self.connection.send(task)
            replied = self.connection.poll(timeout)
            reply: child.ChildReply | None = self.connection.recv() if replied else None
        except (EOFError, OSError):  # the pipe's end: the process is gone
            self.process.join(EXIT_WAIT_SECONDS)
            self.connection.close()
            return None
        except BaseException:
            # Interrupted while the child runs (Ctrl-C, django-q2's time limit): stop it with us.
            self.stop()
            raise
        if not replied:
            self.stop()
            raise exceptions.PluginTimeout(
                f"The plugin ran past its limit of {timeout:g} s and was stopped.",
                details={"timeout_seconds": timeout},
            )
        return reply

    @property
    def exit_code(self) -> int | None:
        return self.process.exitcode

    def stop(self) -> None:
        """Kill now: a child holds nothing that needs an orderly exit."""
        self.connection.close()
        if self.process.exitcode is None:
            self.process.kill()
        self.process.join(EXIT_WAIT_SECONDS)

    def retire(self) -> None:
        """Close the pipe: an idle child reads its end and exits."""
        self.connection.close()
        self.process.join(EXIT_WAIT_SECONDS)
        if self.process.exitcode is None:
            self.stop()


class PluginPool:
    """``size`` slots, each empty or holding an idle child; a run takes one and gives it back.
    A child is started when an empty slot is taken, so the pool costs nothing until used, and
    the most recently used child is taken first (its caches are warm)."""

    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self._slots: queue.LifoQueue[ChildProcess | None] = queue.LifoQueue()
        for _ in range(config.size):
            self._slots.put(None)
        self._children: set[ChildProcess] = set()  # every child started and not yet stopped
        self._lock = threading.Lock()
        self.stopped = False

    def call(self, task: child.ChildTask, *, timeout: float, wait: float) -> child.ChildReply:
        """Run the task in a free child; ``wait`` bounds the wait for one to become free."""
        if self.stopped:
            raise stopping()
        try:
            taken = self._slots.get(timeout=wait)
        except queue.Empty:
            raise exceptions.ServiceUnavailable(
                "No plugin process was free to run this request; retry later."
            ) from None
        kept: ChildProcess | None = None
        try:
            if taken is not None and taken.alive():
                kept = taken
            else:  # an empty slot, or a child that died idle (the kernel's OOM killer)
                self._forget(taken)
                kept = self._start()
            reply = kept.call(task, timeout)
            if reply is not None:
                return reply
            if self.stopped:  # killed by stop(): the server is going away, not the plugin's doing
                raise stopping()
            raise crash_failure(kept.exit_code, task.cpu_seconds)
        finally:
            self._slots.put(self._after_run(kept))

    def _start(self) -> ChildProcess:
        try:
            started = ChildProcess(self.config)
        except OSError as error:  # no process could be made (a limit on processes, memory)
            raise stopping() from error
        with self._lock:
            self._children.add(started)
        if not started.ready():
            self._forget(started)
            raise stopping()
        return started

    def _forget(self, process: ChildProcess | None) -> None:
        if process is not None:
            process.stop()
            with self._lock:
                self._children.discard(process)

    def _after_run(self, process: ChildProcess | None) -> ChildProcess | None:
        """What goes back into the slot: the child, unless it is gone or has run its share."""
        if process is None or self.stopped:
            return process
        if not process.alive():
            self._forget(process)
            return None
        if process.runs >= self.config.tasks_per_child:
            process.retire()
            self._forget(process)
            return None
        return process

    def stop(self) -> None:
        """Kill every child, busy ones too: their runs end as SERVICE_UNAVAILABLE."""
        self.stopped = True
        with self._lock:
            children, self._children = self._children, set()
        for process in children:
            process.stop()


# Re-entrant: the signal handler stops the pool in the main thread, which may hold the lock.
_lock = threading.RLock()
_pool: PluginPool | None = None
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


def plugin_pool() -> PluginPool:
    """This process's pool, (re)created when missing, stopped or configured differently."""
    global _pool
    config = current_config()
    with _lock:
        if _pool is not None and (config != _pool.config or _pool.stopped):
            _pool.stop()
            _pool = None
        if _pool is None:
            multiprocessing.get_context("forkserver").set_forkserver_preload(preloaded_modules())
            _pool = PluginPool(config)
            _install_shutdown()
        return _pool


def preloaded_modules() -> list[str]:
    """What the forkserver imports once, before it forks any child: the child's side and the
    modules of the plugins this process discovered (so they import). A replaced child then
    starts without importing numpy, OpenCV and the rest anew, which costs more CPU than
    hundreds of runs. It applies when the forkserver starts: with this process's first pool."""
    plugins = {type(plugin).__module__ for plugin in plugin_catalog().available.values()}
    return [child.__name__, *sorted(plugins)]


def shutdown_pool() -> None:
    """Stop every child now (runs in hand are abandoned): at exit and on SIGTERM/SIGINT."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.stop()
            _pool = None


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
