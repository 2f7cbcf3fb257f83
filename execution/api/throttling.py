"""Throttling an address that keeps failing to authenticate (token guessing).

DRF checks permissions before throttles, so a request without valid credentials is refused with
401 before any throttle counts it. This one is consulted before authentication and counts only
the failures: an address past ``THROTTLE_FAILED_AUTH_RATE`` gets 429 until the window passes.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class FailedAuthenticationThrottle(SimpleRateThrottle):
    scope = "failed_auth"
    # Set by SimpleRateThrottle.__init__ from the rate; declared for the type checker.
    num_requests: int
    duration: int

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def seconds_blocked(self, request: Request, view: Any) -> float | None:
        """How long this address must wait, or None: looks, counts nothing."""
        self.key = self.get_cache_key(request, view)
        self.now = self.timer()
        self.history = [
            moment for moment in self.cache.get(self.key, []) if moment > self.now - self.duration
        ]
        return self.wait() if len(self.history) >= self.num_requests else None

    def record_failure(self, request: Request, view: Any) -> None:
        self.allow_request(request, view)  # appends this moment to the address's history
