"""The session service's Prometheus series: lifecycle counters, business series, live gauges.

Counters and histograms are fed from the after-commit session events (`on_session_event`) and
by the API views and the reaper, in whichever process saw the event; with several processes
prometheus_client's multiprocess mode sums them at scrape time (playwave/metrics.py). Gauges of
current state are read from the database at scrape time by `LiveStateCollector`, so every
process reports the same, right, value.

Label values are bounded: `game` is a game slug (one per provisioned game), `reason` an
`EndReason`, `result` a heartbeat result or error code, or a verify refusal reason. Never a
session, user, cafe or PC id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.conf import settings
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from sessions.events import SessionEvent
from sessions.lifecycle import EndReason

# Ends that were due at a moment (rather than asked for): their lag is the reaper's lag.
DUE_REASONS = frozenset(
    {
        EndReason.HEARTBEAT_TIMEOUT,
        EndReason.CHARGE_EXHAUSTED,
        EndReason.LAUNCHER_TIMEOUT,
        EndReason.LAUNCHER_CLOSED,
    }
)


def gap_buckets(interval: int, timeout: int) -> tuple[float, ...]:
    """Heartbeat-gap buckets around the configured interval, up to the session timeout.

    Accepted gaps never exceed the timeout (later heartbeats are refused and counted by
    `playwave_heartbeats_late_total`), so the buckets are dense where the gaps are: just under
    and just over the interval, and approaching the expiry.
    """
    around_interval = (0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5)
    towards_timeout = (0.75, 0.9, 1.0)
    edges = {round(interval * f, 3) for f in around_interval if interval * f < timeout}
    edges |= {round(timeout * f, 3) for f in towards_timeout}
    return tuple(sorted(edges))


HEARTBEAT_GAP = Histogram(
    "playwave_heartbeat_gap_seconds",
    "Time since the session's previous heartbeat (or verify) when an accepted heartbeat "
    "arrives; buckets derived from PLAYWAVE_HEARTBEAT_INTERVAL and PLAYWAVE_SESSION_TIMEOUT.",
    ["game"],
    buckets=gap_buckets(settings.PLAYWAVE_HEARTBEAT_INTERVAL, settings.PLAYWAVE_SESSION_TIMEOUT),
)
HEARTBEATS_LATE = Counter(
    "playwave_heartbeats_late",
    "Heartbeats that arrived after their session's timeout (the session had expired).",
    ["game"],
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
COINS_CHARGED = Counter(
    "playwave_coins_charged", "G-coin charged to cafes for play, by game.", ["game"]
)
TOPUPS = Counter("playwave_topups", "Cafe G-coin top-ups (opening balances included).")
TOPUP_COINS = Counter("playwave_topup_coins", "G-coin added to cafe balances by top-ups.")
REAPER_LAST_RUN = Gauge(
    "playwave_reaper_last_run_timestamp_seconds",
    "Unix time of the last completed reaper pass (0: no reaper has run on this host).",
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


def seed_game_series(slugs: Iterable[str]) -> None:
    """Create every per-game series at 0, so rates and ratios exist before the first event.

    Idempotent and cheap (a dictionary look-up per series once created). In multiprocess mode
    the zeros land in this process's file and add nothing to the sums.
    """
    for slug in slugs:
        SESSIONS_STARTED.labels(slug)
        CHARGE_EXHAUSTIONS.labels(slug)
        SESSION_REPLACEMENTS.labels(slug)
        HEARTBEATS_LATE.labels(slug)
        COINS_CHARGED.labels(slug)
        HEARTBEAT_GAP.labels(slug)
        HEARTBEATS.labels(slug, "OK")
        VERIFY.labels(slug, "valid")
        for reason in EndReason:
            SESSIONS_ENDED.labels(slug, reason.value)


def on_session_event(event: SessionEvent) -> None:
    """Feed the lifecycle and business counters from the after-commit session events."""
    game = event.game or "unknown"
    kind = event.kind
    if kind == "heartbeat":
        HEARTBEAT_GAP.labels(game).observe(event.data["gap"])
    elif kind == "heartbeat_late":
        HEARTBEATS_LATE.labels(game).inc()
    elif kind == "charged":
        COINS_CHARGED.labels(game).inc(event.data["coins"])
    elif kind == "topup":
        TOPUPS.inc()
        TOPUP_COINS.inc(event.data["coins"])
    elif kind == "started":
        SESSIONS_STARTED.labels(game).inc()
    elif kind == "exhausted":
        CHARGE_EXHAUSTIONS.labels(game).inc()
    elif kind == "ended":
        reason = EndReason(event.data["reason"])
        SESSIONS_ENDED.labels(game, reason.value).inc()
        if reason == EndReason.SESSION_REPLACE:
            SESSION_REPLACEMENTS.labels(game).inc()
        if reason in DUE_REASONS:
            REAPER_LAG.observe(max(0.0, event.data["lag"]))


class LiveStateCollector(Collector):
    """Gauges of current state, read from the database at scrape time.

    Cost per scrape: three queries — the games, ACTIVE sessions grouped by game and cafe
    (joined to the cafe's balance) and a count of live launchers — proportional to the live
    rows, not to history (ACTIVE sessions are found through an index).
    """

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count, Sum

        from sessions.lifecycle import State
        from sessions.models import Game, GameSession, LauncherSession

        slugs = dict(Game.objects.values_list("id", "slug"))
        seed_game_series(slugs.values())
        live = GameSession.objects.filter(state=State.ACTIVE).order_by()

        active = GaugeMetricFamily(
            "playwave_sessions_active", "Game sessions ACTIVE now.", labels=["game"]
        )
        grace = GaugeMetricFamily(
            "playwave_sessions_in_grace",
            "ACTIVE sessions whose cafe ran out of G-coin (in the grace period).",
            labels=["game"],
        )
        # One pass over the live rows, grouped by game and cafe, feeds every session gauge.
        warning = settings.PLAYWAVE_RUNWAY_WARNING
        unit = settings.PLAYWAVE_BILLING_UNIT
        per_game: dict[int, list[int]] = {}
        per_cafe: dict[int, list[int]] = {}  # cafe id -> [balance, burn, sessions in grace]
        for row in live.values("game_id", "cafe_id", "cafe__balance").annotate(
            n=Count("id"), exhausted=Count("exhausted_at"), burn=Sum("rate")
        ):
            game = per_game.setdefault(row["game_id"], [0, 0])
            game[0] += row["n"]
            game[1] += row["exhausted"]
            cafe = per_cafe.setdefault(row["cafe_id"], [row["cafe__balance"], 0, 0])
            cafe[1] += row["burn"]
            cafe[2] += row["exhausted"]
        for game_id, slug in sorted(slugs.items(), key=lambda kv: kv[1]):
            total, in_grace = per_game.get(game_id, (0, 0))
            active.add_metric([slug], total)
            grace.add_metric([slug], in_grace)
        yield active
        yield grace

        cafes_in_grace = sum(1 for _, _, exhausted in per_cafe.values() if exhausted)
        # Every started billing unit costs the session's rate: a balance lasts
        # balance / (sum of the rates) units.
        low_runway = sum(
            1 for balance, burn, _ in per_cafe.values() if balance * unit < warning * burn
        )
        in_grace_family = GaugeMetricFamily(
            "playwave_cafes_in_grace", "Cafes with at least one session in charge-exhaustion grace."
        )
        in_grace_family.add_metric([], cafes_in_grace)
        yield in_grace_family
        low = GaugeMetricFamily(
            "playwave_cafes_low_runway",
            "Cafes with live sessions whose balance lasts less than PLAYWAVE_RUNWAY_WARNING "
            "at the current burn rate.",
        )
        low.add_metric([], low_runway)
        yield low

        launchers = GaugeMetricFamily("playwave_launchers_active", "Launcher sessions alive now.")
        launchers.add_metric(
            [], LauncherSession.objects.filter(status=LauncherSession.Status.ACTIVE).count()
        )
        yield launchers

        for name, help_text, value in (
            (
                "playwave_heartbeat_interval_seconds",
                "PLAYWAVE_HEARTBEAT_INTERVAL: the heartbeat interval told to game servers.",
                settings.PLAYWAVE_HEARTBEAT_INTERVAL,
            ),
            (
                "playwave_session_timeout_seconds",
                "PLAYWAVE_SESSION_TIMEOUT: a session expires this long after its last heartbeat.",
                settings.PLAYWAVE_SESSION_TIMEOUT,
            ),
            (
                "playwave_runway_warning_seconds",
                "PLAYWAVE_RUNWAY_WARNING: a cafe's runway under this counts as low.",
                warning,
            ),
        ):
            family = GaugeMetricFamily(name, help_text)
            family.add_metric([], value)
            yield family
