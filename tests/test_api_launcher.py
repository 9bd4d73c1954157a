"""The signed launcher API: every refusal, OTT binding, launcher death ending the game."""

from __future__ import annotations

import time

import pytest
from personas import Clock, GameServer, GameWithKey, SignedLauncher, session_row

from sessions.models import Cafe, GameSession, LauncherSession, OneTimeToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def launcher(cafe: Cafe, obby: GameWithKey) -> SignedLauncher:
    """PC-01's launcher, not yet started."""
    return SignedLauncher(cafe)


def error_code(response) -> str:  # type: ignore[no-untyped-def]
    assert response["Content-Type"].startswith("application/json")
    return str(response.json()["error"]["code"])


def test_start_signs_the_pc_in_and_lists_games(launcher: SignedLauncher, cafe: Cafe) -> None:
    response = launcher.start()
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["heartbeat_interval_sec"] == 60
    assert data["games"] == [
        {"game_id": "obby", "name": "Mega Obby", "featured": False, "coins_per_minute": 10}
    ]
    session = LauncherSession.objects.get(pk=data["launcher_session_id"])
    assert session.pc.hardware_id == "PC-01" and session.pc.cafe == cafe
    assert data["session_token"] not in session.token_digest  # stored hashed


def test_full_flow_launcher_to_game_server(
    launcher: SignedLauncher, server: GameServer, clock: Clock
) -> None:
    launcher.start()
    issued = launcher.ott("obby").json()["data"]
    assert issued["launch_data"] == f"playwave_{issued['ott']}" and issued["expires_in"] == 60
    gs = server.verify(issued["launch_data"]).json()["data"]["game_session_id"]
    beat = launcher.heartbeat().json()["data"]
    assert beat == {"result": "OK", "next_heartbeat_in": 60, "active_game_session_id": gs}
    assert launcher.end().json()["data"] == {"result": "SUCCESS"}
    assert server.heartbeat(gs).json()["error"]["code"] == "SESSION_ENDED"
    assert session_row(gs).end_reason == "launcher_closed"


def test_new_start_on_the_pc_ends_the_previous_launcher_session(
    launcher: SignedLauncher, cafe: Cafe
) -> None:
    launcher.start()
    old_token = launcher.token
    launcher.start()
    launcher_old = SignedLauncher(cafe)
    launcher_old.token = old_token
    assert launcher_old.heartbeat().status_code == 410
    assert LauncherSession.objects.filter(status="replaced").count() == 1


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"secret": "wrong"}, "signature does not match"),
        ({"key_id": "cafe_unknown"}, "unknown X-PW-Key"),
        ({"timestamp": str(int(time.time()) - 301)}, "more than 300 s off"),
        ({"timestamp": str(int(time.time()) + 301)}, "more than 300 s off"),
        ({"timestamp": "yesterday"}, "not unix seconds"),
        ({"nonce": "short"}, "16 to 128"),
        ({"X-PW-Signature": ""}, "missing X-PW-Signature"),
    ],
)
def test_badly_signed_start_is_refused_and_changes_nothing(
    launcher: SignedLauncher, clock: Clock, overrides: dict[str, str], message: str
) -> None:
    response = launcher.start(**overrides)
    assert response.status_code == 401
    assert error_code(response) == "INVALID_SIGNATURE"
    assert message in response.json()["error"]["message"]
    assert not LauncherSession.objects.exists()


def test_replayed_nonce_is_refused(launcher: SignedLauncher) -> None:
    assert launcher.start(nonce="n" * 20).status_code == 200
    response = launcher.heartbeat(nonce="n" * 20)
    assert response.status_code == 401
    assert "already used" in response.json()["error"]["message"]


def test_tampered_body_breaks_the_signature(launcher: SignedLauncher) -> None:
    launcher.start()
    path = "/v1/launcher/ott"
    headers = launcher.headers("POST", path, b'{"game_id": "obby"}')
    response = launcher.client.generic(
        "POST",
        path,
        b'{"game_id": "tycoon"}',
        content_type="application/json",
        headers=headers,
        REMOTE_ADDR=launcher.ip,
    )
    assert error_code(response) == "INVALID_SIGNATURE"


def test_request_from_outside_the_cafes_networks_is_403(launcher: SignedLauncher) -> None:
    response = launcher.start(remote_addr="198.51.100.7")
    assert response.status_code == 403
    assert error_code(response) == "NOT_PC_CAFE"
    assert not LauncherSession.objects.exists()


def test_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(
    launcher: SignedLauncher,
) -> None:
    response = launcher.start(remote_addr="198.51.100.7", **{"X-Forwarded-For": "10.0.0.11"})
    assert response.status_code == 403


