"""The plugin pool on its own: real children started through the forkserver, a pipe each.

The misbehaving plugins' failures through the whole chain are tests/execution/test_isolation.py;
these are the pool's own promises: a child is reused, recycled after its share of runs,
replaced when it died idle, killed past its timeout, and every one is stopped with the pool;
however a child ends, the processes its plugin started and its temporary directory go with it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from execution import exceptions
from execution.tool_runner import child
from execution.tool_runner.pool import ChildProcess, PluginPool, PoolConfig
from tests import images
from tests.helpers import assert_gone, left_behind, running

PLUGINS = (
    "tests.misbehaving_plugins.ReportsProcess",
    "tests.misbehaving_plugins.Sleeps",
    "tests.misbehaving_plugins.AllocatesForever",
    "tests.misbehaving_plugins.LeavesProcess",
)


def config(*, size: int = 1, tasks_per_child: int = 100) -> PoolConfig:
    return PoolConfig(PLUGINS, None, size, tasks_per_child, logging.WARNING)


def task(
    plugin: str = "test-reports-process", memory_mb: int = 1024, **options: object
) -> child.ChildTask:
    return child.ChildTask(plugin, "image/png", dict(options), memory_mb, 30, images.small_png())


def child_pid(pool: PluginPool, *, timeout: float = 10) -> int:
    reply = pool.call(task(), timeout=timeout, wait=timeout)
    assert reply.kind == child.OK, reply
    pid: int = json.loads(reply.result_json)["pid"]
    return pid


def wait_until_gone(pid: int, seconds: float = 5) -> bool:
    try:
        process = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return True
    return not psutil.wait_procs([process], timeout=seconds)[1]


@pytest.fixture
def pools() -> Iterator[list[PluginPool]]:
    """Every pool a test makes is stopped, and its children with it, however the test ends."""
    made: list[PluginPool] = []
    yield made
    for pool in made:
        pool.stop()


def test_a_child_serves_run_after_run_and_is_recycled_after_its_share(
    pools: list[PluginPool],
) -> None:
    pools.append(pool := PluginPool(config(tasks_per_child=3)))

    pids = [child_pid(pool) for _ in range(4)]

    assert pids[0] == pids[1] == pids[2] != pids[3]
    assert os.getpid() not in pids
    assert wait_until_gone(pids[0]), "the recycled child exited"


def test_fill_starts_every_slot_and_runs_use_those_children(pools: list[PluginPool]) -> None:
    """A web worker fills its pool as it boots: every slot's child starts at once, and the runs
    that follow, concurrent ones too, are served by those children, none started for them."""
    pools.append(pool := PluginPool(config(size=3)))

    pool.fill()
    started = pool.child_pids()
    assert len(started) == 3
    # A second fill finds no empty slot.
    pool.fill()
    assert pool.child_pids() == started

    served: list[int] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        barrier.wait()
        served.append(child_pid(pool))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(served) == 3
    assert set(served) <= set(started)
    assert pool.child_pids() == started


def test_a_child_that_died_idle_is_replaced_before_the_run(pools: list[PluginPool]) -> None:
    pools.append(pool := PluginPool(config()))
    first = child_pid(pool)
    os.kill(first, signal.SIGKILL)  # the kernel's OOM killer, an operator
    assert wait_until_gone(first)

    assert child_pid(pool) != first  # a run, not a crash: nothing of it ran in the dead child


def test_a_child_killed_idle_just_before_a_run_is_replaced_not_reported(
    pools: list[PluginPool],
) -> None:
    """No wait for the forkserver to reap it and report its status: the run comes while the
    child's process still looks alive to multiprocessing."""
    pools.append(pool := PluginPool(config()))
    for _ in range(5):
        first = child_pid(pool)
        os.kill(first, signal.SIGKILL)
        time.sleep(0.01)  # dead, its pipe closed; a kill in the same instant is a crash
        assert child_pid(pool) != first


def test_a_child_that_ran_out_of_memory_is_replaced(pools: list[PluginPool]) -> None:
    pools.append(pool := PluginPool(config()))
    first = child_pid(pool)

    reply = pool.call(task("test-allocates-forever", memory_mb=256), timeout=30, wait=10)

    assert reply.kind == child.MEMORY
    assert wait_until_gone(first)
    assert child_pid(pool) != first


