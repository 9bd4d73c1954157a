"""Bad input anywhere under /v1: the documented envelope, never HTML, never a changed row."""

from __future__ import annotations

import json

import pytest
from django.db import DataError, OperationalError
from django.test import Client
from personas import CafePC, GameServer, GameWithKey, session_row

from sessions.models import GameSession

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert response["X-Request-Id"] == body["request_id"]
    return body


def test_missing_api_key_is_401(pc: CafePC, obby: GameWithKey) -> None:
    response = Client().post(
        "/v1/game/session/verify",
        json.dumps({"ott": pc.ott(obby), "provider_user_id": "1"}),
        content_type="application/json",
    )
    assert_error(response, 401, "INVALID_API_KEY")
    assert not GameSession.objects.exists()


def test_unknown_api_key_is_401(pc: CafePC, obby: GameWithKey) -> None:
    assert_error(GameServer("pw_live_nope").verify(pc.ott(obby)), 401, "INVALID_API_KEY")


def test_key_of_inactive_game_is_401(server: GameServer, pc: CafePC, obby: GameWithKey) -> None:
    ott = pc.ott(obby)
    obby.game.is_active = False
    obby.game.save()
    assert_error(server.verify(ott), 401, "INVALID_API_KEY")


def test_key_of_another_environment_is_401(
    server: GameServer, pc: CafePC, obby: GameWithKey, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.PLAYWAVE_ENVIRONMENT = "staging"
    assert_error(server.verify(pc.ott(obby)), 401, "INVALID_API_KEY")


def test_header_name_is_case_insensitive(server: GameServer, pc: CafePC, obby: GameWithKey) -> None:
    response = Client().post(
        "/v1/game/session/verify",
        json.dumps({"ott": pc.ott(obby), "provider_user_id": "1"}),
        content_type="application/json",
        HTTP_X_API_KEY=server.key,
    )
    assert response.json()["data"]["is_valid"] is True
    raw = Client().generic(
        "POST",
        "/v1/game/session/verify",
        b"{}",
        content_type="application/json",
        headers={"x-api-key": server.key},
    )
    assert_error(raw, 400, "BAD_REQUEST")


@pytest.mark.parametrize("body", [b"{not json", b"[1,2]", b"\xff\xfe", b"", b'"text"', b"null"])
def test_malformed_json_is_400(server: GameServer, body: bytes) -> None:
    assert_error(server.call("POST", "/v1/game/session/verify", body), 400, "BAD_REQUEST")


@pytest.mark.parametrize(
    "gs",
    [
        "550e8400-e29b-41d4-a716-446655440000",
        "gs_123",
        "gs_{550e8400-e29b-41d4-a716-446655440000}",
        7,
    ],
)
def test_malformed_session_id_is_400(server: GameServer, gs: object) -> None:
    response = server.call(
        "PATCH", "/v1/game/session/heartbeat", {"game_session_id": gs, "provider_user_id": "1"}
    )
    assert_error(response, 400, "BAD_REQUEST")


def test_oversize_body_is_413(server: GameServer) -> None:
    body = json.dumps({"ott": "x", "provider_user_id": "1", "pad": "x" * 20000})
    assert_error(server.call("POST", "/v1/game/session/verify", body), 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/v1/game/session/verify"),
        ("POST", "/v1/game/session/heartbeat"),
        ("POST", "/v1/game/session/end"),
        ("PUT", "/v1/game/session/check"),
    ],
)
def test_wrong_method_is_405_in_the_envelope(server: GameServer, method: str, path: str) -> None:
    response = server.call(method, path, {})
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response["Allow"]


def test_unknown_path_is_404_in_the_envelope(server: GameServer) -> None:
    assert_error(server.call("POST", "/v1/game/session/nope", {}), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (RuntimeError("secret internals"), 500, "INTERNAL_ERROR"),
        # No pooled connection within DATABASE_POOL_TIMEOUT, or one lost mid-call.
        (
            OperationalError("secret: couldn't get a connection after 2.00 sec"),
            503,
            "SERVICE_UNAVAILABLE",
        ),
        # A value validation let through that PostgreSQL refuses.
        (DataError("secret: text fields cannot contain NUL (0x00) bytes"), 400, "BAD_REQUEST"),
    ],
    ids=["crash", "database-unreachable", "value-refused"],
)
def test_a_failure_inside_a_call_is_answered_in_the_envelope_without_a_trace(
    server: GameServer,
    pc: CafePC,
    obby: GameWithKey,
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
    status: int,
    code: str,
) -> None:
    gs = server.start(pc, obby)

    def explode(*args: object, **kwargs: object) -> None:
        raise failure

    monkeypatch.setattr("sessions.game_sessions.touch_session", explode)
    server.client.raise_request_exception = False
    response = server.heartbeat(gs)
    body = assert_error(response, status, code)
    assert "secret" not in json.dumps(body)
    if status == 503:
        assert response["Retry-After"] == str(body["error"]["retry_after"]) == "5"
    assert session_row(gs).heartbeat_count == 0


def test_every_request_id_is_unique(server: GameServer) -> None:
    ids = {server.call("POST", "/v1/game/session/verify", b"{}")["X-Request-Id"] for _ in range(20)}
    assert len(ids) == 20
