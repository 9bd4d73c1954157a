"""A short seeded simulation against a live server: its table equals the server's records."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from conftest import run, server_side
from django.db import connections
from pytest_django.fixtures import Settings as SettingsWrapper

from sessions.management.commands.simulate import DjangoOperator, parse_mix, server_timers
from sessions.models import GameSession
from sessions.reaper import Reaper
from sessions.simulator import (
    CafePlan,
    Provisioned,
    Report,
    ServerRecords,
    SimConfig,
    Simulator,
)

pytestmark = pytest.mark.django_db(transaction=True)


class TurnTakingOperator(DjangoOperator):
    """The command's operator, taking turns with the live server (see conftest)."""

    def _provision(self, cafes: list[CafePlan], games: list[tuple[str, str, int]]) -> Provisioned:
        return server_side(super()._provision, cafes, games)

    def _topup(self, cafe_id: int, amount: int) -> None:
        server_side(super()._topup, cafe_id, amount)

    def _records(self, cafe_ids: list[int]) -> ServerRecords:
        return server_side(super()._records, cafe_ids)

    def _end_session(self, game_session_id: str) -> bool:
        return bool(server_side(super()._end_session, game_session_id))


class TurnTakingReaper(Reaper):
    def iterate(self) -> bool:
        return server_side(super().iterate)

    def run(self) -> None:
        try:
            super().run()
        finally:
            connections.close_all()


@pytest.fixture
def fast_timers(settings: SettingsWrapper) -> SettingsWrapper:
    settings.PLAYWAVE_HEARTBEAT_INTERVAL = 1
    settings.PLAYWAVE_SESSION_TIMEOUT = 3
    settings.PLAYWAVE_LAUNCHER_HEARTBEAT_INTERVAL = 1
    settings.PLAYWAVE_LAUNCHER_TIMEOUT = 3
    settings.PLAYWAVE_GRACE_PERIOD = 2
    settings.PLAYWAVE_BILLING_UNIT = 1
    settings.PLAYWAVE_OTT_TTL = 5
    settings.PLAYWAVE_REAPER_INTERVAL = 1
    return settings


@pytest.fixture
def reaper(fast_timers: SettingsWrapper) -> Any:
    """The server's reaper, running beside the live server as `serve` runs it."""
    running = TurnTakingReaper()
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    yield running
    running.stop()
    thread.join(timeout=10)


def test_seeded_simulation_matches_the_servers_records(live_server: Any, reaper: Any) -> None:
    config = SimConfig(
        url=live_server.url,
        cafes=4,
        pcs_per_cafe=3,
        poor_cafes=1,
        games=2,
        duration=10,
        seed=7,
        # Every script equally likely, so a short run still meets most ends.
        mix=parse_mix("normal=1,crash=1,switch=1,launcher_close=1,launcher_crash=1,operator_end=1"),
        play=(1.5, 3.0),
        connections=20,
    )
    reports: list[Report] = []

    async def scenario() -> None:
        operator = TurnTakingOperator()
        try:
            reports.append(await Simulator(config, server_timers(), operator).run())
        finally:
            await operator.close()

    run(scenario)
    report = reports[0]
    assert report.matches, report.table()
    assert report.error_count == 0, report.table()
    assert sum(report.sim_reasons.values()) >= 12  # every PC played at least once
    assert len(report.sim_reasons) >= 4, report.table()
    assert report.sim_reasons["operator"] >= 1, report.table()  # ended from the back office
    assert report.sim_accepted > 0
    assert not GameSession.objects.exclude(state="ENDED").exists()
