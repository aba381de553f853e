"""Settings read from the environment; names follow the official Agent Server where one exists."""

from __future__ import annotations

from pathlib import Path

from agentplatform.cors import cors_policy
from agentplatform.dburl import database_from_uri
from agentplatform.env import env_bool, env_float, env_int, env_list, env_str
from agentplatform.http_options import http_section, mount_prefix
from agentplatform.langgraph_config import sweep_interval_seconds
from agentplatform.telemetry.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

# Embedded services listen here when DATABASE_URI / REDIS_URI are not set (see agentplatform/embedded.py).
EMBEDDED_DATA_DIR = Path(env_str("AGENTPLATFORM_DATA_DIR", str(BASE_DIR / ".agentplatform")))
EMBEDDED_PG_PORT = env_int("AGENTPLATFORM_PG_PORT", 55432, minimum=1)
EMBEDDED_REDIS_PORT = env_int("AGENTPLATFORM_REDIS_PORT", 56379, minimum=1)

DATABASE_URI = (
    env_str("DATABASE_URI")
    or env_str("POSTGRES_URI")
    or (f"postgresql://postgres@127.0.0.1:{EMBEDDED_PG_PORT}/postgres")
)
# REDIS_URI_CUSTOM wins over REDIS_URI, as on the official server.
REDIS_URI = env_str("REDIS_URI_CUSTOM") or env_str("REDIS_URI") or f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"
LANGGRAPH_CONFIG = env_str("LANGGRAPH_CONFIG", "langgraph.json")
# Every route under this path (official: MOUNT_PREFIX, else langgraph.json http.mount_prefix; agentplatform/serving.py).
MOUNT_PREFIX = mount_prefix(env_str("MOUNT_PREFIX") or http_section(LANGGRAPH_CONFIG).get("mount_prefix"))
FORCE_SCRIPT_NAME = MOUNT_PREFIX  # Django's own name for it: reverse(), the admin's links and redirects

# Only for development: with DEBUG off, start-up and `manage.py check` refuse it (agentplatform.E003). `manage.py
# dev` makes a random key in the data folder, which other manage.py commands on this machine then use too.
DEV_SECRET_KEY = "agentplatform-insecure-dev-key-set-DJANGO_SECRET_KEY"
LOCAL_SECRET_KEY_FILE = EMBEDDED_DATA_DIR / "secret_key"
SECRET_KEY = (
    env_str("DJANGO_SECRET_KEY")
    or (LOCAL_SECRET_KEY_FILE.read_text().strip() if LOCAL_SECRET_KEY_FILE.is_file() else "")
    or DEV_SECRET_KEY
)
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["*"])

INSTALLED_APPS = [
    "console.apps.ConsoleAdminConfig",  # django.contrib.admin with the operator's console as its site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "agentplatform",
    "access",
    "assistants",
    "threads",
    "runs",
    "store",
    "crons",
    "maintenance",
    "protocols",
    "console",
]

MIDDLEWARE = [
    "agentplatform.telemetry.http.RequestTelemetryMiddleware",
    "agentplatform.middleware.BodySizeLimitMiddleware",
    "agentplatform.middleware.StrictInputMiddleware",
    "agentplatform.cors.CorsMiddleware",
    "agentplatform.middleware.OriginGuardMiddleware",
    "agentplatform.middleware.IdentityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

# The API (everything outside the admin and /static) runs with these only (agentplatform/handlers.py).
API_MIDDLEWARE = [
    "agentplatform.telemetry.http.RequestTelemetryMiddleware",
    "agentplatform.middleware.BodySizeLimitMiddleware",
    "agentplatform.middleware.StrictInputMiddleware",
    "agentplatform.cors.CorsMiddleware",
    "agentplatform.middleware.OriginGuardMiddleware",
    "agentplatform.middleware.IdentityMiddleware",
]

# The Django admin (staff login, its own sessions and CSRF): off with ADMIN_ENABLED=false, or served under another
# path, e.g. ADMIN_PATH=ops/admin.
ADMIN_ENABLED = env_bool("ADMIN_ENABLED", True)
ADMIN_PATH = env_str("ADMIN_PATH", "admin").strip("/") or "admin"
# /docs and /openapi.json are open, as officially; false makes them need credentials like every other route.
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", True)

# Built-in API keys (access/, managed in the admin): when on, requests authenticate with an x-api-key header
# (docs/auth.md says how keys and custom auth from langgraph.json compose).
API_KEYS_ENABLED = env_bool("AGENTPLATFORM_API_KEYS", False)

ROOT_URLCONF = "agentplatform.urls"
ASGI_APPLICATION = "agentplatform.asgi.application"
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
            ]
        },
    }
]

DATABASES = {"default": database_from_uri(DATABASE_URI)}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 300)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

