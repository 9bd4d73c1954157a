"""The game-server side: verify an OTT into a game session, heartbeat, check and end it.

Each operation takes the time (`now`) from its caller, locks rows in one fixed order
(OTT → game sessions → cafe) so concurrent writers cannot deadlock, asks the pure state machine
(`sessions.lifecycle.decide`) what happens, writes it in one transaction, and announces it after
commit through `sessions.events`. An end is written in two phases: the decision (ACTIVE →
ENDING) and its settlement (ENDING → ENDED), which the reaper retries if it fails.
"""

from __future__ import annotations

import logging
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F

from sessions import lifecycle
from sessions.billing import charge_locked, locked_balance
from sessions.errors import ApiError, ErrorCode
from sessions.events import send_event_on_commit, session_event
from sessions.lifecycle import (
    EndReason,
    NeedsBalance,
    Outcome,
    Reply,
    SessionFacts,
    State,
    Touch,
)
from sessions.models import (
    FACT_FIELDS,
    Cafe,
    Game,
    GameSession,
    OneTimeToken,
    session_facts,
    timers,
)
from sessions.sql import prepared_cursor

logger = logging.getLogger(__name__)


# --- Verify -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    session_id: str


@dataclass(frozen=True)
class Refused:
    reason: str  # OTT_EXPIRED, OTT_ALREADY_USED, GAME_MISMATCH, NOT_CHARGEABLE


def verify(
    game: Game, ott_id: uuid.UUID, provider_user_id: str, *, now: datetime
) -> Verified | Refused:
    """Consume an OTT and start a game session (replacing any other on the PC)."""
    with transaction.atomic():
        ott = (
            OneTimeToken.objects.select_for_update(of=("self",))
            .select_related("launcher_session__cafe")
            .filter(pk=ott_id)
            .order_by()
            .first()
        )
        if ott is None:
            return Refused("OTT_EXPIRED")  # an unknown OTT looks exactly like an expired one
        answer = _answer_without_start(ott, game, provider_user_id, now)
        return answer if answer is not None else _start(game, ott, provider_user_id, now)


def _answer_without_start(
    ott: OneTimeToken, game: Game, provider_user_id: str, now: datetime
) -> Verified | Refused | None:
    """The answer to a verify that starts no session, or None when one may start."""
    # An expired OTT looks exactly like an unknown one, so OTTs cannot be probed.
    if now >= ott.expires_at:
        return Refused("OTT_EXPIRED")
    if ott.game_id != game.pk:
        return Refused("GAME_MISMATCH")
    if ott.consumed_at is not None:
        if ott.provider_user_id == provider_user_id:
            # A retry of a verify whose answer was lost: same answer, no second session.
            existing = GameSession.objects.filter(ott=ott).values_list("id", flat=True).first()
            if existing is not None:
                return Verified(f"gs_{existing}")
        return Refused("OTT_ALREADY_USED")
    launcher = ott.launcher_session
    if launcher.cafe.status != Cafe.Status.ACTIVE or not launcher.is_alive(now):
        return Refused("NOT_CHARGEABLE")
    return None


def _start(
    game: Game, ott: OneTimeToken, provider_user_id: str, now: datetime
) -> Verified | Refused:
    """Under the OTT's lock: replace the PC's live session and start this one, charged a unit."""
    launcher = ott.launcher_session
    previous = list(
        GameSession.objects.select_for_update(of=("self",))
        .select_related("launcher_session", "game")
        .filter(pc_id=launcher.pc_id, state=State.ACTIVE)
    )
    if locked_balance(launcher.cafe_id) < game.coins_per_minute:
        return Refused("NOT_CHARGEABLE")
    for old in previous:
        # Inside this transaction the replacement is decided and settled atomically.
        if touch_locked(old, now, Touch.REPLACE).decided_end:
            settle_locked(old, now)
    balance = locked_balance(launcher.cafe_id)  # replacement settlements may have charged it
    session = _insert_session(game, ott, provider_user_id, now)
    outcome = lifecycle.decide(session.facts(), balance, now, timers(), Touch.CHECK)
    _write(session, outcome, balance, now, Touch.CHECK)
    send_event_on_commit(
        session_event(
            "started", session, now, pc_id=launcher.pc_id, provider_user_id=provider_user_id
        )
    )
    return Verified(session.public_id)


