"""Counts of jobs that cost the same at any table size, for the API's list and the admin's.

An exact COUNT(*) reads every matching row: over a whole table of 100,000 jobs it took longer
than the page it counted for. Lists count up to ``JOB_COUNT_LIMIT`` and say whether they
stopped there; page numbers reach as far as the count does, so the deepest OFFSET is bounded
by the same figure.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, cast

from django.core.paginator import Paginator
from django.db.models import QuerySet

JOB_COUNT_LIMIT = 1_000


def count_up_to(jobs: QuerySet[Any], limit: int) -> tuple[int, bool]:
    """How many ``jobs`` there are, reading no more than ``limit`` + 1 of them: (the count, at
    most ``limit``; whether it is exact). Only ``created_at`` is read, newest first as the lists
    are, so the count reads the newest entries of the index the page reads (every index of a
    jobs list ends with ``created_at``) and not the rows. Unordered, PostgreSQL could pick any
    index that holds the column filtered on: for the plugin filter it read the plugin column's
    own index from its first entry, guessing the matches spread evenly among the others."""
    found = jobs.order_by("-created_at").values("created_at")[: limit + 1].count()
    return min(found, limit), found <= limit


class JobCountPaginator(Paginator):
    """The admin's paginator for the jobs lists: a count that stops at ``JOB_COUNT_LIMIT``, so
    the pages (and the deepest OFFSET) stop there too; filters and search reach the rest."""

    count_limit = JOB_COUNT_LIMIT

    @cached_property
    def _counted(self) -> tuple[int, bool]:
        return count_up_to(cast(QuerySet[Any], self.object_list), self.count_limit)

    @property
    def count(self) -> int:
        return self._counted[0]

    @property
    def count_exact(self) -> bool:
        return self._counted[1]
