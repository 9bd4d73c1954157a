"""POST /v1/game/session/verify: every row of the contract's table, and its effects."""

from __future__ import annotations

import re
import uuid

import pytest
from personas import CafePC, Clock, GameServer, GameWithKey, ledger_balanced, session_row

from sessions import launchers
from sessions.models import BalanceEntry, Cafe, GameSession

pytestmark = pytest.mark.django_db


def test_verify_starts_an_active_session_and_charges_the_first_unit(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    response = server.verify(pc.ott(obby), "123456789")

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert re.fullmatch(r"req_[0-9a-f]{32}", body["request_id"])
    assert response["X-Request-Id"] == body["request_id"]
    data = body["data"]
    assert data["is_valid"] is True and data["is_pc_cafe"] is True
    gs = data["game_session_id"]
    assert re.fullmatch(r"gs_[0-9a-f-]{36}", gs)
    assert uuid.UUID(gs[3:]).version == 4
    row = session_row(gs)
    assert row.state == "ACTIVE" and row.provider_user_id == "123456789"
    assert row.pc == pc.launcher.pc and row.cafe == pc.cafe
    assert pc.refresh().cafe.balance == 990
    assert ledger_balanced(pc.cafe)


def test_verify_accepts_the_ott_without_its_prefix(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    bare = pc.ott(obby).removeprefix("playwave_")
    assert server.verify(bare).json()["data"]["is_valid"] is True


def test_unknown_ott_looks_expired(server: GameServer, pc: CafePC) -> None:
    response = server.verify(str(uuid.uuid4()))
    assert response.status_code == 200
    assert response.json()["data"] == {"is_valid": False, "reason": "OTT_EXPIRED"}


def test_ott_older_than_sixty_seconds_is_expired(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    ott = pc.ott(obby)
    clock.at(60)
    assert server.verify(ott).json()["data"] == {"is_valid": False, "reason": "OTT_EXPIRED"}
    assert not GameSession.objects.exists()


def test_ott_for_another_game_is_a_mismatch(
    tycoon_server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    response = tycoon_server.verify(pc.ott(obby))
    assert response.json()["data"] == {"is_valid": False, "reason": "GAME_MISMATCH"}
    assert not GameSession.objects.exists()


def test_used_ott_with_another_user_is_already_used(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    ott = pc.ott(obby)
    server.verify(ott, "1001")
    response = server.verify(ott, "2002")
    assert response.json()["data"] == {"is_valid": False, "reason": "OTT_ALREADY_USED"}
    assert GameSession.objects.count() == 1


def test_retried_verify_returns_the_same_session_without_a_second_charge(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    ott = pc.ott(obby)
    first = server.verify(ott, "1001").json()["data"]
    clock.at(30)
    again = server.verify(ott, "1001").json()["data"]
    assert again == first
    assert GameSession.objects.count() == 1
    assert pc.refresh().cafe.balance == 990


def test_retry_after_the_otts_life_is_expired(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    ott = pc.ott(obby)
    server.verify(ott, "1001")
    clock.at(61)
    assert server.verify(ott, "1001").json()["data"]["reason"] == "OTT_EXPIRED"


def test_cafe_that_cannot_pay_one_unit_is_not_chargeable(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    ott = pc.ott(obby)
    Cafe.objects.filter(pk=pc.cafe.pk).update(balance=9)
    BalanceEntry.objects.filter(cafe=pc.cafe).update(amount=9, balance_after=9)
    assert server.verify(ott).json()["data"] == {"is_valid": False, "reason": "NOT_CHARGEABLE"}
    assert not GameSession.objects.exists()
    assert pc.refresh().cafe.balance == 9


def test_suspended_cafe_is_not_chargeable(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    ott = pc.ott(obby)
    Cafe.objects.filter(pk=pc.cafe.pk).update(status=Cafe.Status.SUSPENDED)
    assert server.verify(ott).json()["data"]["reason"] == "NOT_CHARGEABLE"


def test_ott_from_an_ended_launcher_is_not_chargeable(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    ott = pc.ott(obby)
    launchers.end_launcher_session(pc.launcher, now=clock.at(5))
    assert server.verify(ott).json()["data"]["reason"] == "NOT_CHARGEABLE"
    assert not GameSession.objects.exists()


def test_verify_replaces_the_active_session_on_the_same_pc(
    server: GameServer,
    tycoon_server: GameServer,
    pc: CafePC,
    obby: GameWithKey,
    tycoon: GameWithKey,
    clock: Clock,
) -> None:
    old = server.start(pc, obby)
    clock.at(90)
    new = tycoon_server.start(pc, tycoon)

    old_row = session_row(old)
    assert old_row.state == "ENDED" and old_row.end_reason == "session_replace"
    assert old_row.play_duration_sec == 90
    assert session_row(new).state == "ACTIVE"
    heartbeat = server.heartbeat(old).json()
    assert heartbeat["data"]["result"] == "SESSION_REPLACED"
    assert ledger_balanced(pc.cafe)


def test_sessions_on_other_pcs_are_left_alone(
    server: GameServer, pc: CafePC, pc2: CafePC, obby: GameWithKey
) -> None:
    first = server.start(pc, obby)
    server.start(pc2, obby)
    assert session_row(first).state == "ACTIVE"


@pytest.mark.parametrize(
    "body",
    [
        {"provider_user_id": "1"},
        {"ott": "not-a-uuid", "provider_user_id": "1"},
        {"ott": "playwave_123", "provider_user_id": "1"},
        {"ott": str(uuid.uuid4())},
        {"ott": str(uuid.uuid4()), "provider_user_id": 123},
        {"ott": str(uuid.uuid4()), "provider_user_id": ""},
        {"ott": 5, "provider_user_id": "1"},
    ],
)
def test_malformed_verify_is_bad_request(server: GameServer, pc: CafePC, body: dict) -> None:
    response = server.call("POST", "/v1/game/session/verify", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BAD_REQUEST"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", error["timestamp"])
    assert not GameSession.objects.exists()