def _insert_session(
    game: Game, ott: OneTimeToken, provider_user_id: str, now: datetime
) -> GameSession:
    launcher = ott.launcher_session
    session = GameSession(
        game=game,
        cafe=launcher.cafe,
        pc_id=launcher.pc_id,
        launcher_session=launcher,
        ott=ott,
        provider_user_id=provider_user_id,
        state=State.ACTIVE,
        started_at=now,
        last_heartbeat_at=now,
        due_at=now + timedelta(seconds=settings.PLAYWAVE_SESSION_TIMEOUT),
        rate=game.coins_per_minute,
        coins_charged=0,
    )
    session.save(force_insert=True)
    OneTimeToken.objects.filter(pk=ott.pk).update(
        consumed_at=now, provider_user_id=provider_user_id
    )
    return session


# --- Heartbeat, check, end --------------------------------------------------------------------


@dataclass(frozen=True)
class Touched:
    """A touched session and the answer to the caller.

    `reply` is None when the request did what it asked (the session lives on, or the end the
    caller requested happened); otherwise it says why the session is not (or no longer) ACTIVE.
    """

    session: GameSession
    reply: Reply | None
    exhausted: bool
    play_duration_sec: int
    decided_end: bool = False  # this touch decided the end; its settlement is still to run


@dataclass(frozen=True)
class _Seen:
    """What the unlocked read decided, reused under the lock if the row is still as it was."""

    facts: SessionFacts
    balance: int
    outcome: Outcome


def touch_session(
    game: Game,
    session_id: uuid.UUID,
    provider_user_id: str | None,
    *,
    now: datetime,
    why: Touch,
    client_play_duration_sec: int | None = None,
) -> Touched:
    """Heartbeat, check or end a session on behalf of its game server."""
    seen = None
    if why.refreshes_deadline and provider_user_id is not None:
        unlocked = _unlocked_touch(game, session_id, provider_user_id, now, why)
        if isinstance(unlocked, Touched):
            return unlocked
        seen = unlocked
    with transaction.atomic():
        session = _lock_session(game, session_id, provider_user_id)
        if client_play_duration_sec is not None and session.state == State.ACTIVE:
            GameSession.objects.filter(pk=session.pk).update(
                client_play_duration_sec=client_play_duration_sec
            )
            session.client_play_duration_sec = client_play_duration_sec
        touched = touch_locked(session, now, why, seen)
    if touched.decided_end:
        settle(touched.session.pk, now=now)
    return touched


def touch_locked(
    session: GameSession, now: datetime, why: Touch, seen: _Seen | None = None
) -> Touched:
    """Touch a session the caller has locked; if `decided_end`, call `settle` after commit."""
    if session.state != State.ACTIVE:
        reason = EndReason(session.end_reason)
        _announce_late(session, reason, now, why)
        reply = lifecycle.reply_for_finished(State(session.state), reason, why)
        return Touched(session, reply, False, session.play_duration_sec or 0)
    facts, t = session.facts(), timers()
    if seen is not None and seen.facts == facts:
        outcome, balance = seen.outcome, 0
        if outcome.used_balance:
            balance = locked_balance(session.cafe_id)
            if balance != seen.balance:
                outcome = lifecycle.decide(facts, balance, now, t, why)
        return _write(session, outcome, balance, now, why)
    decision, balance = lifecycle.decide(facts, None, now, t, why), 0
    if isinstance(decision, NeedsBalance):
        balance = locked_balance(session.cafe_id)
        decision = lifecycle.decide(facts, balance, now, t, why)
    return _write(session, decision, balance, now, why)


def _lock_session(game: Game, session_id: uuid.UUID, provider_user_id: str | None) -> GameSession:
    try:
        # get() drops Meta.ordering: a primary-key lookup needs no ORDER BY.
        session = (
            GameSession.objects.select_for_update(of=("self",))
            .select_related("launcher_session")
            .get(pk=session_id, game=game)
        )
    except GameSession.DoesNotExist:
        session = None
    if session is None or (
        provider_user_id is not None and session.provider_user_id != provider_user_id
    ):
        raise ApiError(ErrorCode.SESSION_NOT_FOUND, "no such game session for this game and user")
    session.game = game
    return session


