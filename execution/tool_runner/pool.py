"""The warm pool of plugin processes: one per server process, created on first use.

Each child has a pipe of its own, and the thread that runs a plugin talks to its child itself:
it sends the task, waits on the pipe for at most the plugin's timeout, and reads the reply. No
scheduler or result thread stands between them, so a run costs two pipe writes and two wake-ups.
A child past its timeout is killed (SIGKILL: a plugin spinning in C never runs a Python signal
handler), a child that died is seen at once as the end of its pipe, and a child is replaced after
``tasks_per_child`` runs. Children are started with ``forkserver``, not ``fork``: the parent is a
threaded gunicorn worker or a django-q2 worker holding database connections and locks, none of
which a child may inherit half-held.

Each child leads a process group of its own and has a temporary directory of its own (0700),
made here before it starts. However a child ends (past its timeout, replaced, dead, stopped with
the pool), its whole group is killed, so what its plugin started (pytesseract's ``tesseract``)
dies with it, and its directory is removed, with the files its plugin left there (tesseract's
copy of the client's image).
"""

from __future__ import annotations

import collections
import logging
import multiprocessing
import multiprocessing.util
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import FrameType
from typing import Any

from execution import exceptions
from execution.conf import execution_settings
from execution.tool_runner import child

logger = logging.getLogger(__name__)

# How long a killed child may take to be reaped before it is left to the forkserver.
EXIT_WAIT_SECONDS = 1.0
# How long a run may wait for a child that is free (a pool smaller than its threads,
# EXECUTION_POOL_SIZE) and ready (a new one sets its plugins up) before its own timeout starts:
# an isolated run ends within its timeout and this.
WAIT_SECONDS = 15.0


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
    tasks_per_child: int  # 0: never replaced for its age
    log_level: int


