"""One database per table size for the jobs-table benchmarks, so that their requests at 1,000
and at 100,000 jobs can take turns: drift of a shared machine then touches both sizes alike.

``benchmarks.settings`` adds a database alias per size in ``BENCH_TABLE_SIZES`` (a SQLite file
each, or a PostgreSQL schema each in the one database) and this router; ``on_table(size)`` sends
every query of the code it wraps to that size's database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_current: ContextVar[str | None] = ContextVar("bench_table_size", default=None)


def alias_for(size: int) -> str:
    return f"size_{size}"


@contextmanager
def on_table(size: int) -> Iterator[str]:
    token = _current.set(alias_for(size))
    try:
        yield alias_for(size)
    finally:
        _current.reset(token)


class TableSizeRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return _current.get()

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return _current.get()

    def allow_relation(self, first: Any, second: Any, **hints: Any) -> bool:
        return True
