"""Round trips to PostgreSQL per request on the hot paths, counted so none is added quietly.

A charging heartbeat is one read and one write statement (session, cafe and ledger in one
statement with data-modifying CTEs); a launcher heartbeat is its nonce and one statement that
beats the token's session (the cafe of its key is known to the process for a few seconds).
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


def test_a_beat_whose_launcher_closes_between_its_read_and_its_write_ends_the_session(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The launcher closes after the beat read the session (which moves the session's due time
    to now): the beat's guarded statement writes nothing, and the locked path ends the session
    instead of pushing its due time out for another timeout."""
    gs = server.start(pc, obby)
    real = game_sessions._read_active

    def read_then_the_launcher_closes(*args, **kwargs):  # type: ignore[no-untyped-def]
        row = real(*args, **kwargs)
        assert launchers.end_launcher_session(pc.launcher, now=clock.at(30))
        return row

    monkeypatch.setattr(game_sessions, "_read_active", read_then_the_launcher_closes)
    with CaptureQueriesContext(connection) as queries:
        touched = game_sessions.touch_session(
            obby.game, uuid.UUID(gs[3:]), "1001", now=clock.at(30), why=Touch.HEARTBEAT
        )
    assert any("FOR UPDATE" in q["sql"] for q in queries), [q["sql"] for q in queries]
    assert touched.reply is not None
    row = session_row(gs)
    assert row.state != "ACTIVE"
    assert row.end_reason == "launcher_closed"


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


def test_a_launcher_heartbeat_is_two_round_trips(cafe: Cafe, clock: Clock) -> None:
    launcher = SignedLauncher(cafe)
    assert launcher.start().status_code == 200  # this process now knows the cafe's key
    with CaptureQueriesContext(connection) as queries:
        response = launcher.heartbeat()
    assert response.status_code == 200
    # The nonce (an upsert: nonces live in the database so a Redis flush cannot replay a
    # request), then the beat of the token's session returning its live game session.
    assert len(queries) == 2, [q["sql"] for q in queries]
    assert "launchernonce" in queries[0]["sql"] and "token_digest" in queries[1]["sql"]


def test_a_launcher_heartbeat_of_a_key_this_process_does_not_know_is_four(
    cafe: Cafe, clock: Clock
) -> None:
    from sessions.keys import forget_launcher_keys

    launcher = SignedLauncher(cafe)
    assert launcher.start().status_code == 200
    forget_launcher_keys()
    with CaptureQueriesContext(connection) as queries:
        response = launcher.heartbeat()
    assert response.status_code == 200
    assert len(queries) == 4, [q["sql"] for q in queries]  # + the cafe of the key, its networks


def test_a_verify_is_at_most_eleven_round_trips(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    """Measured as it stands (a transaction with row locks, the session, its first charge)."""
    ott = launchers.issue_ott(pc.launcher, obby.game, now=clock.now)
    with CaptureQueriesContext(connection) as queries:
        verified = game_sessions.verify(obby.game, ott.id, "1001", now=clock.now)
    assert isinstance(verified, game_sessions.Verified)
    assert len(queries) <= 11, [q["sql"] for q in queries]  # BEGIN, 9 statements, COMMIT


def test_the_heartbeats_sql_read_agrees_with_the_orm(
    server: GameServer, pc: CafePC, obby: GameWithKey, tycoon: GameWithKey, clock: Clock
) -> None:
    """PostgreSQL reads with hand-written SQL; it must bring what the ORM read brings."""
    from sessions.models import GameSession

    gs = server.start(pc, obby)
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(50))
    beat(obby, gs, clock, 60)
    pk = uuid.UUID(gs[3:])
    orm = (
        GameSession.objects.filter(pk=pk, game=obby.game, state="ACTIVE")
        .values(*game_sessions.READ_FIELDS)
        .get()
    )
    sql = game_sessions._read_active(pk, obby.game)
    assert sql == orm
    assert sql["cafe__balance"] == pc.refresh().cafe.balance
    assert sql["launcher_session__status"] == "active"
    assert game_sessions._read_active(pk, tycoon.game) is None  # another game's session
    assert game_sessions._read_active(uuid.uuid4(), obby.game) is None


def test_the_heartbeats_statements_are_prepared_on_the_connection(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    """Planning the read cost more than running it: from its fifth use on a connection it is
    prepared, and so are the beat's write and the launcher's statements."""
    gs = server.start(pc, obby)
    for t in range(10, 80, 10):
        launchers.heartbeat_launcher(pc.launcher, now=clock.at(t - 5))
        beat(obby, gs, clock, t)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = {row[0] for row in cursor.fetchall()}
    assert any("FROM playsessions_gamesession s" in p for p in prepared), prepared
    assert any("UPDATE playsessions_launchersession" in p for p in prepared), prepared
