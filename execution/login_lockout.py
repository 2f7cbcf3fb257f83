"""The admin login's lockout backend: django-axes' own, for logins that come with a request."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes refuses ``authenticate()`` without a request outright. Our own code's calls
    (the test client's ``login``, a script) are no attempt anyone can make over HTTP, where a
    request always comes along: they are left to the next backend, uncounted."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
