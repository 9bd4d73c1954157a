"""A heartbeat asks the state machine once: its one read brings the cafe's balance along."""

from __future__ import annotations

import pytest
from django.db import transaction
from personas import CafePC, Clock, GameServer, GameWithKey, session_row

from sessions import game_sessions, launchers, lifecycle
from sessions.lifecycle import Touch
from sessions.models import GameSession

pytestmark = pytest.mark.django_db


@pytest.fixture
def decisions(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """The balance each state-machine evaluation was given, in order."""
    seen: list[int | None] = []
    real = lifecycle.touch

    def counting(facts, balance, now, timers, why):  # type: ignore[no-untyped-def]
        seen.append(balance)
        return real(facts, balance, now, timers, why)

    monkeypatch.setattr(lifecycle, "touch", counting)
    return seen


def owing_a_unit(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock, decisions: list[int | None]
) -> tuple[str, int]:
    """A session whose second billing unit starts at t=120, and its cafe's balance then."""
    gs = server.start(pc, obby)
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(110))
    decisions.clear()
    return gs, pc.refresh().cafe.balance


def test_a_heartbeat_that_owes_nothing_decides_once(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock, decisions: list[int | None]
) -> None:
    gs = server.start(pc, obby)
    decisions.clear()
    clock.at(30)  # inside the first paid unit
    assert server.heartbeat(gs).json()["data"]["result"] == "OK"
    assert len(decisions) == 1


def test_a_reaper_touch_decides_twice_when_the_balance_matters(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock, decisions: list[int | None]
) -> None:
    """Without a read of its own, the locked path asks without the balance, then with it."""
    gs, balance = owing_a_unit(server, pc, obby, clock, decisions)
    with transaction.atomic():
        rows = GameSession.objects.select_related("launcher_session", "game")
        session = rows.select_for_update().get(pk=session_row(gs).pk)
        game_sessions.touch_locked(session, clock.at(120), Touch.CHECK)
    assert decisions == [0, balance]


def test_a_charging_heartbeat_decides_once(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock, decisions: list[int | None]
) -> None:
    gs, balance = owing_a_unit(server, pc, obby, clock, decisions)
    clock.at(120)  # a second unit is owed
    assert server.heartbeat(gs).json()["data"]["result"] == "OK"
    assert decisions == [balance]  # once, on the cafe's balance
    assert pc.refresh().cafe.balance == balance - obby.game.coins_per_minute
