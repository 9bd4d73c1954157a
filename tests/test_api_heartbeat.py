"""PATCH /v1/game/session/heartbeat: results, errors and the launcher check."""

from __future__ import annotations

import pytest
from personas import CafePC, Clock, GameServer, GameWithKey, reap, session_row

from sessions import launchers
from sessions.models import LauncherSession

pytestmark = pytest.mark.django_db


def test_heartbeat_answers_ok_with_interval_and_play_time(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby)
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(100))
    clock.at(120)
    response = server.heartbeat(gs)
    assert response.status_code == 200
    assert response.json()["data"] == {
        "result": "OK",
        "next_heartbeat_in": 120,
        "play_duration_sec": 120,
    }
    row = session_row(gs)
    assert row.last_heartbeat_at == clock.now
    assert row.heartbeat_count == 1


def test_heartbeat_pushes_the_deadline_forward(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby)
    for t in (120, 240, 360):
        launchers.heartbeat_launcher(pc.launcher, now=clock.at(t - 1))
        clock.at(t)
        assert server.heartbeat(gs).json()["data"]["result"] == "OK"
    reap(clock.at(500))
    assert session_row(gs).state == "ACTIVE"


def test_heartbeat_after_deadline_returns_404_and_ends_as_timeout(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby)
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(119))
    clock.at(120)
    server.heartbeat(gs)
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(300))
    clock.at(360)  # deadline was 120 + 240
    response = server.heartbeat(gs)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "SESSION_NOT_FOUND"
    row = session_row(gs)
    assert row.end_reason == "heartbeat_timeout"
    assert row.play_duration_sec == 120  # counted to the last heartbeat


def test_heartbeat_for_unknown_session_is_404(server: GameServer, pc: CafePC) -> None:
    response = server.heartbeat("gs_550e8400-e29b-41d4-a716-446655440000")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "SESSION_NOT_FOUND"


def test_heartbeat_with_another_users_id_is_404_and_changes_nothing(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby, user="1001")
    clock.at(60)
    assert server.heartbeat(gs, user="6666").status_code == 404
    assert session_row(gs).last_heartbeat_at != clock.now


def test_heartbeat_with_another_games_key_is_404(
    server: GameServer, tycoon_server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    assert tycoon_server.heartbeat(gs).status_code == 404
    assert session_row(gs).state == "ACTIVE"


def test_heartbeat_after_normal_end_is_410_session_ended(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    server.end(gs)
    response = server.heartbeat(gs)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "SESSION_ENDED"


def test_heartbeat_on_silent_launcher_ends_session_as_launcher_timeout(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby)  # the launcher last beat at 0
    clock.at(120)
    assert server.heartbeat(gs).json()["data"]["result"] == "OK"
    clock.at(241)
    response = server.heartbeat(gs)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "SESSION_ENDED"
    row = session_row(gs)
    assert row.end_reason == "launcher_timeout"
    assert row.play_duration_sec == 120  # the last game heartbeat


def test_heartbeat_after_launcher_closed_is_410_launcher_closed(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby)
    clock.at(120)
    server.heartbeat(gs)
    launchers.end_launcher_session(pc.launcher, now=clock.at(150))
    clock.at(200)
    assert server.heartbeat(gs).status_code == 410
    row = session_row(gs)
    assert row.end_reason == "launcher_closed"
    assert row.play_duration_sec == 120


def test_new_launcher_on_the_pc_closes_the_old_one_and_its_game_session(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby)
    clock.at(30)
    launchers.start_launcher_session(pc.cafe, "PC-01", now=clock.now)
    pc.launcher.refresh_from_db()
    assert pc.launcher.status == LauncherSession.Status.REPLACED
    reap(clock.now)
    assert session_row(gs).end_reason == "launcher_closed"


def test_heartbeat_on_an_ending_session_is_410_session_ending(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    # A settlement write that failed leaves the decided end in ENDING.
    session_row(gs).__class__.objects.filter(pk=gs[3:]).update(state="ENDING", end_reason="normal")
    response = server.heartbeat(gs)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "SESSION_ENDING"


def test_a_write_racing_the_unlocked_heartbeat_sends_it_down_the_locked_path(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The launcher closes between the heartbeat's read and its write: its end is not lost."""
    from sessions import launchers, lifecycle

    gs = server.start(pc, obby)
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(50))
    clock.at(60)
    real_touch = lifecycle.touch
    raced = []

    def touch_while_launcher_closes(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not raced:
            raced.append(True)
            launchers.end_launcher_session(pc.launcher, now=clock.now)
        return real_touch(*args, **kwargs)

    monkeypatch.setattr(lifecycle, "touch", touch_while_launcher_closes)
    response = server.heartbeat(gs)
    assert response.status_code == 410
    row = session_row(gs)
    assert (row.state, row.end_reason) == ("ENDED", "launcher_closed")
