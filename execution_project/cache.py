"""The embedded set-up's cache: diskcache's Django backend, with no call waiting long.

diskcache keeps the cache in SQLite databases (8 shards) in one directory: every process of the
machine sees the same entries, and ``add`` and ``incr`` are each one SQLite transaction, so
concurrent counts are never lost. The settings (``embedded_cache`` in settings.py) turn eviction
off: an entry goes only when it has expired.

``diskcache.DjangoCache`` writes with ``retry=True``: on SQLite's busy timeout it begins the
transaction again, for as long as the lock stays taken (``Cache._transact``). Here every write
tries once, waiting for another process's write at most the busy timeout (``DATABASE_TIMEOUT``,
1 s in the settings). diskcache's ``FanoutCache`` then gives up quietly (``set``, ``add`` and
``delete`` answer False, ``get`` its default), except that ``incr`` raises ``diskcache.Timeout``
here: its caller counts on the value, and the throttles fail open on it.

Django makes a backend per thread, and diskcache opens its shards when one is made: it writes
its settings into each, retrying a locked database for up to 60 s (``Cache.__init__``). So the
shards are opened once per process and shared by its threads (diskcache's caches are
thread-safe: a connection per thread, reopened after a fork); only a process's first use of the
cache can wait on a lock that long, and a lock is held for one short transaction unless its
process is frozen.
"""

from __future__ import annotations

import threading
from typing import Any

from diskcache import DjangoCache, FanoutCache, Timeout
from django.core.cache.backends.base import BaseCache

_opened: dict[tuple[Any, ...], FanoutCache] = {}
_opening = threading.Lock()


class DiskCache(DjangoCache):
    """``diskcache.DjangoCache`` whose writes wait for SQLite's lock once, never in a loop, and
    whose shards each process opens once."""

    def __init__(self, directory: str, params: dict[str, Any]) -> None:
        # DjangoCache.__init__, with the FanoutCache it would open shared.
        BaseCache.__init__(self, params)
        shards = params.get("SHARDS", 8)
        timeout = params.get("DATABASE_TIMEOUT", 0.010)
        options = params.get("OPTIONS", {})
        key = (directory, shards, timeout, tuple(sorted(options.items())))
        with _opening:
            if key not in _opened:
                _opened[key] = FanoutCache(directory, shards, timeout, **options)
            self._cache = _opened[key]

    # Django's arguments, passed on; diskcache's own after them (read, tag...) by keyword.
    def add(self, *args: Any, **kwargs: Any) -> bool:
        return bool(super().add(*args, **kwargs, retry=False))

    def set(self, *args: Any, **kwargs: Any) -> bool:
        return bool(super().set(*args, **kwargs, retry=False))

    def touch(self, *args: Any, **kwargs: Any) -> bool:
        return bool(super().touch(*args, **kwargs, retry=False))

    def pop(self, *args: Any, **kwargs: Any) -> Any:
        return super().pop(*args, **kwargs, retry=False)

    def delete(self, *args: Any, **kwargs: Any) -> bool:
        return bool(super().delete(*args, **kwargs, retry=False))

    def incr(self, key: Any, delta: int = 1, version: Any = None, default: Any = None) -> int:
        value = super().incr(key, delta, version, default, retry=False)
        if value is None:  # FanoutCache's answer when the lock was not had in time
            raise Timeout(f"cache lock not acquired to increment {key!r}")
        return int(value)

    def decr(self, key: Any, delta: int = 1, version: Any = None, default: Any = None) -> int:
        return self.incr(key, -delta, version, default)

    def close(self, **kwargs: Any) -> None:
        """Keep this thread's connections to the shards open, as the database's are kept.

        Django closes every cache when a request finishes. diskcache's close drops the thread's
        SQLite connections, so each request opened its shard again (a connect and the shard's
        pragmas) and, closing the last connection to it, checkpointed and deleted its WAL, under
        the lock the other processes' throttles wait for: more CPU than the throttle's own add
        and incr. diskcache reopens a connection after a fork by itself."""
