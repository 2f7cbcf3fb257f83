"""Settings for the execution governance server.

Everything a deployment changes is read from the environment; the defaults run the embedded
set-up (SQLite in WAL mode, django-q2's ORM broker) with nothing to install but Python.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
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
    # Before django_q: its qcluster command waits for the broker (execution/worker).
    "execution.worker",
    "django_q",
    "axes",
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
    # Last, as django-axes asks: it turns a locked-out login into its 429.
    "axes.middleware.AxesMiddleware",
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
# django-q2's redelivery time (Q_CLUSTER below), which the sweep's re-queue horizon derives from.
Q_RETRY = env_int("Q_RETRY", 180)
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
    # What is kept: a plugin's result (as JSON) and a job's options, refused past these sizes.
    "MAX_RESULT_BYTES": env_int("EXECUTION_MAX_RESULT_BYTES", MIB),
    "MAX_OPTIONS_BYTES": env_int("EXECUTION_MAX_OPTIONS_BYTES", 16 * 1024),
    # Stored async images (jobs waiting, failed jobs within their retention), in all and per
    # client; a submission past either is refused.
    "MAX_STORED_IMAGE_BYTES": env_int("EXECUTION_MAX_STORED_IMAGE_BYTES", 2048 * MIB),
    "MAX_STORED_IMAGE_BYTES_PER_CLIENT": env_int(
        "EXECUTION_MAX_STORED_IMAGE_BYTES_PER_CLIENT", 200 * MIB
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
    # it with QUEUE_LOST. Twice the worker's own redelivery time (Q_RETRY) by default: a task
    # the broker still has is handed out again within Q_RETRY. Set it above the longest queue
    # wait you expect.
    "REQUEUE_AFTER_SECONDS": env_int("EXECUTION_REQUEUE_AFTER_SECONDS", 2 * Q_RETRY),
    # How long an Idempotency-Key is remembered.
    "IDEMPOTENCY_KEY_TTL_HOURS": env_int("EXECUTION_IDEMPOTENCY_KEY_TTL_HOURS", 24),
    # How often the sweep runs on the worker cluster.
    "SWEEP_INTERVAL_MINUTES": env_int("EXECUTION_SWEEP_INTERVAL_MINUTES", 1),
    # How every plugin is hosted (execution.tool_runner): "process" runs it in a warm pool of
    # worker processes, killed and replaced past its timeout or when it dies, under setrlimit
    # memory and CPU limits; "inline" runs it in the calling thread (trusted, fast plugins
    # only: nothing stops or contains it there). CPU seconds a little above the timeout: a
    # plugin busy on one core hits its timeout first; CPU spent on several threads hits the
    # CPU limit sooner.
    "PLUGIN_HOSTING_DEFAULTS": {
        "isolation": os.environ.get("EXECUTION_PLUGIN_ISOLATION", "process"),
        "timeout_seconds": env_int("EXECUTION_PLUGIN_TIMEOUT_SECONDS", 30),
        "memory_mb": env_int("EXECUTION_PLUGIN_MEMORY_MB", 2048),
        "cpu_seconds": env_int(
            "EXECUTION_PLUGIN_CPU_SECONDS", env_int("EXECUTION_PLUGIN_TIMEOUT_SECONDS", 30) + 5
        ),
    },
    # Per plugin name, any of the keys above, e.g. {"image-metadata": {"isolation": "inline"}};
    # from the environment as JSON.
    "PLUGIN_HOSTING": json.loads(os.environ.get("EXECUTION_PLUGIN_HOSTING", "{}")),
    # Worker processes per server process. 0 sizes the pool for the threads that feed it: one
    # child per web thread (WEB_THREADS), one in a django-q2 worker (it runs one task at a time).
    "POOL_SIZE": env_int("EXECUTION_POOL_SIZE", 0),
    # A child is replaced after this many runs, so slow leaks in native libraries never pile up;
    # a replacement costs about 0.4 s of CPU (the plugins imported and set up again), so not too
    # often. 0: never for its age (a child that ran out of memory is replaced all the same).
    "TASKS_PER_CHILD": env_int("EXECUTION_TASKS_PER_CHILD", 5000),
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
    # gunicorn's worker timeout: every plugin timeout must sit below it (a system check says so).
    "WEB_TIMEOUT_SECONDS": env_int("WEB_TIMEOUT", 120),
    # Threads per web process that run requests (bodies are read before one is taken); they
    # also size each web process's plugin pool.
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


# The throttle counters (and any other cache use) must be shared by every process: diskcache's
# SQLite on the embedded set-up (the processes of one machine), Redis when the scaled set-up
# provides it.
def embedded_cache(var_dir: Path) -> dict[str, Any]:
    """The embedded set-up's cache, in ``var_dir/cache`` (execution_project/cache.py)."""
    return {
        "BACKEND": "execution_project.cache.DiskCache",
        "LOCATION": str(var_dir / "cache"),
        # SQLite's busy timeout: the longest a call waits for another process's write. Each
        # write tries once (diskcache's own backend would wait for ever), then the throttles
        # fail open.
        "DATABASE_TIMEOUT": 1.0,
        "OPTIONS": {
            # Nothing is evicted for space: a live throttle counter must never reset. Expired
            # entries still go: every write that adds a key deletes up to 10 expired ones.
            "eviction_policy": "none",
        },
    }


REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # The throttles fail open when Redis is away; a Redis that hangs (paused, a network
            # that drops packets) must not hold a request longer than this either.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if REDIS_URL
        else embedded_cache(VAR_DIR)
    )
}

# --- REST framework -----------------------------------------------------------------------

NUM_PROXIES = env_int("NUM_PROXIES", 0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "execution.api.parsers.JSONBodyParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "execution.api.exception_handler.envelope_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Per token (a token is a user), and failed authentications per address
    # (execution.api.throttling): atomic counters in the cache, open when the cache is away.
    "DEFAULT_THROTTLE_CLASSES": ["execution.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("THROTTLE_USER_RATE", "600/minute"),
        "failed_auth": os.environ.get("THROTTLE_FAILED_AUTH_RATE", "30/minute"),
    },
    # 0 trusts no X-Forwarded-For (a client could send any): throttling counts REMOTE_ADDR.
    # Behind proxies, set the number of them so it counts the client's address instead (the
    # admin login's lockout, AXES_IPWARE_PROXY_COUNT, follows the same number).
    "NUM_PROXIES": NUM_PROXIES,
}

# --- Admin login lockout (django-axes) ----------------------------------------------------

# The admin's password form counts failures in the database (atomic: a row per username and
# address, incremented with F() under SELECT FOR UPDATE) and locks out that username from that
# address only: an attacker cannot lock an operator out from elsewhere, nor every user of a
# shared address. Tokens never go through this (DRF checks them without authenticate()).
AUTHENTICATION_BACKENDS = [
    "execution.login_lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ONLY_ADMIN_SITE = True
AXES_VERBOSE = False  # no banner on every manage.py command
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Failures during a lockout do not extend it: the lockout ends COOLOFF after it began.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The client's address as the API throttles see it: X-Forwarded-For only behind NUM_PROXIES.
AXES_IPWARE_PROXY_COUNT = NUM_PROXIES or None
AXES_IPWARE_PROXY_ORDER = "right-most"  # as DRF counts NUM_PROXIES: from the right
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if NUM_PROXIES else ("REMOTE_ADDR",)
)

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
    "retry": Q_RETRY,
    "max_attempts": 2,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 500,
    "label": "Task queue",
    # Workers start the plugin pool's processes (execution.tool_runner.pool): multiprocessing
    # forbids a daemonic process to have children. The sentinel still stops every worker.
    "daemonize_workers": False,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
