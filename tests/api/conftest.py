from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections


@pytest.fixture
def wsgi_in_the_test_transaction() -> Iterator[None]:
    """Requests sent through the WSGI application (schemathesis, werkzeug's client) go through
    Django's request signals, whose handler closes the database connection after each response;
    inside the test's transaction that would roll it back. Django's own test client disconnects
    the same handler for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