class ChildProcess:
    """One child and our end of its pipe, used by the one thread that holds its slot. Only that
    thread closes the pipe; anyone may kill the process (the holder then reads the pipe's end)."""

    def __init__(self, config: PoolConfig) -> None:
        context = multiprocessing.get_context("forkserver")
        # Made and removed here only, never by the child: it outlives the child until close().
        self.temp_dir = tempfile.mkdtemp(prefix="plugin-child-")
        ours, theirs = context.Pipe()
        arguments = (
            theirs,
            list(config.plugins),
            config.entry_point_group,
            config.log_level,
            self.temp_dir,
        )
        # Daemonic: an exiting parent takes the child with it, whatever else fails.
        self.process = context.Process(target=child.serve, args=arguments, daemon=True)
        try:
            self.process.start()
        except BaseException:
            ours.close()
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            raise
        finally:
            theirs.close()
        self.connection: Connection = ours
        self.ready = False  # the child has said its plugins are set up
        self.runs = 0
        self.spent = False  # replaced after this run, whatever its age (it ran out of memory)

    def wait_ready(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the child's word that its plugins are set up. False if it
        has not said so yet (it may still), or died first (then it is not ``alive``)."""
        try:
            if self.connection.poll(max(seconds, 0)):
                self.ready = self.connection.recv() == child.READY
        except (EOFError, OSError):
            self.connection.close()
        return self.ready

    def alive(self) -> bool:
        """Not known to be dead. An idle child never writes: a readable pipe is its end, seen
        before the forkserver has reaped it."""
        if self.connection.closed or not self.process.is_alive():
            return False
        return not (self.ready and self.connection.poll(0))

    def send(self, task: child.ChildTask) -> bool:
        """Hand the task over; False if the child was gone (the task never reached it)."""
        self.runs += 1
        try:
            self.connection.send(task)
        except OSError:
            self.close()
            return False
        return True

    def reply(self, timeout: float) -> child.ChildReply | None:
        """The child's reply, or None if it ended during the run (see ``exit_code``)."""
        try:
            replied = self.connection.poll(timeout)
            reply: child.ChildReply | None = self.connection.recv() if replied else None
        except (EOFError, OSError):  # the pipe's end: the process is gone
            self.close()
            return None
        except BaseException:
            # Interrupted while the child runs (Ctrl-C, django-q2's time limit): stop it with us.
            self.close()
            raise
        if not replied:
            self.close()
            raise exceptions.PluginTimeout(
                f"The plugin ran past its limit of {timeout:g} s and was stopped.",
                details={"timeout_seconds": timeout},
            )
        return reply

    @property
    def exit_code(self) -> int | None:
        return self.process.exitcode

    def kill(self) -> None:
        """SIGKILL at once, to the child's whole process group: a child holds nothing that needs
        an orderly exit, and whatever its plugin started must not outlive it. A group outlives
        its leader while any of its processes runs, so a child that exited has its group killed
        too."""
        pid = self.process.pid
        assert pid is not None, "started in __init__"
        exited = self.process.exitcode is not None
        if exited and _exists(pid):
            # Reaped, and its pid taken since by another process, which only an empty group of
            # ours allows: that process's group, if it leads one, is not ours to kill.
            return
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            # No such group (the child has not made itself its leader yet, or it is empty), or
            # none of it we may signal: the child at least.
            if not exited:
                self.process.kill()

    def close(self) -> None:
        """Kill the child and its group, reap it, close our end of its pipe (its holder only),
        and remove its temporary directory."""
        self.kill()
        self.process.join(EXIT_WAIT_SECONDS)
        self.connection.close()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        pass
    return True


class PluginPool:
    """``size`` slots, each empty or holding a child; a run takes one and gives it back. A child
    is started when an empty slot is taken, or for every slot at once by ``fill``; the most
    recently used child is taken first (its caches are warm), an empty slot last."""

    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self._slots: collections.deque[ChildProcess | None] = collections.deque(
            [None] * config.size
        )
        # Re-entrant: the signal handler may stop the pool while this thread holds the lock.
        self._lock = threading.RLock()
        self._free = threading.Condition(self._lock)
        self._children: set[ChildProcess] = set()  # every child started and not yet stopped
        self.stopped = False

    def call(
        self, task: child.ChildTask, *, timeout: float, wait: float = WAIT_SECONDS
    ) -> child.ChildReply:
        """Run the task in a free child: ``wait`` bounds the wait for one to be free and ready,
        ``timeout`` the run itself. Whatever ends the call, ``held`` goes back to its slot."""
        deadline = time.monotonic() + wait
        held = self._take(wait)
        try:
            if held is not None and not held.alive():  # died idle (the kernel's OOM killer)
                self._forget(held)
                held = None
            held = held or self._start()
            self._wait_ready(held, deadline)
            if not held.send(task):  # it died idle, unseen: the task never reached it
                held = self._start()
                self._wait_ready(held, deadline)
                if not held.send(task):
                    raise stopping()
            reply = held.reply(timeout)
            if reply is None:
                if self.stopped:  # killed by stop(): the server is going away, not the plugin
                    raise stopping()
                raise crash_failure(held.exit_code, task.cpu_seconds)
            held.spent = reply.kind == child.MEMORY
            return reply
        finally:
            self._give_back(held)

    def fill(self) -> None:
        """Start a child in every empty slot, without waiting for them: they set their plugins up
        together, in the background. Otherwise a slot's child starts when every started one is
        busy at once, so the first bursts of a server each pay a setup (0.4 s of CPU) and wait
        for it. A child that cannot start leaves its slot empty, for a run to try again."""
        with self._lock:
            empty = self._slots.count(None)
        started: list[ChildProcess] = []
        for _ in range(empty):
            try:
                started.append(self._start())
            except exceptions.ServiceUnavailable:
                break  # logged by _start; stopped, or no process could start
        extra: list[ChildProcess] = []
        with self._free:
            if self.stopped:
                return  # stop() killed them with every other child
            for process in started:
                if None in self._slots:  # runs may have filled slots meanwhile
                    self._slots.remove(None)
                    self._slots.append(process)  # to the right, where runs take children
                else:
                    extra.append(process)
            self._free.notify_all()
        for process in extra:
            self._forget(process)

    def child_pids(self) -> list[int]:
        """The pids of every child started and not yet stopped (for diagnostics and tests)."""
        with self._lock:
            return sorted(pid for process in self._children if (pid := process.process.pid))

    def stop(self) -> None:
        """Kill every child, busy ones too: their runs end as SERVICE_UNAVAILABLE."""
        with self._lock:
            self.stopped = True
            children, self._children = self._children, set()
            idle = [process for process in self._slots if process is not None]
            self._slots.clear()
            self._free.notify_all()
        for process in children:
            process.kill()
        for process in idle:  # the busy ones are closed by the threads that hold them
            process.close()

    def _take(self, wait: float) -> ChildProcess | None:
        with self._free:
            if not self._free.wait_for(lambda: self._slots or self.stopped, timeout=wait):
                raise exceptions.ServiceUnavailable(
                    "No plugin process was free to run this request; retry later."
                )
            if self.stopped:
                raise stopping()
            return self._slots.pop()

    def _give_back(self, process: ChildProcess | None) -> None:
        if process is not None and self._worn_out(process):
            self._forget(process)
            process = None
        with self._free:
            if self.stopped:
                if process is not None:
                    process.close()
                return
            if process is None:
                self._slots.appendleft(None)
            else:
                self._slots.append(process)
            self._free.notify()

    def _worn_out(self, process: ChildProcess) -> bool:
        """Dead, spent, or past its share of runs: replaced, not given back."""
        limit = self.config.tasks_per_child
        return not process.alive() or process.spent or (limit > 0 and process.runs >= limit)

    def _wait_ready(self, process: ChildProcess, deadline: float) -> None:
        """Until the deadline, for a child still setting its plugins up. One that is not ready
        by then stays in its slot, and the next run waits on for it."""
        if process.ready or process.wait_ready(deadline - time.monotonic()):
            return
        if process.alive():
            raise exceptions.ServiceUnavailable(
                "The plugin process is still setting its plugins up; retry later."
            )
        logger.error("A plugin process exited with %s before it was ready", process.exit_code)
        raise stopping()

    def _start(self) -> ChildProcess:
        try:
            started = ChildProcess(self.config)
        except Exception as error:  # no process (a limit on processes, memory; no forkserver)
            logger.exception("Could not start a plugin process")
            raise stopping() from error
        with self._lock:
            if self.stopped:
                started.close()
                raise stopping()
            self._children.add(started)
        return started

    def _forget(self, process: ChildProcess) -> None:
        process.close()
        with self._lock:
            self._children.discard(process)


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
            # The forkserver imports the child's side once, so each child starts without it.
            # Only ours: an import that fails there with anything but ImportError kills the
            # forkserver, and every child with it; a plugin's module is imported by each child.
            multiprocessing.get_context("forkserver").set_forkserver_preload([child.__name__])
            _pool = PluginPool(config)
            _install_shutdown()
        return _pool


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
