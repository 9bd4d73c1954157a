"""Prometheus metrics: the series, the scrape view and the listener that feeds them.

Counters and histograms live in the process that saw the event. With several processes
(gunicorn workers, a separate reaper) set PROMETHEUS_MULTIPROC_DIR to an empty directory shared
by all of them, wiped at deploy: prometheus_client then sums every process's values at scrape
time (see deploy/gunicorn.conf.py for the hook that drops a dead worker's live gauges). Gauges
of current state (live sessions, sessions in grace, live launchers) are read from the database
at scrape time, so they are right however many processes write. Labels are game slugs, reasons
and results only — never a session, user or PC id.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

HEARTBEAT_GAP = Histogram(
    "playwave_heartbeat_gap_seconds",
    "Time since the session's previous heartbeat (or verify) when a heartbeat arrives.",
    ["game"],
    buckets=(30, 60, 90, 110, 120, 130, 150, 180, 210, 240, 300, 600),
)
SESSION_REPLACEMENTS = Counter(
    "playwave_session_replacements",
    "Game sessions ended because another started on the PC.",
    ["game"],
)
CHARGE_EXHAUSTIONS = Counter(
    "playwave_charge_exhaustions", "Sessions whose cafe ran out of G-coin (grace began).", ["game"]
)
SESSIONS_STARTED = Counter("playwave_sessions_started", "Game sessions started.", ["game"])
SESSIONS_ENDED = Counter(
    "playwave_sessions_ended", "Game sessions ended, by end reason.", ["game", "reason"]
)
VERIFY = Counter(
    "playwave_verify",
    "OTT verifications by result (valid or the refusal reason).",
    ["game", "result"],
)
HEARTBEATS = Counter(
    "playwave_heartbeats", "Game-server heartbeats by result or error code.", ["game", "result"]
)
REAPER_LAST_RUN = Gauge(
    "playwave_reaper_last_run_timestamp_seconds",
    "Unix time of the last completed reaper pass.",
    multiprocess_mode="max",
)
REAPER_PASS = Histogram(
    "playwave_reaper_pass_duration_seconds",
    "Duration of one reaper pass.",
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
REAPER_LAG = Histogram(
    "playwave_reaper_lag_seconds",
    "How long after its due time (deadline, end of grace, launcher death) a session ended.",
    buckets=(0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60),
)
HTTP_DURATION = Histogram(
    "playwave_http_request_duration_seconds",
    "HTTP request duration by route pattern, method and status.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

# Join-code game engine (fed by the games runtime in the ASGI processes that own sessions).
GAMES_LIVE = Gauge(
    "playwave_games_sessions",
    "Live join-code game sessions owned by this process, by state.",
    ["state"],
    multiprocess_mode="livesum",
)
GAMES_PLAYERS = Gauge(
    "playwave_games_players_connected",
    "Players and spectators connected to join-code game sessions.",
    multiprocess_mode="livesum",
)
GAMES_TICK = Histogram(
    "playwave_games_tick_duration_seconds",
    "Time to step one game session and build its snapshots.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
)
GAMES_BROADCAST_LAG = Histogram(
    "playwave_games_broadcast_lag_seconds",
    "From a tick's scheduled moment to its snapshots being handed to the sockets.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)

# Ends that were due at a moment (rather than asked for): their lag is the reaper's lag.
DUE_REASONS = {"heartbeat_timeout", "charge_exhausted", "launcher_timeout", "launcher_closed"}


class LiveStateCollector(Collector):
    """Gauges of current state, read from the database at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count

        from sessions.lifecycle import State
        from sessions.models import Game, GameSession, LauncherSession

        slugs = dict(Game.objects.values_list("id", "slug"))
        active = GaugeMetricFamily(
            "playwave_sessions_active", "Game sessions ACTIVE now.", labels=["game"]
        )
        grace = GaugeMetricFamily(
            "playwave_sessions_in_grace",
            "ACTIVE sessions whose cafe ran out of G-coin (in the grace period).",
            labels=["game"],
        )
        counts = {
            (row["game_id"], row["exhausted"]): row["n"]
            for row in GameSession.objects.filter(state=State.ACTIVE)
            .values("game_id")
            .annotate(exhausted=Count("exhausted_at"), n=Count("id"))
        }
        per_game: dict[int, tuple[int, int]] = {}
        for (game_id, exhausted), n in counts.items():
            total, in_grace = per_game.get(game_id, (0, 0))
            per_game[game_id] = (total + n, in_grace + exhausted)
        for game_id, slug in sorted(slugs.items(), key=lambda kv: kv[1]):
            total, in_grace = per_game.get(game_id, (0, 0))
            active.add_metric([slug], total)
            grace.add_metric([slug], in_grace)
        yield active
        yield grace
        launchers = GaugeMetricFamily("playwave_launchers_active", "Launcher sessions alive now.")
        launchers.add_metric(
            [], LauncherSession.objects.filter(status=LauncherSession.Status.ACTIVE).count()
        )
        yield launchers


def on_session_event(event: Any) -> None:
    """Feed the lifecycle counters from the session service's after-commit events."""
    game = event.game or "unknown"
    kind = event.kind
    if kind == "heartbeat":
        HEARTBEAT_GAP.labels(game).observe(event.data["gap"])
    elif kind == "started":
        SESSIONS_STARTED.labels(game).inc()
    elif kind == "exhausted":
        CHARGE_EXHAUSTIONS.labels(game).inc()
    elif kind == "ended":
        reason = event.data["reason"]
        SESSIONS_ENDED.labels(game, reason).inc()
        if reason == "session_replace":
            SESSION_REPLACEMENTS.labels(game).inc()
        if reason in DUE_REASONS:
            REAPER_LAG.observe(max(0.0, event.data["lag"]))


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        registry.register(_Delegate(REGISTRY))
    registry.register(LiveStateCollector())
    return registry


class _Delegate(Collector):
    """Exposes the process registry inside a per-scrape registry with the database gauges."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Any]:
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
    """Times every request under its route pattern (never the raw path: no id explosions)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response: HttpResponse = self.get_response(request)
        match = request.resolver_match
        route = f"/{match.route}" if match is not None and match.route else "unmatched"
        HTTP_DURATION.labels(route, request.method or "", str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response
