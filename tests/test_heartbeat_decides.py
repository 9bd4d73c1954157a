"""A heartbeat asks the state machine once, twice when the cafe's balance matters."""

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


def test_a_charging_heartbeat_decides_twice(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock, decisions: list[int | None]
) -> None:
    gs = server.start(pc, obby)
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(110))
    balance = pc.refresh().cafe.balance
    decisions.clear()
    clock.at(120)  # a second unit is owed
    assert server.heartbeat(gs).json()["data"]["result"] == "OK"
    assert len(decisions) == 2
    assert decisions[-1] == balance  # the last evaluation saw the cafe's balance
    assert pc.refresh().cafe.balance == balance - obby.game.coins_per_minute
