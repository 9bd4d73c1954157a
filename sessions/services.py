"""Domain operations of the session service: every write goes through here.

Each operation takes the time (`now`) from its caller, locks rows in one fixed order
(OTT → game sessions → cafe) so concurrent writers cannot deadlock, asks the pure state machine
in `sessions.lifecycle` what happens, writes it in one transaction, and announces it after
commit through `sessions.events`.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F

from sessions import lifecycle
from sessions.errors import ApiError, ErrorCode
from sessions.events import SessionEvent, send_event_on_commit
from sessions.lifecycle import EndReason, Reply, State, Touch
from sessions.models import (
    PC,
    ApiKey,
    BalanceEntry,
    Cafe,
    CafeNetwork,
    Game,
    GameSession,
    LauncherSession,
    OneTimeToken,
    sha256_hex,
    timers,
)

logger = logging.getLogger(__name__)


# --- Provisioning ---------------------------------------------------------------------------


@transaction.atomic
def create_cafe(name: str, networks: list[str], *, balance: int = 0, now: datetime) -> Cafe:
    cafe = Cafe(name=name)
    cafe.full_clean(exclude=["launcher_key_id", "launcher_secret"])
    cafe.save()
    for cidr in networks:
        network = CafeNetwork(cafe=cafe, cidr=cidr)
        network.full_clean()
        network.save()
    if balance:
        topup(cafe.pk, balance, now=now, note="opening balance")
        cafe.refresh_from_db(fields=["balance"])
    return cafe


def topup(cafe_id: int, amount: int, *, now: datetime, note: str = "") -> int:
    """Add `amount` G-coin to a cafe's balance and record it; returns the new balance."""
    if amount <= 0:
        raise ValueError("a top-up must be a positive number of G-coin")
    with transaction.atomic():
        cafe = Cafe.objects.select_for_update().get(pk=cafe_id)
        return credit_locked(cafe, amount, now=now, note=note).balance_after


def credit_locked(
    cafe: Cafe,
    amount: int,
    *,
    now: datetime,
    note: str = "",
    actor: Any = None,
    idempotency_key: str | None = None,
) -> BalanceEntry:
    """Credit a cafe whose row the caller has locked (`select_for_update`) and record it."""
    cafe.balance += amount
    Cafe.objects.filter(pk=cafe.pk).update(balance=cafe.balance)
    send_event_on_commit(SessionEvent("topup", now, cafe_id=cafe.pk, data={"coins": amount}))
    return BalanceEntry.objects.create(
        cafe=cafe,
        kind=BalanceEntry.Kind.TOPUP,
        amount=amount,
        balance_after=cafe.balance,
        note=note,
        created_at=now,
        created_by=actor if getattr(actor, "pk", None) is not None else None,
        idempotency_key=idempotency_key,
    )


def _charge(cafe_id: int, session: GameSession, amount: int, balance: int, now: datetime) -> None:
    """Move `amount` from a cafe whose row the caller has locked (and read `balance` from)."""
    if amount <= 0:
        return
    Cafe.objects.filter(pk=cafe_id).update(balance=F("balance") - amount)
    BalanceEntry.objects.create(
        cafe_id=cafe_id,
        kind=BalanceEntry.Kind.CHARGE,
        amount=amount,
        balance_after=balance - amount,
        session=session,
        created_at=now,
    )
    send_event_on_commit(session_event("charged", session, now, coins=amount))


def _locked_balance(cafe_id: int) -> int:
    return Cafe.objects.select_for_update().values_list("balance", flat=True).get(pk=cafe_id)


# --- Launcher side (domain functions; the signed HTTP API sits on top of these) --------------


@dataclass(frozen=True)
class LauncherStart:
    session: LauncherSession
    token: str  # raw bearer token, only available now


