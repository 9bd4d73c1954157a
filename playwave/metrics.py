"""Prometheus: the /metrics scrape view and the HTTP request middleware.

Each app owns its series (sessions/metrics.py, games/metrics.py) and imports them when it is
ready; this module knows none of them. The scrape collects the process registry — or, with
PROMETHEUS_MULTIPROC_DIR set, the sum over every process of the host (gunicorn workers, ASGI
servers, reapers; see deploy/gunicorn.conf.py) — plus the scrape-time collectors named in the
PLAYWAVE_METRICS_COLLECTORS setting (gauges read from the database).

HTTP series are bounded: `surface` is one of SURFACES, `route` a URL pattern of the project's
URLconf or `other`, `method` one of METHODS or `other`, `status` the numeric status code.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterator
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

# `_created` samples double every counter and histogram and no query of ours reads them.
disable_created_metrics()

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"
# Path prefix → surface; the game-server API is kept apart from pages, sockets and files.
SURFACES = (
    ("/v1/", "api"),
    ("/admin/", "admin"),
    ("/games/", "games"),
    ("/metrics", "ops"),
    ("/healthz", "ops"),
)

HTTP_DURATION = Histogram(
    "playwave_http_request_duration_seconds",
    "HTTP request duration by surface (api, admin, games, static, ops, other), route pattern, "
    "method and status.",
    ["surface", "route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def surface_of(path: str) -> str:
    """Which part of the site a path belongs to."""
    for prefix, surface in SURFACES:
        if path.startswith(prefix):
            return surface
    if path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    return OTHER


@cache
def _collectors() -> tuple[Collector, ...]:
    return tuple(import_string(path)() for path in settings.PLAYWAVE_METRICS_COLLECTORS)


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    # Scrape-time collectors first: they also create the per-game series at 0, which the
    # registry (or the multiprocess files) below then already holds.
    for collector in _collectors():
        registry.register(collector)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Delegate(REGISTRY))
    return registry


class _Delegate(Collector):
    """Exposes the process registry inside the per-scrape registry."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        yield from self.source.collect()


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.PLAYWAVE_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return HttpResponse(
                "metrics need a bearer token\n", status=401, content_type="text/plain"
            )
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Times every request under its surface and route pattern (never the raw path)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        route = f"/{match.route}" if match is not None and match.route else OTHER
        method = request.method or OTHER
        if method not in METHODS:
            method = OTHER  # any client can send any method: never a new series per method
        HTTP_DURATION.labels(
            surface_of(request.path), route, method, str(response.status_code)
        ).observe(time.perf_counter() - started)
        return response
