from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET


def home(request: HttpRequest) -> HttpResponse:
    return redirect("admin:index")


# Each probe gives up after this long, so /healthz answers within a second whatever is down.
DATABASE_PROBE_TIMEOUT = 0.3
REDIS_PROBE_TIMEOUT = 0.2


def _probe_database() -> str:
    pool = getattr(connection, "pool", None)
    if pool is None:  # SQLite, or PostgreSQL without a pool
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    # Straight from the pool with a short wait, not through the request's connection: a
    # request waits DATABASE_POOL_TIMEOUT for a connection, longer than a probe may take.
    pool.open()
    conn = pool.getconn(timeout=DATABASE_PROBE_TIMEOUT)
    try:
        conn.execute("SELECT 1")
    finally:
        pool.putconn(conn)
    return "ok"


@cache
def _redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(
        url, socket_timeout=REDIS_PROBE_TIMEOUT, socket_connect_timeout=REDIS_PROBE_TIMEOUT
    )


def _probe_redis() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    _redis_client(settings.REDIS_URL).ping()
    return "ok"


def _probe(check: Callable[[], str]) -> tuple[bool, str]:
    started = time.monotonic()
    try:
        return True, check()
    except Exception as exc:  # any failure is an answer: "down, and why"
        took = time.monotonic() - started
        return False, f"error after {took:.2f} s: {type(exc).__name__}: {exc}"[:300]


def healthz(request: HttpRequest) -> JsonResponse:
    """What is up, within a second: 503 while the database (the record) is unreachable; 200
    "degraded" while only Redis is (sessions, charges and launcher nonces do not need it)."""
    db_ok, database = _probe(_probe_database)
    redis_ok, redis_state = _probe(_probe_redis)
    status = "ok" if db_ok and redis_ok else ("degraded" if db_ok else "error")
    return JsonResponse(
        {"status": status, "database": database, "redis": redis_state},
        status=200 if db_ok else 503,
    )


@cache
def _favicon() -> bytes | None:
    found = finders.find("favicon.ico")
    if not found:
        return None
    with open(str(found), "rb") as f:
        return f.read()


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for on every page (admin ones included)."""
    data = _favicon()
    if data is None:
        raise Http404("no favicon")
    return HttpResponse(data, content_type="image/x-icon")
