"""A heartbeat asks the state machine once: its one read brings the cafe's balance along."""

from __future__ import annotations

import pytest
from personas import CafePC, Clock, GameServer, GameWithKey

from sessions import launchers, lifecycle

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
    from personas import session_row

    from sessions import game_sessions

    gs = server.start(pc, obby)
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(110))
    balance = pc.refresh().cafe.balance
    decisions.clear()
    from django.db import transaction

    from sessions.lifecycle import Touch

    with transaction.atomic():
        row = session_row(gs).__class__.objects.select_related("launcher_session", "game")
        session = row.select_for_update().get(pk=gs[3:])
        game_sessions.touch_locked(session, clock.at(120), Touch.CHECK)
    assert decisions == [0, balance]


def test_a_charging_heartbeat_decides_once(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock, decisions: list[int | None]
) -> None:
    gs = server.start(pc, obby)
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(110))
    balance = pc.refresh().cafe.balance
    decisions.clear()
    clock.at(120)  # a second unit is owed
    assert server.heartbeat(gs).json()["data"]["result"] == "OK"
    assert decisions == [balance]  # once, on the cafe's balance
    assert pc.refresh().cafe.balance == balance - obby.game.coins_per_minute
