"""Hostile input under /v1 and the hosting API: a clear 4xx in the documented envelope, never 500.

Each case once crashed a request (RecursionError, PostgreSQL's DataError on NUL, OverflowError)
or answered with Django's HTML CSRF page.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from personas import CafePC, GameServer, GameWithKey, SignedLauncher
from test_api_errors import assert_error

from sessions.models import Cafe, GameSession, LauncherSession

pytestmark = pytest.mark.django_db

DEEP = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT = b'{"a":' * 1000 + b"1" + b"}" * 1000

GAME_CALLS = [
    ("POST", "/v1/game/session/verify"),
    ("PATCH", "/v1/game/session/heartbeat"),
    ("DELETE", "/v1/game/session/end"),
    ("POST", "/v1/game/session/check"),
]
LAUNCHER_CALLS = [
    ("POST", "/v1/launcher/ott"),
    ("PATCH", "/v1/launcher/session/heartbeat"),
    ("DELETE", "/v1/launcher/session/end"),
]


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
@pytest.mark.parametrize(("method", "path"), GAME_CALLS)
def test_json_nested_a_thousand_deep_is_400_on_game_calls(
    server: GameServer, method: str, path: str, body: bytes
) -> None:
    assert_error(server.call(method, path, body), 400, "BAD_REQUEST")


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
def test_json_nested_a_thousand_deep_is_400_on_launcher_start(cafe: Cafe, body: bytes) -> None:
    launcher = SignedLauncher(cafe)
    response = launcher.call("POST", "/v1/launcher/session/start", body)
    assert_error(response, 400, "BAD_REQUEST")
    assert not LauncherSession.objects.filter(pc__hardware_id="PC-01").exists()


@pytest.mark.parametrize(("method", "path"), LAUNCHER_CALLS)
def test_json_nested_a_thousand_deep_is_400_on_launcher_calls(
    cafe: Cafe, method: str, path: str
) -> None:
    launcher = SignedLauncher(cafe)
    assert launcher.start().status_code == 200
    assert_error(launcher.call(method, path, DEEP_OBJECT), 400, "BAD_REQUEST")
    assert LauncherSession.objects.get().status == "active"


def test_nul_in_provider_user_id_is_400(server: GameServer, pc: CafePC, obby: GameWithKey) -> None:
    assert_error(server.verify(pc.ott(obby), "12\x0034"), 400, "BAD_REQUEST")
    gs = server.start(pc, obby)
    assert_error(server.heartbeat(gs, "\x00"), 400, "BAD_REQUEST")
    assert_error(server.check(gs, "1001\x00"), 400, "BAD_REQUEST")
    assert GameSession.objects.get().state == "ACTIVE"


@pytest.mark.parametrize(
    "pc_info",
    [
        {"hardware_id": "PC\x0001", "internal_ip": "192.168.0.11"},
        {"hardware_id": "PC-01", "internal_ip": "192.168.0.11", "hostname": "seat\x00"},
    ],
    ids=["hardware_id", "hostname"],
)
def test_nul_in_launcher_start_fields_is_400(cafe: Cafe, pc_info: dict[str, str]) -> None:
    body = {"pc": pc_info, "launcher_version": "1.4.2"}
    response = SignedLauncher(cafe).call("POST", "/v1/launcher/session/start", body)
    assert_error(response, 400, "BAD_REQUEST")
    assert not LauncherSession.objects.exists()


def test_nul_in_launcher_version_is_400(cafe: Cafe) -> None:
    body = {
        "pc": {"hardware_id": "PC-01", "internal_ip": "192.168.0.11"},
        "launcher_version": "1.4\x002",
    }
    response = SignedLauncher(cafe).call("POST", "/v1/launcher/session/start", body)
    assert_error(response, 400, "BAD_REQUEST")


def test_nul_in_game_id_is_400(cafe: Cafe, obby: GameWithKey) -> None:
    launcher = SignedLauncher(cafe)
    assert launcher.start().status_code == 200
    assert_error(launcher.ott("mega\x00obby"), 400, "BAD_REQUEST")


@pytest.mark.parametrize(
    "timestamp", ["9" * 401, "1" * 40, "-" + "9" * 400, " 17 ", "\u0661\u0667\u0660\u0660"]
)
def test_absurd_timestamp_is_a_signature_refusal(cafe: Cafe, timestamp: str) -> None:
    response = SignedLauncher(cafe).start(timestamp=timestamp)
    assert_error(response, 401, "INVALID_SIGNATURE")
    assert not LauncherSession.objects.exists()


def test_nul_in_launcher_key_id_is_a_signature_refusal(cafe: Cafe) -> None:
    response = SignedLauncher(cafe).start(key_id="cafe\x00x")
    assert_error(response, 401, "INVALID_SIGNATURE")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_openapi_document_refuses_other_methods_in_the_envelope(method: str) -> None:
    response = Client(enforce_csrf_checks=True).generic(method, "/v1/openapi.json", b"{}")
    body = assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response["Allow"]
    assert "csrf" not in json.dumps(body).lower()


def test_openapi_document_is_still_served_on_get() -> None:
    response = Client(enforce_csrf_checks=True).get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


# --- the games hosting API (docs/games.md "HTTP") ---------------------------------------------


def _games_error(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content[:200]
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == code


def _staff_client() -> Client:
    user = get_user_model().objects.create_user("gm", password="gm-pass-123", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_hosting_without_signing_in_is_401_even_without_a_csrf_token() -> None:
    response = Client(enforce_csrf_checks=True).post(
        "/games/api/sessions", {"game": "tag"}, content_type="application/json"
    )
    _games_error(response, 401, "not_signed_in")


def test_hosting_without_the_csrf_token_is_403_forbidden_in_json() -> None:
    response = _staff_client().post(
        "/games/api/sessions", {"game": "tag"}, content_type="application/json"
    )
    _games_error(response, 403, "forbidden")
    assert "CSRF" in response.json()["error"]["message"]


def test_hosting_with_a_wrong_csrf_token_is_403_forbidden_in_json() -> None:
    client = _staff_client()
    client.get("/games/gm/")  # sets the csrftoken cookie
    response = client.post(
        "/games/api/sessions",
        {"game": "tag"},
        content_type="application/json",
        headers={"X-CSRFToken": "x" * 32},
    )
    _games_error(response, 403, "forbidden")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/games/api/catalog"),
        ("DELETE", "/games/api/catalog"),
        ("GET", "/games/api/sessions"),
    ],
)
def test_hosting_api_wrong_methods_answer_json(method: str, path: str) -> None:
    response = Client(enforce_csrf_checks=True).generic(method, path)
    _games_error(response, 405, "method_not_allowed")


def test_hosting_with_json_nested_a_thousand_deep_is_400() -> None:
    user = get_user_model().objects.create_user("gm", password="gm-pass-123", is_staff=True)
    client = Client()
    client.force_login(user)
    response = client.post("/games/api/sessions", DEEP_OBJECT, content_type="application/json")
    _games_error(response, 400, "bad_request")