def _unlocked_touch(
    game: Game, session_id: uuid.UUID, provider_user_id: str, now: datetime, why: Touch
) -> Touched | _Seen | None:
    """The common heartbeat in two statements and no lock; else what it saw, for the locked path.

    One read brings everything the decision needs (session, launcher, the cafe's balance); the
    state machine decides once. A beat that only moves the deadline, or (on PostgreSQL) one
    that charges what is owed in full, is written in one statement guarded by the row as it
    was read: any concurrent writer (another heartbeat, an end, a launcher closing, the reaper)
    changes a compared column, and then the locked path decides. Exhaustion, grace and ends
    always take the locked path.
    """
    row = _read_active(session_id, game)
    if row is None or row["provider_user_id"] != provider_user_id:
        return None
    facts, balance = session_facts(row.__getitem__), row["cafe__balance"]
    outcome = lifecycle.decide(facts, balance, now, timers(), why)
    seen = _Seen(facts, balance, outcome)
    if outcome.ending is not None or outcome.exhausted or facts.exhausted_at is not None:
        return seen
    if outcome.take and connection.vendor != "postgresql":
        return seen  # SQLite charges under the lock
    if not _write_beat_if_unchanged(session_id, row, facts, outcome, now, why):
        return None
    session = GameSession(
        pk=session_id, game=game, cafe_id=row["cafe_id"], started_at=facts.started_at
    )
    if outcome.take:
        send_event_on_commit(session_event("charged", session, now, coins=outcome.take))
    if why == Touch.HEARTBEAT:
        _announce_heartbeat(session, facts.last_heartbeat_at, now)
    return Touched(session, None, False, lifecycle.play_seconds(facts.started_at, now))


READ_FIELDS = ("provider_user_id", "due_at", "cafe_id", "cafe__balance", *FACT_FIELDS)

# The same read as SQL, on PostgreSQL: the ORM builds the same statement (SQLite's path), but
# compiling it took longer than PostgreSQL took to answer it. Aliased as the ORM names them;
# tests/test_round_trips.py checks the two agree.
_READ_SQL = """
SELECT s.provider_user_id, s.due_at, s.cafe_id, c.balance, s.started_at, s.last_heartbeat_at,
    s.rate, s.coins_charged, s.exhausted_at, s.grace_until,
    l.status, l.last_heartbeat_at, l.ended_at
FROM playsessions_gamesession s
JOIN playsessions_cafe c ON c.id = s.cafe_id
JOIN playsessions_launchersession l ON l.id = s.launcher_session_id
WHERE s.id = %s AND s.game_id = %s AND s.state = 'ACTIVE'
"""


def _read_active(session_id: uuid.UUID, game: Game) -> dict[str, Any] | None:
    """READ_FIELDS of an ACTIVE session of `game`, in one statement; None if there is none."""
    if connection.vendor != "postgresql":
        return (
            GameSession.objects.filter(pk=session_id, game=game, state=State.ACTIVE)
            .order_by()
            .values(*READ_FIELDS)
            .first()
        )
    with prepared_cursor() as cursor:
        cursor.execute(_READ_SQL, [session_id, game.pk])
        found = cursor.fetchone()
    return None if found is None else dict(zip(READ_FIELDS, found, strict=True))


# One statement for a beat that charges in full, on PostgreSQL: the session row (if it is as
# read), then its cafe (the balance CHECK refuses to go below zero, failing the whole
# statement), then the ledger entry with the balance the cafe row now holds. Row locks are
# taken session first, cafe second: the order of every other writer.
_CHARGE_SQL = """
WITH s AS (
    UPDATE playsessions_gamesession SET coins_charged = coins_charged + %(take)s,
        last_heartbeat_at = %(beat)s, due_at = %(due)s,
        heartbeat_count = heartbeat_count + %(count)s, updated_at = %(now)s
    WHERE id = %(id)s AND state = 'ACTIVE' AND last_heartbeat_at = %(old_beat)s
        AND due_at = %(old_due)s AND coins_charged = %(old_coins)s AND exhausted_at IS NULL
    RETURNING id, cafe_id
), c AS (
    UPDATE playsessions_cafe AS cafe SET balance = cafe.balance - %(take)s
    FROM s WHERE cafe.id = s.cafe_id
    RETURNING cafe.id, cafe.balance
), e AS (
    INSERT INTO playsessions_balanceentry (cafe_id, kind, amount, balance_after, session_id,
        note, created_at, created_by_id, idempotency_key)
    SELECT c.id, 'charge', %(take)s, c.balance, s.id, '', %(now)s, NULL, NULL FROM s, c
    RETURNING id
)
SELECT count(*) FROM e
"""


