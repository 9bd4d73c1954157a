"""The game-session state machine and billing arithmetic, free of Django and I/O.

Every function takes the time as an argument and returns what should happen; the domain modules
(`sessions.game_sessions`, `sessions.launchers`, `sessions.reaper`) load rows, call `decide`, and
write the result in one transaction.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import overload


class State(enum.StrEnum):
    ACTIVE = "ACTIVE"
    ENDING = "ENDING"
    ENDED = "ENDED"


class EndReason(enum.StrEnum):
    NORMAL = "normal"
    SERVER_SHUTDOWN = "server_shutdown"
    HEARTBEAT_TIMEOUT = "heartbeat_timeout"
    SESSION_REPLACE = "session_replace"
    LAUNCHER_TIMEOUT = "launcher_timeout"
    LAUNCHER_CLOSED = "launcher_closed"
    CHARGE_EXHAUSTED = "charge_exhausted"
    OPERATOR = "operator"  # an operator ended it (admin or dashboard)


class Touch(enum.Enum):
    """Why a session is being looked at; decides what "no end is due" leads to."""

    HEARTBEAT = "heartbeat"
    CHECK = "check"
    END_NORMAL = "end_normal"
    END_SHUTDOWN = "end_shutdown"
    END_OPERATOR = "end_operator"
    REPLACE = "replace"
    REAP = "reap"

    @property
    def refreshes_deadline(self) -> bool:
        return self in (Touch.HEARTBEAT, Touch.CHECK)

    @property
    def requested_end(self) -> EndReason | None:
        return _REQUESTED_END.get(self)


_REQUESTED_END = {
    Touch.END_NORMAL: EndReason.NORMAL,
    Touch.END_SHUTDOWN: EndReason.SERVER_SHUTDOWN,
    Touch.END_OPERATOR: EndReason.OPERATOR,
    Touch.REPLACE: EndReason.SESSION_REPLACE,
}


@dataclass(frozen=True)
class Timers:
    session_timeout: int = 240
    grace_period: int = 120
    billing_unit: int = 60
    launcher_timeout: int = 240


@dataclass(frozen=True)
class LauncherFacts:
    last_heartbeat_at: datetime
    closed_at: datetime | None = None  # set when the launcher ended (or was replaced on its PC)


@dataclass(frozen=True)
class SessionFacts:
    """What the state machine needs to know about one ACTIVE session."""

    started_at: datetime
    last_heartbeat_at: datetime
    rate: int  # coins per billing unit, fixed at verify
    coins_charged: int
    exhausted_at: datetime | None
    grace_until: datetime | None
    launcher: LauncherFacts


@dataclass(frozen=True)
class Ending:
    reason: EndReason
    play_until: datetime  # the moment play time is counted up to
    due_at: datetime  # when the end became due (for the reaper's lag)


@dataclass(frozen=True)
class Outcome:
    """The result of touching an ACTIVE session at `now`."""

    take: int  # coins to move from the cafe's balance to this session
    ending: Ending | None
    last_heartbeat_at: datetime
    exhausted_at: datetime | None
    grace_until: datetime | None
    # Whether the cafe's balance shaped this outcome: a decision taken on a balance that has
    # changed since must be taken again; one that did not use it stands whatever the balance.
    used_balance: bool = False

    @property
    def exhausted(self) -> bool:
        return self.exhausted_at is not None


def units_owed(started_at: datetime, until: datetime, billing_unit: int) -> int:
    """Billing units owed after playing from `started_at` to `until`: every started unit."""
    elapsed = max(0.0, (until - started_at).total_seconds())
    return max(1, math.ceil(elapsed / billing_unit))


def coins_outstanding(facts: SessionFacts, until: datetime, timers: Timers) -> int:
    """Coins owed for play up to `until` that have not been charged yet."""
    owed = units_owed(facts.started_at, until, timers.billing_unit) * facts.rate
    return max(0, owed - facts.coins_charged)


def play_seconds(started_at: datetime, play_until: datetime) -> int:
    return max(0, int((play_until - started_at).total_seconds()))


def deadline(facts: SessionFacts, timers: Timers) -> datetime:
    return facts.last_heartbeat_at + timedelta(seconds=timers.session_timeout)


def due_at(facts: SessionFacts, timers: Timers) -> datetime:
    """The earliest moment the reaper must look at this session (launcher death aside)."""
    candidates = [deadline(facts, timers)]
    if facts.grace_until is not None:
        candidates.append(facts.grace_until)
    return min(candidates)


def launcher_cutoff(now: datetime, timers: Timers) -> datetime:
    """The launcher-liveness rule: a launcher last heard at or before this moment is dead.

    Alive means ACTIVE and heard within `launcher_timeout`; queries filter on
    `last_heartbeat_at > launcher_cutoff(now)` (alive) or `<=` (dead), Python code asks
    `launcher_alive`, and the state machine ends a session at `launcher_dead_at`.
    """
    return now - timedelta(seconds=timers.launcher_timeout)


def launcher_dead_at(last_heartbeat_at: datetime, timers: Timers) -> datetime:
    return last_heartbeat_at + timedelta(seconds=timers.launcher_timeout)


def launcher_alive(
    active: bool, last_heartbeat_at: datetime, now: datetime, timers: Timers
) -> bool:
    return active and last_heartbeat_at > launcher_cutoff(now, timers)


def _due_ending(facts: SessionFacts, balance: int, now: datetime, timers: Timers) -> Ending | None:
    candidates: list[Ending] = []
    expiry = deadline(facts, timers)
    if now >= expiry:
        candidates.append(Ending(EndReason.HEARTBEAT_TIMEOUT, facts.last_heartbeat_at, expiry))
    launcher = facts.launcher
    if launcher.closed_at is not None and launcher.closed_at <= now:
        candidates.append(
            Ending(EndReason.LAUNCHER_CLOSED, facts.last_heartbeat_at, launcher.closed_at)
        )
    else:
        dead_at = launcher_dead_at(launcher.last_heartbeat_at, timers)
        if now >= dead_at:
            candidates.append(Ending(EndReason.LAUNCHER_TIMEOUT, facts.last_heartbeat_at, dead_at))
    # A top-up that landed during the grace rescues the session at its next touch.
    grace_until = facts.grace_until
    if (
        grace_until is not None
        and now >= grace_until
        and balance < coins_outstanding(facts, now, timers)
    ):
        candidates.append(Ending(EndReason.CHARGE_EXHAUSTED, grace_until, grace_until))
    if not candidates:
        return None
    # What happened first is what ended the session; play never counts past the end's due time.
    first = min(candidates, key=lambda e: e.due_at)
    return replace(first, play_until=max(facts.started_at, min(first.play_until, first.due_at)))


def touch(facts: SessionFacts, balance: int, now: datetime, timers: Timers, why: Touch) -> Outcome:
    """Decide what happens to an ACTIVE session touched at `now`, and what it is charged."""
    ending = _due_ending(facts, balance, now, timers)
    if ending is None and why.requested_end is not None:
        ending = Ending(why.requested_end, now, now)
    if ending is not None:
        take = min(balance, coins_outstanding(facts, ending.play_until, timers))
        return Outcome(
            take=take,
            ending=ending,
            last_heartbeat_at=facts.last_heartbeat_at,
            exhausted_at=facts.exhausted_at,
            grace_until=facts.grace_until,
            # Only an exhausted session's end depends on the balance (a top-up rescues it).
            used_balance=facts.exhausted_at is not None,
        )
    due = coins_outstanding(facts, now, timers)
    take = min(balance, due)
    exhausted_at, grace_until = facts.exhausted_at, facts.grace_until
    if take < due and exhausted_at is None:
        exhausted_at, grace_until = now, now + timedelta(seconds=timers.grace_period)
    elif take == due and exhausted_at is not None:
        exhausted_at = grace_until = None
    return Outcome(
        take=take,
        ending=None,
        last_heartbeat_at=now if why.refreshes_deadline else facts.last_heartbeat_at,
        exhausted_at=exhausted_at,
        grace_until=grace_until,
        used_balance=due > 0 or facts.exhausted_at is not None,
    )


@dataclass(frozen=True)
class NeedsBalance:
    """`decide`'s answer when the cafe's balance may change the outcome."""


NEEDS_BALANCE = NeedsBalance()


@overload
def decide(
    facts: SessionFacts, balance: int, now: datetime, timers: Timers, why: Touch
) -> Outcome: ...


@overload
def decide(
    facts: SessionFacts, balance: None, now: datetime, timers: Timers, why: Touch
) -> Outcome | NeedsBalance: ...


def decide(
    facts: SessionFacts, balance: int | None, now: datetime, timers: Timers, why: Touch
) -> Outcome | NeedsBalance:
    """The one step a touch of an ACTIVE session runs.

    Called without the balance (None) it answers NEEDS_BALANCE when the balance matters: the
    session is exhausted (a top-up may rescue it), or coins are owed and no end is due
    regardless of the balance. The shell then reads (and locks) the cafe's balance and decides
    again with it — so a touch decides once, twice when the balance matters. A shell that read
    the balance already passes it and decides once.
    """
    outcome = touch(facts, 0 if balance is None else balance, now, timers, why)
    if balance is None and outcome.used_balance:
        return NEEDS_BALANCE
    return outcome


class Reply(enum.StrEnum):
    """What a game server is told about a session that is not (or no longer) ACTIVE.

    The answer on the wire (result or error code, HTTP status) is `sessions.api.views.REPLIES`.
    """

    SESSION_REPLACED = "SESSION_REPLACED"  # heartbeat only
    SESSION_NOT_FOUND = "SESSION_NOT_FOUND"
    SESSION_ENDED = "SESSION_ENDED"
    SESSION_ENDING = "SESSION_ENDING"
    ALREADY_ENDED = "ALREADY_ENDED"  # end only


def reply_for_finished(state: State, reason: EndReason | None, why: Touch) -> Reply:
    """The answer to a heartbeat, check or end that finds the session ENDING or ENDED."""
    if reason == EndReason.HEARTBEAT_TIMEOUT:
        # An expired session is indistinguishable from an unknown one to the game server.
        return Reply.SESSION_NOT_FOUND
    if why in (Touch.END_NORMAL, Touch.END_SHUTDOWN, Touch.END_OPERATOR):
        return Reply.ALREADY_ENDED
    if state == State.ENDING:
        return Reply.SESSION_ENDING
    if reason == EndReason.SESSION_REPLACE and why == Touch.HEARTBEAT:
        return Reply.SESSION_REPLACED
    return Reply.SESSION_ENDED
