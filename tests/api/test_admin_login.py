"""The admin's password form: repeated failures lock out one username from one address."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.every_database

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct-horse-battery"


@pytest.fixture
def operators(db: None, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    for name in ("ops", "other"):
        get_user_model().objects.create_superuser(name, password=PASSWORD)


def login(username: str, password: str, *, address: str) -> int:
    response = Client(REMOTE_ADDR=address).post(LOGIN, {"username": username, "password": password})
    return response.status_code


@pytest.mark.usefixtures("operators")
def test_a_username_is_locked_out_from_the_address_that_failed() -> None:
    statuses = [login("ops", "guess", address="203.0.113.9") for _ in range(4)]

    # The form again (200) until the limit, then django-axes' 429, the right password too.
    assert statuses == [200, 200, 429, 429]
    assert login("ops", PASSWORD, address="203.0.113.9") == 429
    # Not per address alone: the same address may still log in as someone else, and the same
    # operator from elsewhere. A successful login redirects (302).
    assert login("other", PASSWORD, address="203.0.113.9") == 302
    assert login("ops", PASSWORD, address="198.51.100.7") == 302


@pytest.mark.usefixtures("operators")
def test_a_successful_login_forgets_the_failures_before_it() -> None:
    assert [login("ops", "guess", address="203.0.113.9") for _ in range(2)] == [200, 200]
    assert login("ops", PASSWORD, address="203.0.113.9") == 302
    assert [login("ops", "guess", address="203.0.113.9") for _ in range(2)] == [200, 200]


@pytest.mark.usefixtures("operators")
def test_a_login_without_a_request_is_left_to_django_and_not_counted() -> None:
    """authenticate() from our own code (the test client's login) has no request to lock out."""
    assert Client().login(username="ops", password="guess") is False
    assert Client().login(username="ops", password=PASSWORD) is True
    assert login("ops", PASSWORD, address="203.0.113.9") == 302