def start_launcher_session(
    cafe: Cafe,
    hardware_id: str,
    *,
    now: datetime,
    hostname: str = "",
    internal_ip: str | None = None,
    launcher_version: str = "",
) -> LauncherStart:
    """Sign a PC in; any earlier launcher session on the PC ends (its game session with it)."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        pc, _ = PC.objects.get_or_create(
            cafe=cafe,
            hardware_id=hardware_id,
            defaults={"hostname": hostname, "internal_ip": internal_ip},
        )
        if (hostname and pc.hostname != hostname) or (
            internal_ip and pc.internal_ip != internal_ip
        ):
            PC.objects.filter(pk=pc.pk).update(
                hostname=hostname or pc.hostname, internal_ip=internal_ip or pc.internal_ip
            )
        for previous in LauncherSession.objects.filter(pc=pc, status=LauncherSession.Status.ACTIVE):
            end_launcher_session(previous, now=now, status=LauncherSession.Status.REPLACED)
        session = LauncherSession.objects.create(
            cafe=cafe,
            pc=pc,
            token_digest=sha256_hex(token),
            launcher_version=launcher_version,
            started_at=now,
            last_heartbeat_at=now,
        )
    return LauncherStart(session, token)


def heartbeat_launcher(launcher: LauncherSession, *, now: datetime) -> bool:
    """Record a launcher heartbeat; False if the launcher session is no longer alive."""
    # Decided by the row, not by the caller's copy: a dead launcher cannot be revived.
    n = LauncherSession.objects.filter(
        pk=launcher.pk,
        status=LauncherSession.Status.ACTIVE,
        last_heartbeat_at__gt=now - timedelta(seconds=settings.PLAYWAVE_LAUNCHER_TIMEOUT),
    ).update(last_heartbeat_at=now)
    if n == 1:
        launcher.last_heartbeat_at = now
    return n == 1


def end_launcher_session(
    launcher: LauncherSession,
    *,
    now: datetime,
    status: str = LauncherSession.Status.CLOSED,
) -> bool:
    """End a launcher session and the game sessions it vouches for (`launcher_closed`)."""
    with transaction.atomic():
        n = LauncherSession.objects.filter(
            pk=launcher.pk, status=LauncherSession.Status.ACTIVE
        ).update(status=status, ended_at=now)
        if n != 1:
            return False
        # Their next touch (the reaper's, at the latest) sees the launcher gone.
        GameSession.objects.active().filter(launcher_session=launcher).update(due_at=now)
    return True


def issue_ott(launcher: LauncherSession, game: Game, *, now: datetime) -> OneTimeToken:
    """Issue a one-time token for `game` on the launcher's PC."""
    if not launcher.is_alive(now):
        raise ApiError(ErrorCode.SESSION_ENDED, "the launcher session has ended")
    if not game.is_active:
        raise ApiError(ErrorCode.GAME_NOT_FOUND, f"no active game {game.slug!r}")
    cafe = Cafe.objects.get(pk=launcher.cafe_id)  # the balance as of now, not of sign-in
    if cafe.status != Cafe.Status.ACTIVE:
        raise ApiError(ErrorCode.NOT_CHARGEABLE, "the cafe is suspended")
    if cafe.balance < game.coins_per_minute:
        raise ApiError(
            ErrorCode.NOT_CHARGEABLE,
            f"the cafe's balance ({cafe.balance} G-coin) cannot pay one billing unit "
            f"of {game.slug} ({game.coins_per_minute} G-coin)",
        )
    return OneTimeToken.objects.create(
        game=game,
        launcher_session=launcher,
        issued_at=now,
        expires_at=now + timedelta(seconds=settings.PLAYWAVE_OTT_TTL),
    )


# --- Game-server side -------------------------------------------------------------------------


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
        return _verify_locked(game, ott_id, provider_user_id, now)


