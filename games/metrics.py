"""The join-code game engine's Prometheus series, fed by the runtime of the ASGI processes.

Every family is exported from the start (0 until a game runs): the app imports this module when
it is ready, in every process, and the per-state gauge has a child for each engine state.
"""

from __future__ import annotations

from prometheus_client import Gauge, Histogram

from games.engine import ENDED, STARTED, STOPPED

STATES = (STOPPED, STARTED, ENDED)

GAMES_LIVE = Gauge(
    "playwave_games_sessions",
    "Live join-code game sessions owned by this process, by state.",
    ["state"],
    multiprocess_mode="livesum",
)
for _state in STATES:
    GAMES_LIVE.labels(_state)
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
GAMES_TICK_ANCHOR = Gauge(
    "playwave_games_tick_anchor_seconds",
    "The tick scheduler's phase-0 deadline on the process's monotonic clock: phase p of the "
    "period ticks at anchor + n * period + p * period / phases. It moves only when the "
    "scheduler falls more than a period behind and starts its deadlines over.",
    multiprocess_mode="liveall",
)
