"""Settings for the execution governance server.

Everything a deployment changes is read from the environment; the defaults run the embedded
set-up (SQLite in WAL mode, django-q2's ORM broker) with nothing to install but Python.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime state of the embedded set-up (database, uploaded job images), never committed.
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)


def read_or_create_secret_key(path: Path) -> str:
    """The embedded set-up keeps a generated key in var/; several machines must share SECRET_KEY.

    Processes starting together (web, worker) must agree on one key, or the worker would reject
    the queue's signed tasks: the file is published with an atomic link, and whoever loses the
    race reads the winner's key.
    """
    if not path.exists():
        from django.core.management.utils import get_random_secret_key

        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{os.getpid()}")
        draft.write_text(get_random_secret_key())
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY") or read_or_create_secret_key(VAR_DIR / "secret_key")

# Behind a proxy that terminates TLS: trust its X-Forwarded-Proto (so Location headers say
# https) and send cookies over HTTPS only.
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 3600)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Django's admin with the dashboard's site class (the overview on its index).
    "execution.admin_site.DashboardAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "registry",
    "execution",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # First, so an oversized /v1 body is refused before anything reads it.
    "execution.api.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "execution_project.urls"
WSGI_APPLICATION = "execution_project.wsgi.application"
# The API's paths have no trailing slash (/v1/analyze-execution); never redirect a POST.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------

SQLITE_PATH = VAR_DIR / "db.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that accepts the connection and never answers must not hold a request (or a
    # /readyz check) for ever.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "DATABASE_CONNECT_TIMEOUT", 5
    )
# Connections are kept between requests: opening one costs more than a no-op execution. On
# PostgreSQL a kept connection is checked before each request reuses it, so a restarted server
# costs one failed request's reconnect, not a 500.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
SQLITE_ENGINE = "django.db.backends.sqlite3"
if DATABASES["default"]["ENGINE"] == SQLITE_ENGINE:
    # Kept open too, for another reason: when the last connection to a WAL database closes,
    # SQLite checkpoints the WAL into the database file and deletes it (4 fsyncs, 2 unlinks),
    # which with a connection per request was 2.8 ms of every request. SQLite's own automatic
    # checkpoint (every 1000 pages) still bounds the WAL.
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("SQLITE_CONN_MAX_AGE", 600)
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock when a transaction starts, so concurrent writers wait
        # on the busy timeout instead of failing with "database is locked" on lock upgrade.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA foreign_keys=ON;"
            "PRAGMA temp_store=MEMORY;"
            "PRAGMA cache_size=-20000;"
        ),
    }
    # A file, not :memory:, so that threads and worker processes in tests share one database;
    # named per test run, so that two runs in one checkout never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Our own knobs: one namespaced dict, read through execution.conf ----------------------

MIB = 1024 * 1024
EXECUTION: dict[str, Any] = {
    # Built-in plugins; third-party ones come from the "execution_server.plugins" entry points.
    "PLUGINS": env_list(
        "EXECUTION_PLUGINS",
        [
            "plugins.builtin.metadata.ImageMetadataPlugin",
            "plugins.builtin.qr_code.QrCodePlugin",
            "plugins.builtin.faces.FaceDetectionPlugin",
            "plugins.builtin.ocr.OcrPlugin",
        ],
    ),
    "PLUGIN_ENTRY_POINT_GROUP": "execution_server.plugins",
    "MAX_IMAGE_BYTES": env_int("EXECUTION_MAX_IMAGE_BYTES", 10 * MIB),
    # Decoded size: 50 million pixels is about 150 MB of RGB, per execution in flight.
    "MAX_IMAGE_PIXELS": env_int("EXECUTION_MAX_IMAGE_PIXELS", 50_000_000),
    "ACCEPTED_MIME_TYPES": env_list(
        "EXECUTION_ACCEPTED_MIME_TYPES",
        ["image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff"],
    ),
    # A failed async job keeps its image this long, so an operator can look at it or re-run it.
    "FAILED_IMAGE_RETENTION_HOURS": env_int("EXECUTION_FAILED_IMAGE_RETENTION_HOURS", 72),
    # The sweep deletes finished job rows this many days after they finished (0 keeps them):
    # SUCCESS and CANCELLED ones first, FAILED ones later, as operators look back at failures.
    "JOB_RETENTION_DAYS": env_int("EXECUTION_JOB_RETENTION_DAYS", 30),
    "FAILED_JOB_RETENTION_DAYS": env_int("EXECUTION_FAILED_JOB_RETENTION_DAYS", 90),
    # A job RUNNING longer than this lost its worker (killed, out of memory): the sweep fails it
    # with WORKER_LOST. It must exceed every way a job can legitimately run: the worker timeout
    # (Q_TIMEOUT) and the web tier's request timeout.
    "LOST_JOB_AFTER_SECONDS": env_int("EXECUTION_LOST_JOB_AFTER_SECONDS", 300),
    # An async job still PENDING this long after it was queued lost its task (a broker that
    # restarted without persistence): the sweep queues it again, three times at most, then fails
    # it with QUEUE_LOST. Set it above the longest queue wait you expect.
    "REQUEUE_AFTER_SECONDS": env_int("EXECUTION_REQUEUE_AFTER_SECONDS", 1800),
    # How long an Idempotency-Key is remembered.
    "IDEMPOTENCY_KEY_TTL_HOURS": env_int("EXECUTION_IDEMPOTENCY_KEY_TTL_HOURS", 24),
    # How often the sweep runs on the worker cluster.
    "SWEEP_INTERVAL_MINUTES": env_int("EXECUTION_SWEEP_INTERVAL_MINUTES", 1),
    # A plugin that crashes or times out this many times in a row is made UNAVAILABLE for the
    # cooldown; then one trial run is let through, and its success closes the circuit again.
    "CIRCUIT_BREAKER_FAILURES": env_int("EXECUTION_CIRCUIT_BREAKER_FAILURES", 3),
    "CIRCUIT_BREAKER_COOLDOWN_SECONDS": env_int("EXECUTION_CIRCUIT_BREAKER_COOLDOWN_SECONDS", 60),
    # /readyz: each check's own budget; the endpoint answers within it plus one second.
    "READINESS_CHECK_TIMEOUT_SECONDS": float(
        os.environ.get("EXECUTION_READINESS_CHECK_TIMEOUT_SECONDS", "2")
    ),
    # /readyz fails when no worker cluster wrote its status this recently (each writes it
    # every half second).
    "CLUSTER_SEEN_WITHIN_SECONDS": env_int("EXECUTION_CLUSTER_SEEN_WITHIN_SECONDS", 10),
    # /metrics: a request passes with `Authorization: Bearer <token>` or from an address in the
    # allow-list (addresses or networks, e.g. 10.0.0.0/8); open to all when neither is set,
    # which is the embedded default. The scaled set-up (PostgreSQL or Redis) allows this machine
    # only unless told otherwise.
    "METRICS_TOKEN": os.environ.get("EXECUTION_METRICS_TOKEN", ""),
    "METRICS_ALLOWED_IPS": env_list(
        "EXECUTION_METRICS_ALLOWED_IPS",
        ["127.0.0.1", "::1"]
        if os.environ.get("REDIS_URL") or DATABASES["default"]["ENGINE"] != SQLITE_ENGINE
        else [],
    ),
    # --- The web tier (execution_project/gunicorn_conf.py, execution/api/server.py) ---
    # gunicorn's worker timeout: a sync request runs its plugin inside the web request, so this
    # must exceed the slowest sync run.
    "WEB_TIMEOUT_SECONDS": env_int("WEB_TIMEOUT", 120),
    # Threads per web process that run requests; bodies are read before one is taken.
    "WEB_THREADS": env_int("WEB_THREADS", 4),
    # A request body not received whole within this is refused with 408, holding no thread.
    "BODY_TIMEOUT_SECONDS": env_int("WEB_BODY_TIMEOUT", 60),
}

# A request body may carry the largest image base64-encoded (4/3 larger) plus the JSON or form
# around it; anything larger is refused with 413 before it is read.
EXECUTION["MAX_REQUEST_BYTES"] = env_int(
    "EXECUTION_MAX_REQUEST_BYTES", EXECUTION["MAX_IMAGE_BYTES"] * 4 // 3 + MIB
)
DATA_UPLOAD_MAX_MEMORY_SIZE = EXECUTION["MAX_REQUEST_BYTES"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * MIB
FILE_UPLOAD_HANDLERS = [
    "execution.api.uploads.LimitedMemoryFileUploadHandler",
    "execution.api.uploads.LimitedTemporaryFileUploadHandler",
]

# The throttle counters (and any other cache use) must be shared by every process: a file
# cache on the embedded set-up, Redis when the scaled set-up provides it.
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that stops answering fails a throttle check in seconds, not never.
            "OPTIONS": {"socket_connect_timeout": 5, "socket_timeout": 5},
        }
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    )
}

# --- REST framework -----------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "execution.api.exception_handler.envelope_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Per token (a token is a user); failed authentications per address, checked before
    # authentication (execution.api.throttling), so guessing tokens is slow too.
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("THROTTLE_USER_RATE", "600/minute"),
        "failed_auth": os.environ.get("THROTTLE_FAILED_AUTH_RATE", "30/minute"),
    },
    # 0 trusts no X-Forwarded-For (a client could send any): throttling counts REMOTE_ADDR.
    # Behind proxies, set the number of them so it counts the client's address instead.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Execution governance server",
    "DESCRIPTION": (
        "Runs image-analysis plugins through one governed path. Every error response is the "
        "error envelope; clients branch on `error.code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The documentation is public; the API it describes is not.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI and Redoc assets come from the installed sidecar package, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Off: the default online validator would be sent the schema's URL from any real host.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "execution.models.JobStatus",
        "PluginStateEnum": "registry.models.PluginState",
    },
}

# --- Logging ------------------------------------------------------------------------------

# LOG_FORMAT=json writes one JSON object per line (python-json-logger), for a log shipper; the
# default is plain text. Either way every line written during an execution carries its job id,
# plugin and mode (execution.logs), django-q2's lines included: the filter sits on the handler,
# which every logger's records reach.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain").strip().lower()
LOG_LINE = "%(asctime)s %(levelname)s %(name)s %(message)s"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"execution_context": {"()": "execution.logs.ExecutionContextFilter"}},
    "formatters": {
        "plain": {"()": "execution.logs.PlainFormatter", "format": LOG_LINE},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": LOG_LINE,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["execution_context"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- django-q2 ----------------------------------------------------------------------------

Q_CLUSTER: dict[str, object] = {
    "name": "execution",
    "workers": env_int("Q_WORKERS", 2),
    # A task may run for `timeout` seconds; it is offered again only after `retry`, which must
    # be longer, or a slow task would run twice. A finite max_attempts stops poison tasks.
    "timeout": env_int("Q_TIMEOUT", 120),
    "retry": env_int("Q_RETRY", 180),
    "max_attempts": 2,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 500,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
