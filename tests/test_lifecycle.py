"""The pure state machine: billing arithmetic and which end wins, with time as an argument."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from tiers import PURE_LIFECYCLE

from sessions.lifecycle import (
    EndReason,
    LauncherFacts,
    Reply,
    SessionFacts,
    State,
    Timers,
    Touch,
    coins_outstanding,
    reply_for_finished,
    touch,
    units_owed,
)

pytestmark = PURE_LIFECYCLE

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TIMERS = Timers()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def facts(**overrides: object) -> SessionFacts:
    base: dict[str, object] = {
        "started_at": T0,
        "last_heartbeat_at": T0,
        "rate": 10,
        "coins_charged": 10,
        "exhausted_at": None,
        "grace_until": None,
    }
    base.update(overrides)
    # Unless a test says otherwise, the launcher beat as recently as the game server.
    base.setdefault("launcher", LauncherFacts(last_heartbeat_at=base["last_heartbeat_at"]))  # type: ignore[arg-type]
    return SessionFacts(**base)  # type: ignore[arg-type]


def test_units_owed_counts_every_started_unit_and_at_least_one() -> None:
    assert units_owed(T0, T0, 60) == 1
    assert units_owed(T0, at(59), 60) == 1
    assert units_owed(T0, at(60), 60) == 1
    assert units_owed(T0, at(61), 60) == 2
    assert units_owed(T0, at(120), 60) == 2  # two units at exactly 120 s, not three


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=3600))
def test_units_owed_never_decreases_and_covers_play(elapsed: int, unit: int) -> None:
    owed = units_owed(T0, at(elapsed), unit)
    assert owed * unit >= elapsed
    assert owed <= units_owed(T0, at(elapsed + 1), unit)


def test_heartbeat_within_deadline_charges_what_is_outstanding() -> None:
    outcome = touch(facts(), 100, at(120), TIMERS, Touch.HEARTBEAT)
    assert outcome.ending is None
    assert outcome.take == 10
    assert outcome.last_heartbeat_at == at(120)


def test_heartbeat_at_deadline_is_the_expiry_counted_to_last_heartbeat() -> None:
    outcome = touch(
        facts(last_heartbeat_at=at(100), coins_charged=20), 100, at(340), TIMERS, Touch.HEARTBEAT
    )
    assert outcome.ending is not None
    assert outcome.ending.reason == EndReason.HEARTBEAT_TIMEOUT
    assert outcome.ending.play_until == at(100)
    assert outcome.take == 0  # play up to the last heartbeat was paid at that heartbeat


def test_the_earliest_due_end_wins() -> None:
    exhausted = facts(exhausted_at=at(60), grace_until=at(180), coins_charged=20)
    outcome = touch(exhausted, 0, at(400), TIMERS, Touch.REAP)
    assert outcome.ending is not None
    assert outcome.ending.reason == EndReason.CHARGE_EXHAUSTED  # due at 180, expiry at 240
    assert outcome.ending.play_until == at(180)


def test_launcher_silence_ends_with_play_counted_to_last_game_heartbeat() -> None:
    f = facts(last_heartbeat_at=at(120), launcher=LauncherFacts(last_heartbeat_at=at(10)))
    outcome = touch(f, 100, at(251), TIMERS, Touch.HEARTBEAT)
    assert outcome.ending is not None
    assert outcome.ending.reason == EndReason.LAUNCHER_TIMEOUT
    assert outcome.ending.play_until == at(120)


def test_closed_launcher_ends_game_session_as_launcher_closed() -> None:
    f = facts(launcher=LauncherFacts(last_heartbeat_at=T0, closed_at=at(30)))
    outcome = touch(f, 100, at(31), TIMERS, Touch.REAP)
    assert outcome.ending is not None
    assert outcome.ending.reason == EndReason.LAUNCHER_CLOSED


def test_topped_up_balance_rescues_a_session_whose_grace_is_over() -> None:
    f = facts(
        last_heartbeat_at=at(240), coins_charged=25, exhausted_at=at(240), grace_until=at(360)
    )
    outcome = touch(f, 1000, at(360), TIMERS, Touch.REAP)
    assert outcome.ending is None
    assert outcome.take == 35
    assert not outcome.exhausted


def test_requested_end_during_grace_is_normal() -> None:
    f = facts(
        last_heartbeat_at=at(240), coins_charged=25, exhausted_at=at(240), grace_until=at(360)
    )
    outcome = touch(f, 0, at(300), TIMERS, Touch.END_NORMAL)
    assert outcome.ending is not None
    assert outcome.ending.reason == EndReason.NORMAL
    assert outcome.take == 0


@given(
    balance=st.integers(min_value=0, max_value=500),
    charged=st.integers(min_value=0, max_value=100),
    seconds=st.integers(min_value=0, max_value=239),
)
def test_a_touch_never_takes_more_than_the_balance_or_than_is_owed(
    balance: int, charged: int, seconds: int
) -> None:
    f = facts(coins_charged=charged)
    outcome = touch(f, balance, at(seconds), TIMERS, Touch.HEARTBEAT)
    assert 0 <= outcome.take <= balance
    assert outcome.take <= coins_outstanding(f, at(seconds), TIMERS)
    assert outcome.exhausted == (outcome.take < coins_outstanding(f, at(seconds), TIMERS))


def test_replies_for_finished_sessions_follow_the_contract() -> None:
    timeout, replaced = EndReason.HEARTBEAT_TIMEOUT, EndReason.SESSION_REPLACE
    assert reply_for_finished(State.ENDED, timeout, Touch.HEARTBEAT) == Reply.SESSION_NOT_FOUND
    assert reply_for_finished(State.ENDED, timeout, Touch.END_NORMAL) == Reply.SESSION_NOT_FOUND
    assert reply_for_finished(State.ENDED, replaced, Touch.HEARTBEAT) == Reply.SESSION_REPLACED
    assert reply_for_finished(State.ENDED, replaced, Touch.CHECK) == Reply.SESSION_ENDED
    assert reply_for_finished(State.ENDED, replaced, Touch.END_NORMAL) == Reply.ALREADY_ENDED
    assert (
        reply_for_finished(State.ENDING, EndReason.NORMAL, Touch.HEARTBEAT) == Reply.SESSION_ENDING
    )