def test_forwarded_for_is_believed_behind_a_trusted_proxy(
    launcher: SignedLauncher, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.PLAYWAVE_TRUSTED_PROXIES = ["172.16.0.0/12"]
    # The client forged the first hop; the proxy appended the real address it saw.
    forwarded = {"X-Forwarded-For": "10.0.0.99, 198.51.100.7"}
    assert launcher.start(remote_addr="172.16.0.2", **forwarded).status_code == 403
    forwarded = {"X-Forwarded-For": "198.51.100.7, 10.0.0.50"}
    assert launcher.start(remote_addr="172.16.0.2", **forwarded).status_code == 200


def test_calls_without_or_with_an_unknown_bearer_token_are_401(launcher: SignedLauncher) -> None:
    response = launcher.heartbeat()
    assert (response.status_code, error_code(response)) == (401, "INVALID_SESSION_TOKEN")
    launcher.token = "not-a-token"
    assert error_code(launcher.ott("obby")) == "INVALID_SESSION_TOKEN"


def test_another_cafes_token_is_unknown(launcher: SignedLauncher, clock: Clock) -> None:
    from sessions import billing

    launcher.start()
    other = billing.create_cafe("Other", ["10.0.0.0/24"], balance=100, now=clock.now)
    intruder = SignedLauncher(other)
    intruder.token = launcher.token
    assert error_code(intruder.heartbeat()) == "INVALID_SESSION_TOKEN"


def test_ended_launcher_session_token_is_410(launcher: SignedLauncher) -> None:
    launcher.start()
    launcher.end()
    assert error_code(launcher.heartbeat()) == "SESSION_ENDED"
    assert error_code(launcher.ott("obby")) == "SESSION_ENDED"
    assert error_code(launcher.end()) == "SESSION_ENDED"


def test_expired_launcher_session_is_410(launcher: SignedLauncher, clock: Clock) -> None:
    launcher.start()
    clock.at(241)
    assert error_code(launcher.heartbeat()) == "SESSION_ENDED"


def test_ott_for_unknown_game_is_404(launcher: SignedLauncher) -> None:
    launcher.start()
    response = launcher.ott("no-such-game")
    assert (response.status_code, error_code(response)) == (404, "GAME_NOT_FOUND")
    assert not OneTimeToken.objects.exists()


def test_ott_refused_when_balance_cannot_pay_a_unit(launcher: SignedLauncher, cafe: Cafe) -> None:
    launcher.start()
    Cafe.objects.filter(pk=cafe.pk).update(balance=9)
    response = launcher.ott("obby")
    assert (response.status_code, error_code(response)) == (402, "NOT_CHARGEABLE")
    assert not OneTimeToken.objects.exists()


def test_ott_is_bound_to_its_game(
    launcher: SignedLauncher, tycoon_server: GameServer, tycoon: GameWithKey
) -> None:
    launcher.start()
    ott = launcher.ott("obby").json()["data"]["ott"]
    assert tycoon_server.verify(ott).json()["data"]["reason"] == "GAME_MISMATCH"


def test_ott_is_bound_to_its_pc(
    launcher: SignedLauncher, cafe: Cafe, server: GameServer, obby: GameWithKey
) -> None:
    launcher.start()
    ott = launcher.ott("obby").json()["data"]["launch_data"]
    pc2 = SignedLauncher(cafe, hardware_id="PC-02")
    pc2.start()
    gs2 = server.verify(pc2.ott("obby").json()["data"]["ott"], "2").json()["data"]
    gs1 = server.verify(ott, "1").json()["data"]
    # Each session sits on the PC whose launcher asked for its OTT; neither replaced the other.
    assert session_row(gs1["game_session_id"]).pc.hardware_id == "PC-01"
    assert session_row(gs2["game_session_id"]).pc.hardware_id == "PC-02"
    assert GameSession.objects.filter(state="ACTIVE").count() == 2


def test_launcher_death_ends_the_game_session_with_last_game_heartbeat_time(
    launcher: SignedLauncher, server: GameServer, clock: Clock
) -> None:
    launcher.start()
    gs = server.verify(launcher.ott("obby").json()["data"]["ott"]).json()["data"]["game_session_id"]
    clock.at(60)
    launcher.heartbeat()
    clock.at(120)
    server.heartbeat(gs)
    clock.at(301)  # the launcher last beat at 60: dead since 300
    assert server.heartbeat(gs).status_code == 410
    row = session_row(gs)
    assert (row.end_reason, row.play_duration_sec) == ("launcher_timeout", 120)


@pytest.mark.parametrize(
    "body",
    [
        {"pc": {"hardware_id": "X", "internal_ip": "not-an-ip"}, "launcher_version": "1"},
        {"pc": {"internal_ip": "10.0.0.1"}, "launcher_version": "1"},
        {"pc": {"hardware_id": "X", "internal_ip": "10.0.0.1"}},
    ],
)
def test_malformed_start_is_400(launcher: SignedLauncher, body: dict) -> None:
    response = launcher.call("POST", "/v1/launcher/session/start", body)
    assert (response.status_code, error_code(response)) == (400, "BAD_REQUEST")
    assert not LauncherSession.objects.exists()