def _verify_locked(
    game: Game, ott_id: uuid.UUID, provider_user_id: str, now: datetime
) -> Verified | Refused:
    ott = (
        OneTimeToken.objects.select_for_update(of=("self",))
        .select_related("launcher_session__cafe")
        .filter(pk=ott_id)
        .order_by()
        .first()
    )
    # An unknown OTT looks exactly like an expired one, so OTTs cannot be probed.
    if ott is None or now >= ott.expires_at:
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
    cafe = launcher.cafe
    if cafe.status != Cafe.Status.ACTIVE or not launcher.is_alive(now):
        return Refused("NOT_CHARGEABLE")
    previous = list(
        GameSession.objects.select_for_update(of=("self",))
        .select_related("launcher_session", "game")
        .filter(pc_id=launcher.pc_id, state=State.ACTIVE)
    )
    balance = _locked_balance(cafe.pk)
    if balance < game.coins_per_minute:
        return Refused("NOT_CHARGEABLE")

    for old in previous:
        # Inside this transaction the replacement is decided and settled atomically.
        if _touch_locked(old, now, Touch.REPLACE).decided_end:
            _settle_locked(old, now)
    balance = _locked_balance(cafe.pk)  # replacement settlements may have charged the cafe

    session = GameSession(
        game=game,
        cafe=cafe,
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
    _apply(session, balance, now, Touch.CHECK)
    send_event_on_commit(
        session_event(
            "started", session, now, pc_id=launcher.pc_id, provider_user_id=provider_user_id
        )
    )
    return Verified(session.public_id)


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


def session_event(kind: str, session: GameSession, now: datetime, **data: Any) -> SessionEvent:
    return SessionEvent(
        kind,
        now,
        game=session.game.slug,
        session_id=session.public_id,
        cafe_id=session.cafe_id,
        data=data,
    )


def _apply(session: GameSession, balance: int, now: datetime, why: Touch) -> Touched:
    """Run the state machine on a locked ACTIVE session and write what it decided."""
    t = timers()
    facts = session.facts()
    previous_heartbeat = session.last_heartbeat_at
    outcome = lifecycle.touch(facts, balance, now, t, why)
    if outcome.ending is not None:
        _decide_end(session, outcome.ending, now)
        if why == Touch.HEARTBEAT and outcome.ending.reason == EndReason.HEARTBEAT_TIMEOUT:
            send_event_on_commit(session_event("heartbeat_late", session, now))
        reply = (
            None
            if outcome.ending.reason == why.requested_end
            else lifecycle.reply_for_finished(State.ENDED, outcome.ending.reason, why)
        )
        return Touched(session, reply, False, session.play_duration_sec or 0, decided_end=True)

    _charge(session.cafe_id, session, outcome.take, balance, now)
    was_exhausted = session.exhausted_at is not None
    session.coins_charged += outcome.take
    session.last_heartbeat_at = outcome.last_heartbeat_at
    session.exhausted_at = outcome.exhausted_at
    session.grace_until = outcome.grace_until
    refreshed = lifecycle.SessionFacts(
        started_at=session.started_at,
        last_heartbeat_at=outcome.last_heartbeat_at,
        rate=session.rate,
        coins_charged=session.coins_charged,
        exhausted_at=outcome.exhausted_at,
        grace_until=outcome.grace_until,
        launcher=facts.launcher,
    )
    session.due_at = lifecycle.due_at(refreshed, t)
    if why == Touch.HEARTBEAT:
        session.heartbeat_count += 1
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
        gap = (now - previous_heartbeat).total_seconds()
        send_event_on_commit(session_event("heartbeat", session, now, gap=gap))
    if outcome.exhausted and not was_exhausted:
        send_event_on_commit(session_event("exhausted", session, now))
    return Touched(
        session, None, outcome.exhausted, lifecycle.play_seconds(session.started_at, now)
    )


def _decide_end(session: GameSession, ending: lifecycle.Ending, now: datetime) -> None:
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
    session.state = State.ENDING
    session.end_reason = ending.reason
    session.end_due_at = ending.due_at
    session.ended_at = now
    session.play_until = ending.play_until
    session.play_duration_sec = duration


def _settle_locked(session: GameSession, now: datetime) -> bool:
    """Phase two: charge what play up to the end owes, then ENDING → ENDED. Idempotent."""
    if session.play_until is None:  # pragma: no cover - _decide_end always sets it
        raise RuntimeError(f"ENDING session {session.pk} has no play_until")
    owed = lifecycle.coins_outstanding(session.facts(), session.play_until, timers())
    # Most ends owe nothing more (play up to the last heartbeat was paid at that heartbeat):
    # then the cafe row, shared by every session of the cafe, is left unlocked.
    balance = _locked_balance(session.cafe_id) if owed else 0
    take = min(balance, owed)
    n = GameSession.objects.filter(pk=session.pk, state=State.ENDING).update(
        state=State.ENDED, coins_charged=F("coins_charged") + take, updated_at=now
    )
    if n != 1:
        return False
    _charge(session.cafe_id, session, take, balance, now)
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


def _touch_locked(session: GameSession, now: datetime, why: Touch) -> Touched:
    if session.state != State.ACTIVE:
        reason = EndReason(session.end_reason)
        if why == Touch.HEARTBEAT and reason == EndReason.HEARTBEAT_TIMEOUT:
            send_event_on_commit(session_event("heartbeat_late", session, now))
        reply = lifecycle.reply_for_finished(State(session.state), reason, why)
        return Touched(session, reply, False, session.play_duration_sec or 0)
    balance = 0
    if lifecycle.needs_balance(session.facts(), now, timers(), why):
        balance = _locked_balance(session.cafe_id)
    return _apply(session, balance, now, why)


def touch_locked(session: GameSession, now: datetime, why: Touch) -> Touched:
    """Touch a session the caller has locked; if `decided_end`, call `settle` after commit."""
    return _touch_locked(session, now, why)


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


_QUIET_FIELDS = (
    "provider_user_id",
    "state",
    "started_at",
    "last_heartbeat_at",
    "due_at",
    "rate",
    "coins_charged",
    "exhausted_at",
    "grace_until",
    "launcher_session__status",
    "launcher_session__last_heartbeat_at",
    "launcher_session__ended_at",
)


def _quiet_touch(
    game: Game, session_id: uuid.UUID, provider_user_id: str, now: datetime, why: Touch
) -> Touched | None:
    """The common heartbeat in two statements and no lock, or None to take the locked path.

    It applies only when the state machine says nothing happens but a refreshed deadline (no
    end due, nothing to charge, not in grace), and writes only if the row is as it was read:
    any concurrent writer (another heartbeat, an end, a launcher closing, the reaper) changes
    one of the compared columns, and then the locked path decides.
    """
    row = (
        GameSession.objects.filter(pk=session_id, game=game, state=State.ACTIVE)
        .order_by()
        .values(*_QUIET_FIELDS)
        .first()
    )
    if row is None or row["provider_user_id"] != provider_user_id:
        return None
    facts = lifecycle.SessionFacts(
        started_at=row["started_at"],
        last_heartbeat_at=row["last_heartbeat_at"],
        rate=row["rate"],
        coins_charged=row["coins_charged"],
        exhausted_at=row["exhausted_at"],
        grace_until=row["grace_until"],
        launcher=LauncherSession.facts_of(
            row["launcher_session__status"],
            row["launcher_session__last_heartbeat_at"],
            row["launcher_session__ended_at"],
        ),
    )
    t = timers()
    if facts.exhausted_at is not None:
        return None
    outcome = lifecycle.touch(facts, 0, now, t, why)
    if outcome.ending is not None or outcome.take or outcome.exhausted:
        return None
    due = lifecycle.due_at(replace(facts, last_heartbeat_at=outcome.last_heartbeat_at), t)
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
        heartbeat_count=F("heartbeat_count") + (1 if why == Touch.HEARTBEAT else 0),
        updated_at=now,
    )
    if n != 1:
        return None
    if why == Touch.HEARTBEAT:
        gap = (now - facts.last_heartbeat_at).total_seconds()
        send_event_on_commit(
            SessionEvent(
                "heartbeat",
                now,
                game=game.slug,
                session_id=f"gs_{session_id}",
                data={"gap": gap},
            )
        )
    session = GameSession(pk=session_id, game=game, started_at=facts.started_at)
    return Touched(session, None, False, lifecycle.play_seconds(facts.started_at, now))


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
    if why.refreshes_deadline and provider_user_id is not None:
        quiet = _quiet_touch(game, session_id, provider_user_id, now, why)
        if quiet is not None:
            return quiet
    with transaction.atomic():
        session = _lock_session(game, session_id, provider_user_id)
        if client_play_duration_sec is not None and session.state == State.ACTIVE:
            GameSession.objects.filter(pk=session.pk).update(
                client_play_duration_sec=client_play_duration_sec
            )
            session.client_play_duration_sec = client_play_duration_sec
        touched = _touch_locked(session, now, why)
    if touched.decided_end:
        settle(touched.session.pk, now=now)
    return touched


