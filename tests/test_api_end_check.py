"""DELETE /v1/game/session/end and POST /v1/game/session/check."""

from __future__ import annotations

import pytest
from personas import CafePC, Clock, GameServer, GameWithKey, ledger_balanced, reap, session_row

from sessions import launchers

pytestmark = pytest.mark.django_db


def test_end_records_normal_end_with_server_play_time(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby)
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(100))
    clock.at(150)
    response = server.end(gs, play_duration_sec=149)
    assert response.status_code == 200
    assert response.json()["data"] == {
        "result": "SUCCESS",
        "play_duration_sec": 150,
        "client_play_duration_sec": 149,
    }
    row = session_row(gs)
    assert (row.state, row.end_reason, row.client_play_duration_sec) == ("ENDED", "normal", 149)
    assert row.coins_charged == 30  # three started minutes at 10
    assert pc.refresh().cafe.balance == 970
    assert ledger_balanced(pc.cafe)


def test_end_without_client_duration_echoes_null(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    assert server.end(gs).json()["data"]["client_play_duration_sec"] is None


def test_end_with_server_shutdown_reason_is_recorded(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    assert server.end(gs, reason="server_shutdown").status_code == 200
    assert session_row(gs).end_reason == "server_shutdown"


def test_second_end_is_409_already_ended(server: GameServer, pc: CafePC, obby: GameWithKey) -> None:
    gs = server.start(pc, obby)
    server.end(gs)
    response = server.end(gs)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ALREADY_ENDED"


def test_end_of_replaced_session_is_409(server: GameServer, pc: CafePC, obby: GameWithKey) -> None:
    old = server.start(pc, obby)
    server.start(pc, obby, user="2002")
    assert server.end(old).status_code == 409


def test_end_of_expired_session_is_404(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby)
    reap(clock.at(241))
    response = server.end(gs)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "SESSION_NOT_FOUND"


def test_end_of_unknown_or_other_games_session_is_404(
    server: GameServer, tycoon_server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    assert tycoon_server.end(gs).status_code == 404
    assert server.end("gs_550e8400-e29b-41d4-a716-446655440000").status_code == 404
    assert session_row(gs).state == "ACTIVE"


@pytest.mark.parametrize(
    "extra",
    [{"play_duration_sec": -1}, {"play_duration_sec": "10"}, {"reason": "crashed"}],
)
def test_end_with_bad_fields_is_400_and_keeps_the_session(
    server: GameServer, pc: CafePC, obby: GameWithKey, extra: dict
) -> None:
    gs = server.start(pc, obby)
    assert server.end(gs, **extra).status_code == 400
    assert session_row(gs).state == "ACTIVE"


def test_check_after_teleport_refreshes_deadline_without_new_session(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby)
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(150))
    clock.at(200)
    response = server.check(gs)
    assert response.status_code == 200
    assert response.json()["data"] == {"is_valid": True, "game_session_id": gs, "is_pc_cafe": True}
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(300))
    reap(clock.at(420))  # would have expired at 240 without the check
    row = session_row(gs)
    assert row.state == "ACTIVE"
    assert row.coins_charged == 40  # billing went on: four started minutes at 200 s
    assert pc.cafe.game_sessions.count() == 1


def test_check_of_ended_session_is_410(server: GameServer, pc: CafePC, obby: GameWithKey) -> None:
    gs = server.start(pc, obby)
    server.end(gs)
    assert server.check(gs).json()["error"]["code"] == "SESSION_ENDED"


def test_check_of_other_users_session_is_404(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    assert server.check(gs, user="9").status_code == 404


def test_end_accepts_an_integral_float_duration_from_luau(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    response = server.end(gs, play_duration_sec=1795.0)
    assert response.json()["data"]["client_play_duration_sec"] == 1795
    assert server.end(server.start(pc, obby, user="2"), play_duration_sec=1.5).status_code == 400
