"""Round trips to PostgreSQL per request on the hot paths, counted so none is added quietly.

A charging heartbeat is one read and one write statement (session, cafe and ledger in one
statement with data-modifying CTEs); the launcher heartbeat is measured as it stands (its nonce
is remembered in the cache, not in the database).
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from personas import (
    CafePC,
    Clock,
    GameServer,
    GameWithKey,
    SignedLauncher,
    ledger_balanced,
    session_row,
)

from sessions import game_sessions, launchers
from sessions.lifecycle import Touch
from sessions.models import BalanceEntry, Cafe

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def beat(obby: GameWithKey, gs: str, clock: Clock, t: float) -> CaptureQueriesContext:
    with CaptureQueriesContext(connection) as queries:
        touched = game_sessions.touch_session(
            obby.game, uuid.UUID(gs[3:]), "1001", now=clock.at(t), why=Touch.HEARTBEAT
        )
    assert touched.reply is None and not touched.exhausted
    return queries


def test_a_charging_heartbeat_is_two_round_trips(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby)
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(110))
    before = pc.refresh().cafe.balance
    queries = beat(obby, gs, clock, 120)  # a second billing unit is owed
    assert len(queries) <= 4, [q["sql"] for q in queries]
    assert len(queries) == 2, [q["sql"] for q in queries]  # one read, one write
    assert pc.refresh().cafe.balance == before - obby.game.coins_per_minute
    assert session_row(gs).coins_charged == 2 * obby.game.coins_per_minute
    entry = BalanceEntry.objects.filter(kind="charge").order_by("-id").first()
    assert entry is not None and entry.balance_after == before - obby.game.coins_per_minute
    assert ledger_balanced(pc.cafe)


def test_a_heartbeat_that_owes_nothing_is_two_round_trips(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby)
    queries = beat(obby, gs, clock, 30)
    assert len(queries) == 2, [q["sql"] for q in queries]
    assert session_row(gs).heartbeat_count == 1


def test_a_charge_the_balance_cannot_pay_takes_the_locked_path_and_exhausts(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    """The balance drops between the read and the write: the CHECK refuses, nothing is half-done."""
    from sessions import lifecycle

    gs = server.start(pc, obby)
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(110))
    real = lifecycle.decide
    drained = []

    def decide_while_the_balance_drains(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not drained:
            drained.append(True)
            Cafe.objects.filter(pk=pc.cafe.pk).update(balance=3)
            BalanceEntry.objects.create(
                cafe=pc.cafe, kind="charge", amount=987, balance_after=3, created_at=clock.now
            )
        return real(*args, **kwargs)

    lifecycle.decide = decide_while_the_balance_drains  # type: ignore[assignment]
    try:
        touched = game_sessions.touch_session(
            obby.game, uuid.UUID(gs[3:]), "1001", now=clock.at(120), why=Touch.HEARTBEAT
        )
    finally:
        lifecycle.decide = real  # type: ignore[assignment]
    assert touched.exhausted
    assert pc.refresh().cafe.balance == 0
    assert session_row(gs).coins_charged == obby.game.coins_per_minute + 3
    assert ledger_balanced(pc.cafe)


def test_a_launcher_heartbeat_is_at_most_five_round_trips(cafe: Cafe, clock: Clock) -> None:
    launcher = SignedLauncher(cafe)
    assert launcher.start().status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = launcher.heartbeat()
    assert response.status_code == 200
    # The signing cafe, its networks, the nonce (an upsert: nonces live in the database so a
    # Redis flush cannot replay a request), the session of the token, the beat with its game.
    assert len(queries) <= 5, [q["sql"] for q in queries]


def test_a_verify_is_at_most_eleven_round_trips(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    """Measured as it stands (a transaction with row locks, the session, its first charge)."""
    ott = launchers.issue_ott(pc.launcher, obby.game, now=clock.now)
    with CaptureQueriesContext(connection) as queries:
        verified = game_sessions.verify(obby.game, ott.id, "1001", now=clock.now)
    assert isinstance(verified, game_sessions.Verified)
    assert len(queries) <= 11, [q["sql"] for q in queries]  # BEGIN, 9 statements, COMMIT
