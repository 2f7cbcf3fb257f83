"""Throttles for /v1: per token, and per address for failed authentication.

Both count in fixed windows with the cache's ``add`` and ``incr``: DRF's own throttles keep a
list of moments that each process reads and writes back, so concurrent requests overwrite each
other's counts. Both calls are atomic in Redis and in the embedded set-up's diskcache (one
SQLite transaction each, shared by the processes of one machine, execution_project/cache.py),
which evicts no counter before its window ends (see docs/decisions.md).

Both fail open: a throttle whose cache is unreachable lets the request through and logs a
warning (once a minute per process), because a sync run needs only the database and an outage
of Redis must not take the API down with it. A locked diskcache costs a request at most its
busy timeout (1 s) per call before it fails open.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import Any

import diskcache
import redis
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)

# What an unreachable cache raises: Redis's errors; diskcache's Timeout (its lock not had within
# the busy timeout) and SQLite's errors (a database file unwritable, unreadable or corrupt);
# OSError (a cache directory that cannot be created, a connection refused).
CACHE_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.RedisError,
    diskcache.Timeout,
    sqlite3.Error,
    OSError,
)
WARN_EVERY_SECONDS = 60.0
_last_warned = 0.0


def _warn_cache_unreachable(error: Exception) -> None:
    global _last_warned
    now = time.monotonic()
    if now - _last_warned >= WARN_EVERY_SECONDS:
        _last_warned = now
        logger.warning("Throttle cache unreachable, requests are not throttled: %r", error)


class FixedWindowRateThrottle(SimpleRateThrottle):
    """``num_requests`` per window of ``duration`` seconds, windows aligned to the clock."""

    # Set by SimpleRateThrottle.__init__ from the rate; declared for the type checker.
    num_requests: int
    duration: int

    def _window(self, request: Request, view: Any) -> tuple[str, float] | None:
        """This window's counter key, and the seconds left in it; None if not throttled."""
        if self.rate is None:
            return None
        ident = self.get_cache_key(request, view)
        if ident is None:
            return None
        now = self.timer()
        index = int(now // self.duration)
        return f"{ident}_{index}", (index + 1) * self.duration - now

    def count(self, request: Request, view: Any) -> int | None:
        """Add this request to its window; the window's count, or None if not counted."""
        window = self._window(request, view)
        if window is None:
            return None
        key, self.remaining = window
        try:
            # add() creates the counter only if absent; incr() is atomic. The counter outlives
            # its window by a second so a late incr never finds it gone.
            self.cache.add(key, 0, timeout=self.duration + 1)
            return int(self.cache.incr(key))
        except ValueError:
            return None  # gone between add and incr (or add timed out): this one goes uncounted
        except CACHE_ERRORS as error:
            _warn_cache_unreachable(error)
            return None

    def allow_request(self, request: Request, view: Any) -> bool:
        count = self.count(request, view)
        return count is None or count <= self.num_requests

    def wait(self) -> float | None:
        return max(getattr(self, "remaining", 0.0), 1.0)


class TokenRateThrottle(FixedWindowRateThrottle, UserRateThrottle):
    """``THROTTLE_USER_RATE`` per token (a token is a user), per address for anonymous ones."""

    scope = "user"


class FailedAuthenticationThrottle(FixedWindowRateThrottle):
    """Failed authentications per address: past ``THROTTLE_FAILED_AUTH_RATE`` in a window, the
    address's failures answer 429 instead of 401 until the window ends.

    Only failures are counted and only failures are refused, so a request with a valid token is
    never refused for what other requests from its address did (behind a proxy, every client
    shares one address). Guessing stays pointless: a token is 160 random bits.
    """

    scope = "failed_auth"

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