def test_a_pool_without_a_share_never_replaces_its_child(pools: list[PluginPool]) -> None:
    pools.append(pool := PluginPool(config(tasks_per_child=0)))

    assert len({child_pid(pool) for _ in range(5)}) == 1


def test_a_run_past_its_timeout_kills_its_child(pools: list[PluginPool]) -> None:
    pools.append(pool := PluginPool(config()))
    first = child_pid(pool)

    started = time.monotonic()
    with pytest.raises(exceptions.PluginTimeout) as timed_out:
        pool.call(task("test-sleeps", seconds=30), timeout=0.5, wait=5)

    assert timed_out.value.details == {"timeout_seconds": 0.5}
    assert time.monotonic() - started < 5
    assert wait_until_gone(first, seconds=1)
    assert child_pid(pool) != first


def test_a_child_killed_during_its_run_is_a_death_with_its_signal(
    pools: list[PluginPool],
) -> None:
    pools.append(pool := PluginPool(config()))
    first = child_pid(pool)
    threading.Timer(0.3, os.kill, (first, signal.SIGKILL)).start()

    with pytest.raises(exceptions.PluginCrashed) as crashed:
        pool.call(task("test-sleeps", seconds=30), timeout=10, wait=5)

    assert crashed.value.details == {"signal": "SIGKILL", "signal_number": signal.SIGKILL}
    assert child_pid(pool) != first


def test_a_run_waits_for_a_free_child_only_as_long_as_it_may(pools: list[PluginPool]) -> None:
    pools.append(pool := PluginPool(config(size=1)))
    busy = threading.Thread(
        target=pool.call, args=(task("test-sleeps", seconds=2),), kwargs={"timeout": 10, "wait": 5}
    )
    busy.start()
    time.sleep(0.5)  # the only child is taken (and set up) by then

    started = time.monotonic()
    with pytest.raises(exceptions.ServiceUnavailable, match="No plugin process was free"):
        pool.call(task(), timeout=10, wait=0.3)
    assert time.monotonic() - started < 1.5
    busy.join()
    child_pid(pool)  # free again


def in_background(
    pool: PluginPool, call: child.ChildTask, *, timeout: float
) -> tuple[threading.Thread, list[BaseException]]:
    """The run in a thread of its own, started; what ended it, if it raised, in the list."""
    ended: list[BaseException] = []

    def run() -> None:
        try:
            pool.call(call, timeout=timeout, wait=10)
        except BaseException as error:  # the test reads what ended the run
            ended.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, ended


def wait_for_children(pool: PluginPool, count: int, seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    while len(pids := pool.child_pids()) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(pids) == count
    return pids


def test_stopping_the_pool_kills_every_child_busy_ones_too(pools: list[PluginPool]) -> None:
    pool = PluginPool(config(size=2))
    busy, outcome = in_background(pool, task("test-sleeps", seconds=30), timeout=60)
    wait_for_children(pool, 1)
    child_pid(pool)  # the other slot's child, idle after this
    pids = wait_for_children(pool, 2)
    time.sleep(0.5)  # the busy child set up and sleeping by then

    pool.stop()
    busy.join(5)

    assert not busy.is_alive()
    # The plugin did nothing wrong: the server is going away.
    assert [type(error) for error in outcome] == [exceptions.ServiceUnavailable]
    assert all(wait_until_gone(pid, seconds=2) for pid in pids)
    assert pool.child_pids() == []
    with pytest.raises(exceptions.ServiceUnavailable, match="stopping"):
        pool.call(task(), timeout=1, wait=1)


def test_a_run_waiting_for_a_slot_when_the_pool_stops_starts_no_child(
    pools: list[PluginPool],
) -> None:
    pool = PluginPool(config(size=1))
    busy_pid = child_pid(pool)
    ended: list[BaseException | None] = []

    def run(seconds: float) -> None:
        try:
            pool.call(task("test-sleeps", seconds=seconds), timeout=60, wait=10)
            ended.append(None)
        except BaseException as error:  # the test reads what ended the run
            ended.append(error)

    busy = threading.Thread(target=run, kwargs={"seconds": 30})
    waiting = threading.Thread(target=run, kwargs={"seconds": 0})
    busy.start()
    time.sleep(0.3)
    waiting.start()
    time.sleep(0.3)  # waiting for the only slot by then

    pool.stop()
    busy.join(5)
    waiting.join(5)

    assert [type(error) for error in ended] == [exceptions.ServiceUnavailable] * 2
    assert wait_until_gone(busy_pid)
    assert pool.child_pids() == []


# --- What a plugin started and wrote: a process group and a directory per child -------------


def assert_private_while_it_runs(left: dict[str, Any]) -> Path:
    """The plugin's process runs and its file is in the child's own directory, which only this
    user may enter (pytesseract's copy of the image is 0644): the directory, returned."""
    directory = Path(left["temp_dir"])
    assert directory.name.startswith("plugin-child-")
    assert Path(left["file"]).parent == directory
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert running(left["pid"])
    return directory


def test_a_child_closed_as_it_starts_is_killed_and_its_directory_removed() -> None:
    """Closed at once, a child may not have made itself a group's leader yet: then it is killed
    alone (nothing of a plugin's runs yet)."""
    for _ in range(5):
        started = ChildProcess(config())
        directory = Path(started.temp_dir)
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        started.close()

        assert started.process.exitcode == -signal.SIGKILL
        assert not directory.exists()


def test_a_run_past_its_timeout_takes_its_plugin_s_processes_and_files_with_it(
    pools: list[PluginPool], tmp_path: Path
) -> None:
    """The OCR plugin's case: pytesseract's tesseract, and its files, outlived the killed child,
    spinning past the plugin's CPU limit."""
    pools.append(pool := PluginPool(config()))
    report = tmp_path / "left.json"
    with left_behind(report) as read:
        thread, ended = in_background(
            pool, task("test-leaves-process", report=str(report)), timeout=2
        )
        left = read()
        assert_private_while_it_runs(left)
        thread.join(10)

        assert [type(error) for error in ended] == [exceptions.PluginTimeout]
        assert_gone(left)


@pytest.mark.parametrize(
    ("then", "outcome"), [("exits", exceptions.PluginCrashed), ("returns", None)]
)
def test_a_child_that_exited_or_was_replaced_leaves_nothing_of_its_plugin(
    pools: list[PluginPool], tmp_path: Path, then: str, outcome: type[Exception] | None
) -> None:
    """The child ended by itself (``os._exit``), or was replaced after its share of runs (one
    here): either way the process its plugin started is killed with its process group."""
    pools.append(pool := PluginPool(config(tasks_per_child=1)))
    report = tmp_path / "left.json"
    with left_behind(report) as read:
        run = task("test-leaves-process", report=str(report), then=then)
        if outcome is None:
            assert pool.call(run, timeout=10, wait=10).kind == child.OK
        else:
            with pytest.raises(outcome):
                pool.call(run, timeout=10, wait=10)

        assert_gone(read())


def test_stopping_the_pool_takes_every_child_s_plugin_processes_and_files_with_it(
    tmp_path: Path,
) -> None:
    """A busy child (its plugin hangs) and an idle one (its plugin returned, its process still
    running): stop() kills both groups and removes both directories."""
    pool = PluginPool(config(size=2, tasks_per_child=0))
    busy_report, idle_report = tmp_path / "busy.json", tmp_path / "idle.json"
    with left_behind(busy_report) as read_busy, left_behind(idle_report) as read_idle:
        try:
            thread, ended = in_background(
                pool, task("test-leaves-process", report=str(busy_report)), timeout=60
            )
            busy = read_busy()
            run = task("test-leaves-process", report=str(idle_report), then="returns")
            assert pool.call(run, timeout=10, wait=10).kind == child.OK
            idle = read_idle()
            assert assert_private_while_it_runs(busy) != assert_private_while_it_runs(idle)
        finally:
            pool.stop()
        thread.join(5)

        assert [type(error) for error in ended] == [exceptions.ServiceUnavailable]
        assert_gone(busy)
        assert_gone(idle)
