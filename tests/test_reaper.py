"""The reaper: one iteration at a time, due-time precision, crash safety."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from personas import CafePC, Clock, GameServer, GameWithKey, ledger_balanced, reap, session_row

from sessions import launchers
from sessions.lifecycle import State
from sessions.models import GameSession, LauncherSession
from sessions.reaper import Reaper

pytestmark = pytest.mark.django_db


def test_reaper_ends_a_silent_session_at_its_deadline_not_before(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby)
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(200))
    reap(clock.at(239))
    assert session_row(gs).state == "ACTIVE"
    report = reap(clock.at(240))
    assert report.ended == 1
    row = session_row(gs)
    assert (row.state, row.end_reason, row.play_duration_sec) == ("ENDED", "heartbeat_timeout", 0)
    assert server.heartbeat(gs).status_code == 404


def test_reaper_times_out_dead_launchers_and_their_game_sessions(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby)
    clock.at(120)
    server.heartbeat(gs)
    report = reap(clock.at(240))
    assert report.launchers_timed_out == 1
    pc.launcher.refresh_from_db()
    assert pc.launcher.status == LauncherSession.Status.TIMED_OUT
    row = session_row(gs)
    assert (row.end_reason, row.play_duration_sec) == ("launcher_timeout", 120)


def test_reaper_closes_game_sessions_of_a_closed_launcher(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby)
    launchers.end_launcher_session(pc.launcher, now=clock.at(30))
    reap(clock.at(31))
    assert session_row(gs).end_reason == "launcher_closed"


def test_reaper_leaves_healthy_sessions_alone(
    server: GameServer, pc: CafePC, pc2: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    a, b = server.start(pc, obby), server.start(pc2, obby, user="2")
    report = reap(clock.at(100))
    assert report.total == 0
    assert {session_row(a).state, session_row(b).state} == {"ACTIVE"}


def test_reaper_finishes_a_settlement_a_crash_left_in_ending(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby)
    # A writer that decided the end at 150 s and died before settling it:
    GameSession.objects.filter(pk=gs[3:]).update(
        state=State.ENDING, end_reason="normal", play_until=clock.at(150), play_duration_sec=150
    )
    assert server.heartbeat(gs).json()["error"]["code"] == "SESSION_ENDING"
    report = reap(clock.at(151))
    assert report.settled == 1
    row = session_row(gs)
    assert (row.state, row.coins_charged) == ("ENDED", 30)
    assert ledger_balanced(pc.cafe)
    assert reap(clock.at(152)).settled == 0  # settled once, charged once


def test_batches_report_more_work_when_full(
    server: GameServer, pc: CafePC, pc2: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    server.start(pc, obby)
    server.start(pc2, obby, user="2")
    reaper = Reaper(batch=1, clock=lambda: clock.at(1000))
    assert reaper.iterate() is True
    assert reaper.iterate() is True
    assert reaper.iterate() is False
    assert GameSession.objects.filter(state="ENDED").count() == 2


def test_run_reaper_once_prints_its_pass(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    server.start(pc, obby)
    clock.at(1000)
    out = StringIO()
    call_command("run_reaper", "--once", stdout=out)
    assert "ended 1" in out.getvalue()