# A beat that owes nothing, on PostgreSQL: the ORM's update below (SQLite's path) as SQL, for
# the reason the read is SQL; guarded by the row as read, like the charge.
_BEAT_SQL = """
UPDATE playsessions_gamesession SET last_heartbeat_at = %(beat)s, due_at = %(due)s,
    heartbeat_count = heartbeat_count + %(count)s, updated_at = %(now)s
WHERE id = %(id)s AND state = 'ACTIVE' AND last_heartbeat_at = %(old_beat)s
    AND due_at = %(old_due)s AND coins_charged = %(old_coins)s AND exhausted_at IS NULL
"""


def _write_beat_if_unchanged(
    session_id: uuid.UUID,
    row: dict[str, Any],
    facts: SessionFacts,
    outcome: Outcome,
    now: datetime,
    why: Touch,
) -> bool:
    """Write the beat (and its charge) if the row is still as read; False if not or refused."""
    due = lifecycle.due_at(replace(facts, last_heartbeat_at=outcome.last_heartbeat_at), timers())
    count = 1 if why == Touch.HEARTBEAT else 0
    if outcome.take or connection.vendor == "postgresql":
        params = {
            "take": outcome.take,
            "beat": outcome.last_heartbeat_at,
            "due": due,
            "count": count,
            "now": now,
            "id": session_id,
            "old_beat": row["last_heartbeat_at"],
            "old_due": row["due_at"],
            "old_coins": row["coins_charged"],
        }
        if outcome.take:  # PostgreSQL only: SQLite charges under the lock
            return _one_statement(_CHARGE_SQL, params) == 1
        with prepared_cursor() as cursor:
            cursor.execute(_BEAT_SQL, params)
            return cursor.rowcount == 1
    n = GameSession.objects.filter(
        pk=session_id,
        state=State.ACTIVE,
        last_heartbeat_at=row["last_heartbeat_at"],
        due_at=row["due_at"],
        coins_charged=row["coins_charged"],
        exhausted_at__isnull=True,
    ).update(
        last_heartbeat_at=outcome.last_heartbeat_at,
        due_at=due,
        heartbeat_count=F("heartbeat_count") + count,
        updated_at=now,
    )
    return n == 1


def _one_statement(sql: str, params: dict[str, Any]) -> int | None:
    """Run one statement and read its single value; None if a constraint refused it.

    A refused statement wrote nothing. Inside a caller's transaction it runs in a savepoint,
    so the refusal does not break that transaction.
    """
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard, prepared_cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchone()
    except IntegrityError:
        return None
    return int(found[0]) if found else None


def _write(
    session: GameSession, outcome: Outcome, balance: int, now: datetime, why: Touch
) -> Touched:
    """Write what the state machine decided for a locked ACTIVE session."""
    if outcome.ending is not None:
        return _write_end(session, outcome.ending, now, why)
    return _write_refresh(session, outcome, balance, now, why)


def _write_end(
    session: GameSession, ending: lifecycle.Ending, now: datetime, why: Touch
) -> Touched:
    """Phase one of an end: the decision (ACTIVE → ENDING), written under the row lock."""
    duration = lifecycle.play_seconds(session.started_at, ending.play_until)
    n = GameSession.objects.filter(pk=session.pk, state=State.ACTIVE).update(
        state=State.ENDING,
        end_reason=ending.reason,
        end_due_at=ending.due_at,
        ended_at=now,
        play_until=ending.play_until,
        play_duration_sec=duration,
        updated_at=now,
    )
    if n != 1:  # pragma: no cover - the caller holds the row lock on an ACTIVE row
        raise RuntimeError(f"session {session.pk} was not ACTIVE under its own lock")
    session.state, session.end_reason, session.end_due_at = (
        State.ENDING,
        ending.reason,
        ending.due_at,
    )
    session.ended_at, session.play_until, session.play_duration_sec = (
        now,
        ending.play_until,
        duration,
    )
    _announce_late(session, ending.reason, now, why)
    reply = (
        None
        if ending.reason == why.requested_end
        else lifecycle.reply_for_finished(State.ENDED, ending.reason, why)
    )
    return Touched(session, reply, False, duration, decided_end=True)


