"""The engine's load reaches /metrics: live sessions by state, connected viewers, tick time."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY

from games.engine import builtin_rulesets
from games.runtime import Runtime

pytestmark = pytest.mark.django_db


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_tick_exports_sessions_by_state_and_tick_durations(runtime: Runtime, host: Any) -> None:
    from asgiref.sync import async_to_sync

    live = async_to_sync(runtime.create)(builtin_rulesets()["tag"], host.pk)
    ticks_before = sample("playwave_games_tick_duration_seconds_count")
    async_to_sync(runtime.tick)()
    assert sample("playwave_games_sessions", state="stopped") == 1
    assert sample("playwave_games_players_connected") == 0
    live.world.status = "started"
    async_to_sync(runtime.tick)()
    assert sample("playwave_games_sessions", state="started") == 1
    assert sample("playwave_games_tick_duration_seconds_count") == ticks_before + 2
