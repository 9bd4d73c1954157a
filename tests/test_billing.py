"""G-coin billing: the worked example, exhaustion, grace, top-up and the ledger invariant."""

from __future__ import annotations

import pytest
from personas import CafePC, Clock, GameServer, GameWithKey, ledger_balanced, reap, session_row

from sessions import billing, launchers
from sessions.models import Cafe

pytestmark = pytest.mark.django_db


@pytest.fixture
def poor_pc(clock: Clock) -> CafePC:
    """A cafe with 25 G-coin and one PC."""
    from personas import open_pc

    cafe = billing.create_cafe("Corner Cafe", ["10.1.0.0/24"], balance=25, now=clock.now)
    return open_pc(cafe, "PC-A")


def keep_launcher_alive(pc: CafePC, clock: Clock, t: float) -> None:
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(t))


def test_worked_example_rate_10_balance_25(
    server: GameServer, poor_pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    pc = poor_pc
    gs = server.start(pc, obby)  # t=0: first unit
    assert pc.refresh().cafe.balance == 15

    keep_launcher_alive(pc, clock, 119)
    clock.at(120)
    assert server.heartbeat(gs).json()["data"]["result"] == "OK"
    assert pc.refresh().cafe.balance == 5

    keep_launcher_alive(pc, clock, 239)
    clock.at(240)
    data = server.heartbeat(gs).json()["data"]
    assert data["result"] == "CHARGE_EXHAUSTED"
    assert pc.refresh().cafe.balance == 0
    assert session_row(gs).coins_charged == 25  # the last 5 were taken

    keep_launcher_alive(pc, clock, 299)
    clock.at(300)
    assert server.heartbeat(gs).json()["data"]["result"] == "CHARGE_EXHAUSTED"

    reap(clock.at(359))
    assert session_row(gs).state == "ACTIVE"
    reap(clock.at(360))
    row = session_row(gs)
    assert (row.state, row.end_reason, row.play_duration_sec) == ("ENDED", "charge_exhausted", 360)
    assert pc.refresh().cafe.balance == 0
    assert ledger_balanced(pc.cafe)


def test_top_up_during_grace_recovers_the_session(
    server: GameServer, poor_pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    pc = poor_pc
    gs = server.start(pc, obby)
    for t in (120, 240):
        keep_launcher_alive(pc, clock, t - 1)
        clock.at(t)
        server.heartbeat(gs)
    assert session_row(gs).exhausted_at is not None

    billing.topup(pc.cafe.pk, 100, now=clock.at(280))
    keep_launcher_alive(pc, clock, 299)
    clock.at(300)
    assert server.heartbeat(gs).json()["data"]["result"] == "OK"
    row = session_row(gs)
    assert row.exhausted_at is None and row.grace_until is None
    assert row.coins_charged == 50  # five started minutes, the backlog included
    reap(clock.at(400))
    assert session_row(gs).state == "ACTIVE"
    assert ledger_balanced(pc.cafe)


def test_top_up_after_grace_deadline_but_before_reaper_rescues(
    server: GameServer, poor_pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    pc = poor_pc
    gs = server.start(pc, obby)
    for t in (120, 240):
        keep_launcher_alive(pc, clock, t - 1)
        clock.at(t)
        server.heartbeat(gs)
    keep_launcher_alive(pc, clock, 355)
    billing.topup(pc.cafe.pk, 100, now=clock.at(355))
    reap(clock.at(361))
    assert session_row(gs).state == "ACTIVE"


def test_end_during_grace_succeeds_as_normal(
    server: GameServer, poor_pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    pc = poor_pc
    gs = server.start(pc, obby)
    for t in (120, 240):
        keep_launcher_alive(pc, clock, t - 1)
        clock.at(t)
        server.heartbeat(gs)
    clock.at(300)
    assert server.end(gs).status_code == 200
    row = session_row(gs)
    assert (row.end_reason, row.play_duration_sec) == ("normal", 300)
    assert pc.refresh().cafe.balance == 0
    assert ledger_balanced(pc.cafe)


def test_balance_never_goes_negative(
    server: GameServer, poor_pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    pc = poor_pc
    gs = server.start(pc, obby)
    clock.at(230)
    server.end(gs)
    assert pc.refresh().cafe.balance == 0
    assert session_row(gs).coins_charged == 25


def test_topup_rejects_non_positive_amounts(cafe: Cafe, clock: Clock) -> None:
    with pytest.raises(ValueError, match="positive"):
        billing.topup(cafe.pk, 0, now=clock.now)
    assert ledger_balanced(cafe)