def settle(session_pk: uuid.UUID, *, now: datetime, skip_locked: bool = False) -> bool:
    """Phase two of an end, in its own transaction; on failure the reaper retries it."""
    try:
        with transaction.atomic():
            session = (
                GameSession.objects.select_for_update(skip_locked=skip_locked, of=("self",))
                .select_related("launcher_session", "game")
                .filter(pk=session_pk, state=State.ENDING)
                .order_by()
                .first()
            )
            return session is not None and _settle_locked(session, now)
    except DatabaseError:
        # The end is recorded (ENDING); its settlement is retried by the reaper.
        logger.exception("settlement of session %s failed; the reaper will retry", session_pk)
        return False


# --- Reaper -----------------------------------------------------------------------------------


@dataclass
class ReapReport:
    ended: int = 0
    touched: int = 0
    launchers_timed_out: int = 0
    settled: int = 0

    @property
    def total(self) -> int:
        return self.ended + self.touched + self.launchers_timed_out + self.settled


def reap_once(*, now: datetime, batch: int) -> ReapReport:
    """One reaper pass: time out dead launchers, end due sessions, settle stranded ENDINGs."""
    report = ReapReport()
    launcher_limit = now - timedelta(seconds=settings.PLAYWAVE_LAUNCHER_TIMEOUT)
    dead = list(
        LauncherSession.objects.filter(
            status=LauncherSession.Status.ACTIVE, last_heartbeat_at__lte=launcher_limit
        ).values_list("pk", flat=True)[:batch]
    )
    for pk in dead:
        with transaction.atomic():
            n = LauncherSession.objects.filter(
                pk=pk, status=LauncherSession.Status.ACTIVE, last_heartbeat_at__lte=launcher_limit
            ).update(status=LauncherSession.Status.TIMED_OUT, ended_at=now)
            if n == 1:
                report.launchers_timed_out += 1
                GameSession.objects.active().filter(launcher_session_id=pk).update(due_at=now)

    due_ids = list(
        GameSession.objects.due(now).order_by("due_at").values_list("pk", flat=True)[:batch]
    )
    for pk in due_ids:
        with transaction.atomic():
            # skip_locked: another reaper or a request holds it and will finish it.
            session = (
                GameSession.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("launcher_session", "game")
                .filter(pk=pk, state=State.ACTIVE)
                .order_by()
                .first()
            )
            if session is None:
                continue
            # Decided and settled in one transaction: a reaper killed here leaves the session
            # ACTIVE and due, and the next pass redoes it.
            if _touch_locked(session, now, Touch.REAP).decided_end:
                _settle_locked(session, now)
                report.ended += 1
            else:
                report.touched += 1

    stranded = list(
        GameSession.objects.filter(state=State.ENDING).values_list("pk", flat=True)[:batch]
    )
    for pk in stranded:
        if settle(pk, now=now, skip_locked=True):
            report.settled += 1
    return report


