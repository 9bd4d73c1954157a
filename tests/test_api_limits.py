"""Rate limits on /v1: per client IP, per key, and failed authentications per IP, each a 429
RATE_LIMITED with Retry-After (header and envelope); generous defaults; RATE_LIMITS=0 is off."""

from __future__ import annotations

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings
from personas import CafePC, GameServer, GameWithKey, SignedLauncher, make_game

from sessions.models import Cafe

pytestmark = pytest.mark.django_db


def assert_limited(response) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 429, response.content[:300]
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "RATE_LIMITED"
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 60
    assert body["error"]["retry_after"] == wait
    assert response["X-Request-Id"] == body["request_id"]
    return wait


@override_settings(PLAYWAVE_RATE_PER_IP="3/minute")
def test_calls_from_one_address_past_its_rate_get_429(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    assert server.heartbeat(gs).status_code == 200
    assert server.heartbeat(gs).status_code == 200
    assert_limited(server.heartbeat(gs))
    assert_limited(Client().get("/v1/openapi.json"))  # every /v1 door counts
    elsewhere = Client(REMOTE_ADDR="10.0.0.99").generic(
        "PATCH",
        "/v1/game/session/heartbeat",
        f'{{"game_session_id": "{gs}", "provider_user_id": "1001"}}',
        content_type="application/json",
        headers={"X-Api-Key": server.key},
    )
    assert elsewhere.status_code == 200


@override_settings(PLAYWAVE_RATE_PER_GAME_KEY="2/minute")
def test_calls_with_one_game_key_past_its_rate_get_429(
    server: GameServer, pc: CafePC, pc2: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    assert server.heartbeat(gs).status_code == 200
    assert_limited(server.heartbeat(gs))
    other = make_game("kart", "Kart", 5)
    assert GameServer(other.key).verify(pc2.ott(other), "7").json()["data"]["is_valid"]


@override_settings(PLAYWAVE_RATE_PER_CAFE_KEY="2/minute")
def test_calls_with_one_cafe_key_past_its_rate_get_429(cafe: Cafe, obby: GameWithKey) -> None:
    launcher = SignedLauncher(cafe)
    assert launcher.start().status_code == 200
    assert launcher.heartbeat().status_code == 200
    assert_limited(launcher.heartbeat())


@override_settings(PLAYWAVE_RATE_AUTH_FAILURES="3/minute")
def test_an_address_guessing_keys_is_stopped_before_any_key_is_checked(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    ott = pc.ott(obby)
    guesser = GameServer("pw_live_guess")
    assert [guesser.verify(ott).status_code for _ in range(3)] == [401, 401, 401]
    assert_limited(guesser.verify(ott))
    # Even the right key from that address waits: a guess that hit would not be told apart.
    assert_limited(server.verify(ott))
    honest = Client(REMOTE_ADDR="10.0.0.50").post(
        "/v1/game/session/verify",
        {"ott": ott, "provider_user_id": "1001"},
        content_type="application/json",
        headers={"X-Api-Key": server.key},
    )
    assert honest.json()["data"]["is_valid"] is True


@override_settings(PLAYWAVE_RATE_AUTH_FAILURES="2/minute")
def test_bad_signatures_and_session_tokens_count_as_failed_authentications(
    cafe: Cafe, obby: GameWithKey
) -> None:
    launcher = SignedLauncher(cafe)
    assert launcher.start(secret="wrong-secret").status_code == 401
    assert launcher.start().status_code == 200
    launcher.token = "not-the-token"
    assert launcher.heartbeat().status_code == 401
    assert_limited(launcher.heartbeat())
    assert_limited(launcher.start())


@override_settings(PLAYWAVE_RATE_PER_IP="2/minute", REDIS_URL="")
def test_a_limited_address_is_served_again_once_the_window_has_passed(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    with time_machine.travel(pc.launcher.started_at, tick=False) as clock:
        assert server.heartbeat(gs).status_code == 200
        wait = assert_limited(server.heartbeat(gs))
        clock.shift(2 * 60 + wait)
        assert server.heartbeat(gs).status_code != 429


@override_settings(RATE_LIMITS=False, PLAYWAVE_RATE_PER_IP="1/minute")
def test_rate_limits_off_refuse_nothing(server: GameServer, pc: CafePC, obby: GameWithKey) -> None:
    gs = server.start(pc, obby)
    assert all(server.heartbeat(gs).status_code == 200 for _ in range(5))


def test_the_defaults_carry_a_big_games_heartbeats() -> None:
    import ratelimits

    per_key = ratelimits.rate(settings.PLAYWAVE_RATE_PER_GAME_KEY)
    per_second = per_key.amount / per_key.get_expiry()
    players = 200_000  # each heartbeating every PLAYWAVE_HEARTBEAT_INTERVAL (120 s)
    assert per_second >= 1.2 * players / 120
