"""``python -m tests.api.count_failures OUT GO COUNT``: a server process's failed
authentications, counted by the throttle on the cache the settings configure.

Run with the environment of a server (VAR_DIR, SECRET_KEY, DJANGO_SETTINGS_MODULE); it sets Django
up, waits until the file GO exists (so every process counts at once), counts COUNT failures of
one address in one window, and writes the counts it saw to OUT as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import django

# The clock the tests fix for one window: a minute that turned mid-test would start a new count.
WINDOW_MOMENT = 1_000_030.0


def main(out: Path, go: Path, count: int) -> None:
    django.setup()
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from execution.api.throttling import FailedAuthenticationThrottle

    FailedAuthenticationThrottle.timer = lambda self: WINDOW_MOMENT
    request = Request(APIRequestFactory().get("/v1/plugins"))
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    counts = [FailedAuthenticationThrottle().count(request, None) for _ in range(count)]
    draft = out.with_suffix(".draft")
    draft.write_text(json.dumps(counts))
    draft.rename(out)  # whole or not at all


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