STATIC_URL = f"{MOUNT_PREFIX or ''}/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True

# Request bodies above this size are refused with 413 before they are read (official: HTTP_MAX_REQUEST_BODY_BYTES).
HTTP_MAX_REQUEST_BODY_BYTES = env_int("HTTP_MAX_REQUEST_BODY_BYTES", 10 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = HTTP_MAX_REQUEST_BODY_BYTES

# CORS_ALLOW_ORIGINS / CORS_CONFIG / langgraph.json http.cors (agentplatform/cors.py); no origin by default.
_cors = cors_policy(LANGGRAPH_CONFIG).settings()
CORS_ALLOW_ALL_ORIGINS = _cors["CORS_ALLOW_ALL_ORIGINS"]
CORS_ALLOWED_ORIGINS = _cors["CORS_ALLOWED_ORIGINS"]
CORS_ALLOWED_ORIGIN_REGEXES = _cors["CORS_ALLOWED_ORIGIN_REGEXES"]
CORS_ALLOW_METHODS = _cors["CORS_ALLOW_METHODS"]
CORS_ALLOW_HEADERS = _cors["CORS_ALLOW_HEADERS"]
CORS_ECHO_REQUEST_HEADERS = _cors["CORS_ECHO_REQUEST_HEADERS"]
CORS_ALLOW_CREDENTIALS = _cors["CORS_ALLOW_CREDENTIALS"]
CORS_EXPOSE_HEADERS = _cors["CORS_EXPOSE_HEADERS"]
CORS_PREFLIGHT_MAX_AGE = _cors["CORS_PREFLIGHT_MAX_AGE"]

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "agentplatform.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "agentplatform.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "agentplatform",
    "DESCRIPTION": "LangGraph Agent Server compatible API (assistants, threads, runs, streaming).",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files come from the drf-spectacular-sidecar package, so /docs works with no internet access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The async views spectacular cannot see are added by the hook of the app that serves them (runs: wait, join,
    # cancel, streaming), then by the generic one (system routes, tags, checks); keep the enum hook.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "runs.api.openapi.postprocess_schema",
        "protocols.openapi.postprocess_schema",
        "agentplatform.openapi.postprocess_schema",
        # How to authenticate (langgraph.json auth.openapi, API keys), on the finished document.
        "access.openapi.postprocess_schema",
    ],
    # The model's choices and the serializers' plain values describe the same two on_run_completed values.
    "ENUM_NAME_OVERRIDES": {
        "CronOnRunCompletedEnum": "crons.models.Cron.OnRunCompleted",
        "OnRunCompletedEnum": ["delete", "keep"],
    },
}

# No CHANNEL_LAYERS: consumers read the stream logs with their own cursors (runs/streams/consumers.py), and a configured
# layer would give every websocket a Redis channel it never uses.

# Run execution (official names and defaults).
N_JOBS_PER_WORKER = env_int("N_JOBS_PER_WORKER", 10, minimum=1)
BG_JOB_HEARTBEAT = env_float("BG_JOB_HEARTBEAT", 120.0, minimum=0.5)
BG_JOB_MAX_RETRIES = env_int("BG_JOB_MAX_RETRIES", 3, minimum=1)
BG_JOB_TIMEOUT_SECS = env_float("BG_JOB_TIMEOUT_SECS", 86400.0, minimum=0.1)
BG_JOB_SHUTDOWN_GRACE_PERIOD_SECS = env_float("BG_JOB_SHUTDOWN_GRACE_PERIOD_SECS", 180.0)
# A graph that keeps the worker's event loop from running for this long (a sync call or CPU-bound work in an
# async node) is ended as `error`, and the other runs of that loop move to a fresh one (docs/run-engine.md).
BG_JOB_LOOP_BLOCKED_SECS = env_float("BG_JOB_LOOP_BLOCKED_SECS", 5.0, minimum=0.5)
# A pending run nobody claimed for this long gets its Celery message sent again by the sweeper.
PENDING_RUN_RESEND_SECS = env_float("PENDING_RUN_RESEND_SECS", 10.0, minimum=0.1)
# Under ASGI each request runs its sync code in a fresh thread, so per-thread persistent connections are opened and
# dropped per request; a process-wide pool (Django >= 5.1, psycopg_pool) takes that cost off the /runs/wait hot
# path. Worker task threads hold a connection while they supervise a run, hence the N_JOBS_PER_WORKER headroom.
# DB_POOL_MAX=0 falls back to per-thread connections (CONN_MAX_AGE), e.g. behind pgbouncer in session mode.
# The official name, LANGGRAPH_POSTGRES_POOL_MAX_SIZE, wins over ours.
DB_POOL_MAX = env_int("LANGGRAPH_POSTGRES_POOL_MAX_SIZE", env_int("DB_POOL_MAX", N_JOBS_PER_WORKER + 10))
if DB_POOL_MAX:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 1, "max_size": DB_POOL_MAX, "timeout": 30}
# A database that stops answering without closing the connection (a network partition drops packets, it sends no
# reset) would hang a query until TCP gives up, about 15 minutes: a worker's lease check then could not stop its
# runs before the lease passed to another worker. The kernel drops a connection whose sent data (or SYN) went
# unacknowledged for a quarter of the lease instead. Either can be set in DATABASE_URI's query.
DATABASES["default"]["OPTIONS"].setdefault("tcp_user_timeout", str(max(250, int(BG_JOB_HEARTBEAT * 250))))
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", str(max(2, int(BG_JOB_HEARTBEAT / 4))))
RESUMABLE_STREAM_TTL_SECONDS = env_int("RESUMABLE_STREAM_TTL_SECONDS", 120, minimum=1)
STREAM_MAX_EVENTS = env_int("STREAM_MAX_EVENTS", 100_000, minimum=100)
# Caps on what one request may ask for; a request over a cap gets a 422 naming it.
THREAD_HISTORY_MAX_LIMIT = env_int("THREAD_HISTORY_MAX_LIMIT", 1000, minimum=1)
RUNS_BATCH_MAX_SIZE = env_int("RUNS_BATCH_MAX_SIZE", 100, minimum=1)
RUNS_MAX_PENDING_PER_THREAD = env_int("RUNS_MAX_PENDING_PER_THREAD", 100, minimum=1)
# A stream event whose JSON is larger than this is replaced by an `error` event saying so (official name, default).
MAX_STREAM_CHUNK_SIZE_BYTES = env_int("MAX_STREAM_CHUNK_SIZE_BYTES", 128 * 1024 * 1024, minimum=1024)
# A streamed response whose client reads nothing for this long while its send buffer is full is closed; the client
# reconnects with Last-Event-ID (agentplatform/backpressure.py).
STREAM_SEND_TIMEOUT_SECS = env_float("STREAM_SEND_TIMEOUT_SECS", 30.0, minimum=0.1)
# Connections of each process's (each event loop's) Redis pool. Commands wait for a free one; stream readers
# share one blocking connection per process besides, however many clients they serve.
REDIS_MAX_CONNECTIONS = env_int("REDIS_MAX_CONNECTIONS", 50, minimum=2)

CELERY_BROKER_URL = REDIS_URI
CELERY_TASK_DEFAULT_QUEUE = "agentplatform"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = False  # Postgres leases give recovery; Celery messages are only doorbells.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_POOL = env_str("CELERY_WORKER_POOL", "threads")
CELERY_WORKER_CONCURRENCY = N_JOBS_PER_WORKER
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True  # a worker started before Redis waits for it
# Broker loss (docs/reliability.md): reconnect for ever; the consumer watchdog, not a retry count, decides when a
# worker is beyond repair. Timeouts keep a broker that vanished without closing TCP from hanging a publish (API
# doorbells, probes); kombu drops a BRPOP whose reply is overdue after brpop_timeout + health_check_interval.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
    "socket_keepalive": True,
    "health_check_interval": 10,
    # kombu's acknowledgement bookkeeping (MULTI/HSET/ZADD/EXEC on each delivery, MULTI/HDEL/ZREM/EXEC on each
    # ack, a restore scan every few seconds) only redelivers doorbells after its visibility timeout (1 h); the
    # sweeper rings a pending run again after PENDING_RUN_RESEND_SECS, so it buys nothing here.
    "ack_emulation": False,
}
# Cancels only late-ack tasks, and ours ack early: a broker blip never cancels a run (leases decide). True is
# Celery 6's default and spares a deprecation warning on every reconnect.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Consumer watchdog (agentplatform/consumer_watchdog.py): a probe through the broker every interval; no probe
# consumed for the stall time drops the consumer's connection, none for the repair time after that exits (1).
# The repair time leaves a reconnecting consumer many attempts (it retries every 3 s at most).
WORKER_PROBE_INTERVAL_SECS = env_float("WORKER_PROBE_INTERVAL_SECS", 5.0, minimum=0.1)
WORKER_CONSUMER_STALL_SECS = env_float("WORKER_CONSUMER_STALL_SECS", 20.0, minimum=0.5)
WORKER_CONSUMER_REPAIR_SECS = env_float("WORKER_CONSUMER_REPAIR_SECS", 60.0, minimum=1.0)
WORKER_LIVENESS_FILE = env_str("WORKER_LIVENESS_FILE", "")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Task events for flower or `celery events` (docs/telemetry.md): off by default, as each costs a Redis publish per
# task state change; CELERY_TASK_EVENTS=true turns on the workers' events and the sent event of every doorbell.
TASK_EVENTS = env_bool("CELERY_TASK_EVENTS", False)
CELERY_WORKER_SEND_TASK_EVENTS = TASK_EVENTS
CELERY_TASK_SEND_SENT_EVENT = TASK_EVENTS
CELERY_BEAT_SCHEDULE_FILENAME = str(EMBEDDED_DATA_DIR / "celerybeat-schedule")
# Beat touches this file after each tick that reached the broker, for liveness probes (agentplatform/beat.py).
CELERY_BEAT_SCHEDULER = "agentplatform.beat:LivenessScheduler"
BEAT_LIVENESS_FILE = env_str("BEAT_LIVENESS_FILE", "")

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
# One JSON object a line with the request's or run's ids (docs/telemetry.md): LOG_JSON=true as officially, or
# LOG_FORMAT=json. Plain text by default.
LOG_JSON = env_bool("LOG_JSON", env_str("LOG_FORMAT", "text").strip().lower() == "json")
LOGGING = logging_config(level=LOG_LEVEL, json_lines=LOG_JSON)

CHECKPOINTER_POOL_MAX = env_int("CHECKPOINTER_POOL_MAX", 10, minimum=1)

# Periodic tasks run by `celery -A agentplatform beat`; each domain adds its own entry.
CELERY_BEAT_SCHEDULE: dict = {}
# Run recovery (runs/engine/sweeper.py): expired leases and pending runs whose Celery message was lost. At least every
# PENDING_RUN_RESEND_SECS, so that a doorbell lost with a broker restart is rung again within seconds, not minutes.
RUNS_SWEEP_SECS = max(1.0, min(BG_JOB_HEARTBEAT / 2, PENDING_RUN_RESEND_SECS))
CELERY_BEAT_SCHEDULE["runs-sweep"] = {
    "task": "runs.tasks.sweep_runs",
    "schedule": RUNS_SWEEP_SECS,
    "options": {"expires": RUNS_SWEEP_SECS},
}
# Delayed runs (after_seconds) are rung by this sweep once due (runs/engine/sweeper.py), not by long Celery countdowns.
# Its firings may wait behind doorbells in the queue, hence an expiry of several intervals.
RUNS_DUE_SWEEP_SECS = env_float("RUNS_DUE_SWEEP_SECS", 1.0, minimum=0.1)
CELERY_BEAT_SCHEDULE["runs-ring-due"] = {
    "task": "runs.tasks.ring_due_runs",
    "schedule": RUNS_DUE_SWEEP_SECS,
    "options": {"expires": max(10.0, 10 * RUNS_DUE_SWEEP_SECS)},
}
# Store TTL (store/tasks.py): expired items are hidden from reads at once; this sweep deletes them, every
# store.ttl.sweep_interval_minutes of langgraph.json when it says, else every minute (the env variable wins).
STORE_TTL_SWEEP_SECS = env_float(
    "STORE_TTL_SWEEP_SECS", sweep_interval_seconds(LANGGRAPH_CONFIG, "store") or 60.0, minimum=1.0
)
CELERY_BEAT_SCHEDULE["store-sweep-expired"] = {
    "task": "store.sweep_expired_items",
    "schedule": STORE_TTL_SWEEP_SECS,
    "options": {"expires": STORE_TTL_SWEEP_SECS},
}
# Cron scheduler (crons/tasks.py): claims due crons and creates their runs; official names and default.
FF_CRONS_ENABLED = env_bool("FF_CRONS_ENABLED", True)
CRON_SCHEDULER_SLEEP_TIME = env_float("CRON_SCHEDULER_SLEEP_TIME", 5.0, minimum=0.1)
if FF_CRONS_ENABLED:
    CELERY_BEAT_SCHEDULE["crons-fire-due"] = {
        "task": "crons.fire_due_crons",
        "schedule": CRON_SCHEDULER_SLEEP_TIME,
        "options": {"expires": CRON_SCHEDULER_SLEEP_TIME},
    }
# Thread TTLs (maintenance/tasks.py): threads past expires_at are deleted (or trimmed) with their checkpoints,
# every checkpointer.ttl.sweep_interval_minutes when langgraph.json says, else every minute (the env variable wins).
THREAD_TTL_SWEEP_SECS = env_float(
    "THREAD_TTL_SWEEP_SECS", sweep_interval_seconds(LANGGRAPH_CONFIG, "checkpointer") or 60.0, minimum=1.0
)
CELERY_BEAT_SCHEDULE["threads-sweep-expired"] = {
    "task": "maintenance.sweep_expired_threads",
    "schedule": THREAD_TTL_SWEEP_SECS,
    "options": {"expires": THREAD_TTL_SWEEP_SECS},
}
