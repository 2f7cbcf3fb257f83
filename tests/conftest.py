from __future__ import annotations

import base64
import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from execution.tool_runner.catalog import plugin_catalog
from registry.services import registry_sync
from tests.execution.cluster import cluster_env, database_url
from tests.helpers import client_for

BUILTIN_PLUGINS = [
    "plugins.builtin.metadata.ImageMetadataPlugin",
    "plugins.builtin.qr_code.QrCodePlugin",
    "plugins.builtin.faces.FaceDetectionPlugin",
    "plugins.builtin.ocr.OcrPlugin",
]
MISBEHAVING_PLUGINS = [
    f"tests.misbehaving_plugins.{name}"
    for name in (
        "Raises",
        "ReturnsList",
        "ReturnsNumpy",
        "BreaksOutputSchema",
        "Echo",
        "Sleeps",
        "RaisesSystemExit",
        "RaisesKeyboardInterrupt",
        "SleepsForever",
        "SpinsInC",
        "ExitsProcess",
        "Segfaults",
        "AllocatesForever",
        "ReturnsHuge",
        "LeavesProcess",
    )
]
# Short limits, so a test of a hanging or hoarding plugin takes a second, not the default 30 s.
TEST_PLUGIN_HOSTING = {
    "test-sleeps-forever": {"timeout_seconds": 1},
    "test-leaves-process": {"timeout_seconds": 1},
    "test-spins-in-c": {"timeout_seconds": 1, "cpu_seconds": 10},
    "test-allocates-forever": {"memory_mb": 1024},
}
# Two children: one may be replaced after a crash while the other serves the next test.
TEST_POOL_SIZE = 2


# --- The scaled set-up: PostgreSQL + Redis, required in CI --------------------------------


def _scaled_services_missing() -> str | None:
    import psycopg
    import redis

    try:
        psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=3).close()
    except (KeyError, psycopg.Error) as error:
        return f"PostgreSQL at DATABASE_URL is not reachable ({error})"
    try:
        redis.Redis.from_url(os.environ.get("REDIS_URL", ""), socket_timeout=3).ping()
    except (ValueError, redis.RedisError) as error:
        return f"Redis at REDIS_URL is not reachable ({error})"
    return None


_scaled_unavailable: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    """The scaled pass checks its services once, before collection: a module that talks to them
    at import (the schemathesis one reads the live schema) would otherwise fail to collect."""
    global _scaled_unavailable
    if os.environ.get("SCALED_TESTS") != "1":
        return
    missing = _scaled_services_missing()
    if missing is not None and os.environ.get("CI") == "true":
        pytest.exit(f"The scaled set-up's tests are required in CI: {missing}", returncode=1)
    _scaled_unavailable = missing


def scaled_set_up_unavailable() -> str | None:
    """Why this scaled pass has no PostgreSQL or Redis (its tests skip), or None."""
    return _scaled_unavailable


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _scaled_unavailable is None:
        return
    for item in items:
        item.add_marker(
            pytest.mark.skip(reason=f"scaled set-up unavailable: {_scaled_unavailable}")
        )


# --- Plugins and the registry -------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _plugin_catalog_of_the_session() -> Iterator[None]:
    """Discovery sets every plugin up (a Haar cascade, a Tesseract subprocess): ~50 ms a time.
    Every test runs with the same PLUGINS (``_test_plugins``), so the catalog is discovered once
    for the session, as a server process discovers it once. Whatever was cached before the
    session (at collection, from the project's own settings) is dropped first.

    A test that changes PLUGINS must call ``plugin_catalog.cache_clear()`` itself, both before
    its run and after it, so neither it nor the next test sees the other's catalog."""
    plugin_catalog.cache_clear()
    yield
    plugin_catalog.cache_clear()


@pytest.fixture(autouse=True)
def _test_plugins(settings: Any) -> None:
    """The built-in plugins and the misbehaving ones the tests provoke failures with."""
    settings.EXECUTION = {
        **settings.EXECUTION,
        "PLUGINS": BUILTIN_PLUGINS + MISBEHAVING_PLUGINS,
        "PLUGIN_HOSTING": TEST_PLUGIN_HOSTING,
        "POOL_SIZE": TEST_POOL_SIZE,
    }


@pytest.fixture
def synced_registry(db: None) -> None:
    registry_sync(discovery=plugin_catalog())


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """PBKDF2 costs ~0.4 s a password; no test here is about password strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache(settings: Any) -> None:
    """Throttle counters live in the cache: each test gets its own, empty, in this process (the
    configured one is shared with any server running from this checkout)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.cache import cache

    cache.clear()


# --- Clients ------------------------------------------------------------------------------


@pytest.fixture
def user(db: None) -> Any:
    return get_user_model().objects.create_user(username="client", password="not-used-here")


@pytest.fixture
def api_client(user: Any) -> APIClient:
    return client_for(user)


@pytest.fixture
def ops_client(db: None) -> Client:
    """An operator in the admin: a superuser named "ops", logged in."""
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("ops", password="x" * 12))
    return client


# --- Files --------------------------------------------------------------------------------


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    """Stored job images go under the test's own directory; returns that media directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- Server processes on the test database ------------------------------------------------


@pytest.fixture
def server_env(
    transactional_db: None, settings: Any, media_root: Path, tmp_path: Path
) -> Callable[..., dict[str, str]]:
    """``cluster_env`` for a server process (qcluster, gunicorn) on this test's database, broker,
    images and key, with the built-in and misbehaving plugins; the rest (``workers`` at least)
    is the caller's. It depends on the database fixture, so a fixture that starts processes
    with it is torn down, and stops them, before the database is flushed."""
    return functools.partial(
        cluster_env,
        database_url=database_url(connection.settings_dict),
        media_root=media_root,
        var_dir=tmp_path / "var",
        secret_key=settings.SECRET_KEY,
        plugins=BUILTIN_PLUGINS + MISBEHAVING_PLUGINS,
        # The broker this process enqueues into: Redis when configured, else the ORM.
        redis_url=settings.Q_CLUSTER.get("redis", ""),
    )