def _write_refresh(
    session: GameSession, outcome: Outcome, balance: int, now: datetime, why: Touch
) -> Touched:
    """The session lives on: charge what it owes, move its deadline, record the beat."""
    charge_locked(session, outcome.take, balance, now)
    was_exhausted, previous_heartbeat = session.exhausted_at is not None, session.last_heartbeat_at
    session.coins_charged += outcome.take
    session.last_heartbeat_at = outcome.last_heartbeat_at
    session.exhausted_at, session.grace_until = outcome.exhausted_at, outcome.grace_until
    session.due_at = lifecycle.due_at(session.facts(), timers())
    session.heartbeat_count += 1 if why == Touch.HEARTBEAT else 0
    GameSession.objects.filter(pk=session.pk).update(
        coins_charged=session.coins_charged,
        last_heartbeat_at=session.last_heartbeat_at,
        exhausted_at=session.exhausted_at,
        grace_until=session.grace_until,
        due_at=session.due_at,
        heartbeat_count=session.heartbeat_count,
        updated_at=now,
    )
    if why == Touch.HEARTBEAT:
        _announce_heartbeat(session, previous_heartbeat, now)
    if outcome.exhausted and not was_exhausted:
        send_event_on_commit(session_event("exhausted", session, now))
    return Touched(
        session, None, outcome.exhausted, lifecycle.play_seconds(session.started_at, now)
    )


def _announce_heartbeat(session: GameSession, previous: datetime, now: datetime) -> None:
    gap = (now - previous).total_seconds()
    send_event_on_commit(session_event("heartbeat", session, now, gap=gap))


def _announce_late(session: GameSession, reason: EndReason, now: datetime, why: Touch) -> None:
    """A heartbeat that finds its session timed out is a late heartbeat."""
    if why == Touch.HEARTBEAT and reason == EndReason.HEARTBEAT_TIMEOUT:
        send_event_on_commit(session_event("heartbeat_late", session, now))


# --- Settlement (phase two of an end) ---------------------------------------------------------


def settle_locked(session: GameSession, now: datetime) -> bool:
    """Phase two: charge what play up to the end owes, then ENDING → ENDED. Idempotent."""
    if session.play_until is None:  # pragma: no cover - _write_end always sets it
        raise RuntimeError(f"ENDING session {session.pk} has no play_until")
    owed = lifecycle.coins_outstanding(session.facts(), session.play_until, timers())
    # Most ends owe nothing more (play up to the last heartbeat was paid at that heartbeat):
    # then the cafe row, shared by every session of the cafe, is left unlocked.
    balance = locked_balance(session.cafe_id) if owed else 0
    take = min(balance, owed)
    n = GameSession.objects.filter(pk=session.pk, state=State.ENDING).update(
        state=State.ENDED, coins_charged=F("coins_charged") + take, updated_at=now
    )
    if n != 1:
        return False
    charge_locked(session, take, balance, now)
    session.state = State.ENDED
    session.coins_charged += take
    send_event_on_commit(
        session_event(
            "ended",
            session,
            now,
            reason=session.end_reason,
            play_duration_sec=session.play_duration_sec,
            coins_charged=session.coins_charged,
            lag=(now - session.end_due_at).total_seconds() if session.end_due_at else 0.0,
            pc_id=session.pc_id,
        )
    )
    return True


def settle(session_pk: uuid.UUID, *, now: datetime, skip_locked: bool = False) -> bool:
    """Phase two of an end, in its own transaction; on failure the reaper retries it."""
    try:
        with transaction.atomic():
            session = lock_in_state(session_pk, State.ENDING, skip_locked=skip_locked)
            return session is not None and settle_locked(session, now)
    except DatabaseError:
        # The end is recorded (ENDING); its settlement is retried by the reaper.
        logger.exception("settlement of session %s failed; the reaper will retry", session_pk)
        return False


def lock_in_state(
    pk: uuid.UUID, state: State, *, skip_locked: bool, due_by: datetime | None = None
) -> GameSession | None:
    """Lock a session (with its launcher session and game) if it is in `state` (and due)."""
    found = GameSession.objects.filter(pk=pk, state=state)
    if due_by is not None:
        found = found.filter(due_at__lte=due_by)
    return (
        found.select_for_update(skip_locked=skip_locked, of=("self",))
        .select_related("launcher_session", "game")
        .order_by()
        .first()
    )