def forget_api_keys() -> None:
    """Drop this process's key cache: a revocation takes effect here at once."""
    from sessions.keys import api_keys

    api_keys.clear()


def revoke_api_key(key_id: str, *, now: datetime) -> ApiKey:
    """Revoke a key: this process refuses it at once, others within the key-cache TTL."""
    key = ApiKey.objects.get(key_id=key_id)
    if key.revoked_at is None:
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
        key.refresh_from_db(fields=["revoked_at"])
    forget_api_keys()
    return key


@dataclass(frozen=True)
class SettlementRow:
    game: str
    cafe_id: int
    cafe: str
    sessions: int
    play_seconds: int
    coins: int


def settlement(
    start: datetime, end: datetime, *, cafe_id: int | None = None
) -> list[SettlementRow]:
    """Per game and cafe, the sessions that ended in [start, end): count, play time, G-coin."""
    from django.db.models import Count, Sum

    ended = GameSession.objects.filter(state=State.ENDED, ended_at__gte=start, ended_at__lt=end)
    if cafe_id is not None:
        ended = ended.filter(cafe_id=cafe_id)
    # Summed by ids alone (an index-only scan on PostgreSQL); names are looked up after.
    rows = list(
        ended.order_by()
        .values("game_id", "cafe_id")
        .annotate(n=Count("id"), play=Sum("play_duration_sec"), coins=Sum("coins_charged"))
    )
    games = dict(Game.objects.filter(pk__in={r["game_id"] for r in rows}).values_list("pk", "slug"))
    cafes = dict(Cafe.objects.filter(pk__in={r["cafe_id"] for r in rows}).values_list("pk", "name"))
    result = [
        SettlementRow(
            games[r["game_id"]],
            r["cafe_id"],
            cafes[r["cafe_id"]],
            r["n"],
            r["play"] or 0,
            r["coins"] or 0,
        )
        for r in rows
    ]
    result.sort(key=lambda r: (r.game, r.cafe, r.cafe_id))
    return result
