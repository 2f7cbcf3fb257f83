"""The job list's pages: cursors to walk the whole list, page numbers for its first jobs.

``next`` and ``previous`` are cursor links (DRF's keyset pagination on ``created_at``): each
page is found through an index, however deep, and a job accepted while a client walks the list
neither repeats nor skips a row. ``?page=N`` keeps working where it is cheap, up to the depth
the count reaches (``JOB_COUNT_LIMIT`` jobs); past it the answer is ``PAGE_TOO_DEEP``, which
names the way on, rather than a slow OFFSET or a page that silently is not the one asked for.
"""

from __future__ import annotations

import math
from datetime import UTC
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param

from execution import exceptions
from execution.pagination import JOB_COUNT_LIMIT, count_up_to

INVALID_PAGE = "Invalid page."


def _is_moment(text: str) -> bool:
    """An ISO date and time with its offset, that converts to UTC (within year 9999)."""
    try:
        moment = parse_datetime(text)
        return moment is not None and moment.tzinfo is not None and bool(moment.astimezone(UTC))
    except (ValueError, OverflowError):
        return False


class JobPagination(CursorPagination):
    ordering = "-created_at"
    page_query_param = "page"
    count_limit = JOB_COUNT_LIMIT
    template = None  # the API answers JSON only
    count = 0
    count_exact = True

    def get_page_size(self, request: Request) -> int | None:
        # Read per request: the class attribute was fixed when DRF was imported.
        return api_settings.PAGE_SIZE

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        self.count, self.count_exact = count_up_to(queryset, self.count_limit)
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> Cursor | None:
        size = self.page_size
        assert size  # without a page size DRF paginates nothing and asks for no cursor
        if self.cursor_query_param not in request.query_params:
            number = self._page_number(request, size)
            # Page N is the cursor "N - 1 pages from the start": its links are cursors too.
            return Cursor(offset=(number - 1) * size, reverse=False, position=None)
        if self.page_query_param in request.query_params:
            raise exceptions.RequestInvalid("Send either `page` or `cursor`, not both.")
        cursor = super().decode_cursor(request)
        # A position is a created_at this server wrote; anything else would reach the database
        # as a value it cannot compare.
        position = None if cursor is None else cursor.position
        if position is not None and not _is_moment(str(position)):
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def _page_number(self, request: Request, size: int) -> int:
        """``page`` as one positive ASCII integer within the count's reach. DRF would also take
        ``page=`` (as 1), ``page=last`` and the last of repeated values; those answer 404 here,
        as any other page that does not exist."""
        values = request.query_params.getlist(self.page_query_param)
        if not values:
            return 1
        if not (len(values) == 1 and values[0].isascii() and values[0].isdigit()):
            raise NotFound(INVALID_PAGE)
        number = int(values[0])
        last = max(1, math.ceil(self.count / size))
        if number < 1 or (number > last and self.count_exact):
            raise NotFound(INVALID_PAGE)
        if number > last:
            raise exceptions.PageTooDeep(
                details={"page": number, "max_page": last, "max_jobs": self.count_limit}
            )
        return number

    def encode_cursor(self, cursor: Cursor) -> str:
        # A link from page N carries the cursor alone.
        return remove_query_param(super().encode_cursor(cursor), self.page_query_param)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "count": self.count,
                "count_exact": self.count_exact,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )
