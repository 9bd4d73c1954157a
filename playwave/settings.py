"""PlayWave settings, read from the environment.

Defaults run on a fresh clone: SQLite, local-memory cache, in-memory channel layer.
`DATABASE_URL` switches to PostgreSQL; `REDIS_URL` switches the cache and the channel layer
to Redis. See README.md "Configuration" for every variable.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from playwave.env import env_bool, env_int, env_list, env_rate, env_str, env_time_zone

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("PLAYWAVE_DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
# The fallback key only serves the embedded default; `check --deploy` flags it (security.W009).
SECRET_KEY = env_str(
    "DJANGO_SECRET_KEY", "django-insecure-embedded-default-do-not-use-in-production"
)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "sessions.apps.PlaySessionsConfig",
    "games.apps.GamesConfig",
    "audit.apps.AuditConfig",
    "dashboard.apps.DashboardConfig",
    "playwave",  # the project's own commands (serve): it sits above every app
]

MIDDLEWARE = [
    "playwave.metrics.MetricsMiddleware",
    "sessions.api.middleware.ApiEnvelopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "playwave.static.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "playwave.urls"
WSGI_APPLICATION = "playwave.wsgi.application"
ASGI_APPLICATION = "playwave.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# --- Database -----------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES: dict[str, Any] = {"default": dj_database_url.parse(DATABASE_URL)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # A per-process connection pool, not persistent per-thread connections: under ASGI every
        # request may run on another thread, and per-thread connections pile up until
        # PostgreSQL refuses new clients.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        # Each pooled connection is checked as it is handed out (Django passes psycopg_pool's
        # check_connection): after a PostgreSQL restart no request gets a dead one.
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options.setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 3, minimum=2))
        # The hot paths' hand-written statements (sessions/sql.py) are prepared on a connection
        # from their fifth use on; Django's own cursors bind on the client and never prepare.
        # Off behind a pooler that cannot hold prepared statements (PgBouncer in transaction
        # mode without max_prepared_statements).
        options["prepare_threshold"] = 5 if env_bool("DATABASE_PREPARED_STATEMENTS", True) else None
        options["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN", 1, minimum=0),
            "max_size": env_int("DATABASE_POOL_MAX", 10, minimum=1),
            # While PostgreSQL is down a request waits this long for a connection, then gets
            # 503 SERVICE_UNAVAILABLE with Retry-After: an answer well inside any client timeout.
            # Not shorter: on a loaded host a burst of ASGI requests that needs new connections
            # (or a stall of PostgreSQL) took over 2 s, and 2 s turned those into 503s.
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 5, minimum=1),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(DATA_DIR / "playwave.sqlite3")),
            # Writers queue for the lock instead of failing at once; WAL lets readers go on.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and channel layer ------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
# Probe an idle Redis connection after 30 s and give up after 3 unanswered probes 10 s apart.
REDIS_KEEPALIVE = {socket.TCP_KEEPIDLE: 30, socket.TCP_KEEPINTVL: 10, socket.TCP_KEEPCNT: 3}
if REDIS_URL:
    CACHES: dict[str, Any] = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("PLAYWAVE_CACHE_PREFIX", "playwave"),
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
    CHANNEL_LAYERS: dict[str, Any] = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # Every concurrent send holds a pooled connection, and redis-py refuses (rather
                # than waits) past the pool's size: hundreds of forwarding sockets need room.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # No client-side socket timeout. redis-py 8 defaults it to 5 s, the length
                        # of channels_redis' blocking BZPOPMIN, so every quiet consumer died with
                        # a TimeoutError (channels_redis #422). Any finite value also makes
                        # redis-py wrap each write in asyncio.wait_for, which on Python 3.11
                        # swallows a cancellation that lands as the write completes (CPython
                        # gh-86296): the cancelled receive then loops in BZPOPMIN forever and
                        # shutdown hangs. A dead peer is found by TCP keepalive instead.
                        "socket_timeout": None,
                        "socket_keepalive": True,
                        "socket_keepalive_options": REDIS_KEEPALIVE,
                        "max_connections": env_int(
                            "PLAYWAVE_REDIS_MAX_CONNECTIONS", 1000, minimum=10
                        ),
                    }
                ],
                "prefix": env_str("PLAYWAVE_CHANNEL_PREFIX", "playwave"),
                # Messages a channel may hold before a send is refused (ChannelFull). A game
                # process's inbox takes every forwarded message of every socket on the other
                # processes, so a thousand players joining at once need far more than the
                # library's default of 100.
                "capacity": env_int("PLAYWAVE_CHANNEL_CAPACITY", 5000, minimum=100),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Rate limits (ratelimits/) -----------------------------------------------------------------
# Every limit counts in Redis when REDIS_URL is set (all processes together), in memory
# otherwise; while Redis is down each process counts on its own. RATE_LIMITS=0 turns all off.
RATE_LIMITS = env_bool("RATE_LIMITS", True)
# /v1 (sessions/api/limits.py): calls per client IP, per game API key and per cafe launcher key,
# and failed authentications (bad key, signature or session token) per client IP. A game's key
# carries every heartbeat of its servers: 120 000/minute is 200 000 players at one heartbeat
# per 120 s (1 667/s), with a fifth to spare for verifies, checks and ends.
PLAYWAVE_RATE_PER_IP = env_rate("PLAYWAVE_RATE_PER_IP", "30000/minute")
PLAYWAVE_RATE_PER_GAME_KEY = env_rate("PLAYWAVE_RATE_PER_GAME_KEY", "120000/minute")
PLAYWAVE_RATE_PER_CAFE_KEY = env_rate("PLAYWAVE_RATE_PER_CAFE_KEY", "12000/minute")
PLAYWAVE_RATE_AUTH_FAILURES = env_rate("PLAYWAVE_RATE_AUTH_FAILURES", "60/minute")

# --- Auth, i18n, static -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
# The zone the admin and the dashboard show times in (with seconds); UTC on hover and in exports.
TIME_ZONE = env_time_zone("TIME_ZONE", "UTC")
FORMAT_MODULE_PATH = ["playwave.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(DATA_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the finders when nothing was collected (embedded default and tests).
SERVESTATIC_USE_FINDERS = True
LOGIN_URL = "admin:login"

# --- Production hardening (PLAYWAVE_HTTPS=1 behind TLS) ---------------------------------------
if env_bool("PLAYWAVE_HTTPS", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("PLAYWAVE_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# --- PlayWave session service timers (whole seconds; compress them for demos) -----------------
PLAYWAVE_OTT_TTL = env_int("PLAYWAVE_OTT_TTL", 60, minimum=1)
PLAYWAVE_HEARTBEAT_INTERVAL = env_int("PLAYWAVE_HEARTBEAT_INTERVAL", 120, minimum=1)
PLAYWAVE_SESSION_TIMEOUT = env_int("PLAYWAVE_SESSION_TIMEOUT", 240, minimum=1)
PLAYWAVE_LAUNCHER_HEARTBEAT_INTERVAL = env_int(
    "PLAYWAVE_LAUNCHER_HEARTBEAT_INTERVAL", 60, minimum=1
)
PLAYWAVE_LAUNCHER_TIMEOUT = env_int("PLAYWAVE_LAUNCHER_TIMEOUT", 240, minimum=1)
PLAYWAVE_GRACE_PERIOD = env_int("PLAYWAVE_GRACE_PERIOD", 120, minimum=0)
PLAYWAVE_BILLING_UNIT = env_int("PLAYWAVE_BILLING_UNIT", 60, minimum=1)

# API keys are per environment: a server only accepts keys issued for its own environment.
PLAYWAVE_ENVIRONMENT = env_str("PLAYWAVE_ENVIRONMENT", "live")
# Largest accepted /v1 request body, in bytes (larger gets 413).
PLAYWAVE_MAX_BODY_BYTES = env_int("PLAYWAVE_MAX_BODY_BYTES", 16384, minimum=256)
# Launcher signing: allowed clock skew (s; nonces are remembered twice as long) and the proxies
# (CIDRs) whose X-Forwarded-For is believed when finding a launcher's client IP.
PLAYWAVE_SIGNATURE_WINDOW = env_int("PLAYWAVE_SIGNATURE_WINDOW", 300, minimum=1)
PLAYWAVE_TRUSTED_PROXIES = env_list("PLAYWAVE_TRUSTED_PROXIES", [])
# How long a resolved API key stays cached in-process before the database is asked again.
PLAYWAVE_API_KEY_CACHE_SECONDS = env_int("PLAYWAVE_API_KEY_CACHE_SECONDS", 10, minimum=0)
# When set, /metrics wants `Authorization: Bearer <this>`.
PLAYWAVE_METRICS_TOKEN = env_str("PLAYWAVE_METRICS_TOKEN", "")
# Collectors /metrics runs at scrape time (gauges read from the database), by dotted path.
PLAYWAVE_METRICS_COLLECTORS = ["sessions.metrics.LiveStateCollector"]
# A cafe whose balance lasts less than this (s) at its live sessions' burn rate counts as low
# (playwave_cafes_low_runway, alert PlaywaveCafesRunningDry).
PLAYWAVE_RUNWAY_WARNING = env_int("PLAYWAVE_RUNWAY_WARNING", 1800, minimum=1)
# Reaper: seconds between iterations and sessions ended per batch.
PLAYWAVE_REAPER_INTERVAL = env_int("PLAYWAVE_REAPER_INTERVAL", 1, minimum=1)
PLAYWAVE_REAPER_BATCH = env_int("PLAYWAVE_REAPER_BATCH", 500, minimum=1)

# --- Join-code games ---------------------------------------------------------------------------
# Live sessions idle this long (no message from anyone) are closed and their code freed.
GAMES_IDLE_REAP_SECONDS = env_int("GAMES_IDLE_REAP_SECONDS", 3600, minimum=1)
# An ended session stays readable (GM console, late rejoins) this long before it is closed.
GAMES_ENDED_KEEP_SECONDS = env_int("GAMES_ENDED_KEEP_SECONDS", 600, minimum=0)
GAMES_TICK_MS = env_int("GAMES_TICK_MS", 1000, minimum=100)
# A code claim expires this long after its owning process stops refreshing it (process died).
GAMES_CODE_TTL_SECONDS = env_int("GAMES_CODE_TTL_SECONDS", 120, minimum=10)
GAMES_MAX_MESSAGE_BYTES = env_int("GAMES_MAX_MESSAGE_BYTES", 4096, minimum=256)
# A frame over this is refused (too_large) and its socket closed with 1009. Keep the ASGI
# server's own limit above it (daphne --websocket-max-message-size, default 1 MiB; uvicorn
# --ws-max-size), or the server drops such frames before the socket can be told why.
GAMES_MAX_FRAME_BYTES = env_int("GAMES_MAX_FRAME_BYTES", 65536, minimum=GAMES_MAX_MESSAGE_BYTES)
# Messages one socket may send: per second on average, in bursts of up to GAMES_SOCKET_BURST;
# excess is dropped (rate_limited), and a socket still flooding after GAMES_SOCKET_FLOOD_SECONDS
# is closed with 4429.
GAMES_SOCKET_MESSAGES_PER_SECOND = env_int("GAMES_SOCKET_MESSAGES_PER_SECOND", 20, minimum=1)
GAMES_SOCKET_BURST = env_int("GAMES_SOCKET_BURST", 40, minimum=1)
GAMES_SOCKET_FLOOD_SECONDS = env_int("GAMES_SOCKET_FLOOD_SECONDS", 10, minimum=1)
# Chat lines one player (or spectator socket) may post: per minute, in bursts of GAMES_CHAT_BURST.
GAMES_CHAT_PER_MINUTE = env_int("GAMES_CHAT_PER_MINUTE", 30, minimum=1)
GAMES_CHAT_BURST = env_int("GAMES_CHAT_BURST", 10, minimum=1)
# Player inputs (location, action) one socket may queue for one tick.
GAMES_INPUTS_PER_TICK = env_int("GAMES_INPUTS_PER_TICK", 10, minimum=1)
# Sockets asking for a code no session has, per client IP, counted across processes (Redis when
# configured); past it every join from that IP is refused for a while (rate_limited, 4429).
GAMES_UNKNOWN_CODE_RATE = env_str("GAMES_UNKNOWN_CODE_RATE", "60/minute")
try:
    import limits as _limits

    _limits.parse(GAMES_UNKNOWN_CODE_RATE)
except ValueError:
    raise ImproperlyConfigured(
        f"GAMES_UNKNOWN_CODE_RATE={GAMES_UNKNOWN_CODE_RATE!r} is not a rate such as 60/minute"
    ) from None
GAMES_CHAT_HISTORY = env_int("GAMES_CHAT_HISTORY", 50, minimum=0)
# While a game runs, a player's `world` lists only the other players within this many metres
# (0: everyone), so frames stay small in a city-wide game; the GM always sees everyone.
GAMES_VIEW_RADIUS = env_int("GAMES_VIEW_RADIUS", 1000, minimum=0)
# Map tiles under the GM console's and player page's map: a {z}/{x}/{y} URL template and the
# attribution its licence asks for (HTML). Set GAMES_TILE_URL empty for a plain grid in metres
# (no internet needed). OpenStreetMap's own servers are for light use only (their tile usage
# policy); a busy deployment points this at its own or a commercial tile service.
GAMES_TILE_URL = env_str("GAMES_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
GAMES_TILE_ATTRIBUTION = env_str(
    "GAMES_TILE_ATTRIBUTION",
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
)
if GAMES_TILE_URL and not all(p in GAMES_TILE_URL for p in ("{z}", "{x}", "{y}")):
    raise ImproperlyConfigured(
        f"GAMES_TILE_URL must contain {{z}}, {{x}} and {{y}} (or be empty), not {GAMES_TILE_URL!r}"
    )
