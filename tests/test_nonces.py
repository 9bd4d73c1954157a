"""Launcher nonces live in the database: a Redis flush or outage neither replays nor fails."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import override_settings
from personas import Clock, GameWithKey, SignedLauncher

from sessions import billing
from sessions.models import Cafe, LauncherNonce, LauncherSession
from sessions.reaper import Reaper

pytestmark = pytest.mark.django_db

NONCE = "replayed-nonce-0001"
# Nothing listens on port 1: every cache call fails at once, as during a Redis outage.
DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


@pytest.fixture
def launcher(cafe: Cafe, obby: GameWithKey) -> SignedLauncher:
    return SignedLauncher(cafe)


def test_a_signed_request_does_not_replay_after_the_cache_is_flushed(
    launcher: SignedLauncher, clock: Clock
) -> None:
    assert launcher.start(nonce=NONCE).status_code == 200
    cache.clear()  # Redis flushed: the README allows it at any time
    replay = launcher.heartbeat(nonce=NONCE)
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert "already used" in replay.json()["error"]["message"]


def test_the_launcher_api_answers_while_the_cache_is_down(
    launcher: SignedLauncher, obby: GameWithKey
) -> None:
    with override_settings(CACHES=DEAD_REDIS):
        assert launcher.start().status_code == 200
        assert launcher.ott("obby").status_code == 200
        assert launcher.heartbeat().status_code == 200
        replay = launcher.heartbeat(nonce=NONCE)
        assert replay.status_code == 200
        assert launcher.heartbeat(nonce=NONCE).status_code == 401
        assert launcher.end().status_code == 200
    assert LauncherSession.objects.get().status == "closed"


def test_the_same_nonce_from_another_cafe_is_its_own(
    launcher: SignedLauncher, clock: Clock
) -> None:
    other = billing.create_cafe("Moon PC", ["10.9.0.0/24"], balance=100, now=clock.now)
    assert launcher.start(nonce=NONCE).status_code == 200
    assert SignedLauncher(other, ip="10.9.0.5").start(nonce=NONCE).status_code == 200


def test_a_nonce_is_held_for_twice_the_window_then_pruned_by_the_reaper(
    launcher: SignedLauncher, clock: Clock
) -> None:
    assert launcher.start(nonce=NONCE).status_code == 200
    clock.at(599)  # 2 x PLAYWAVE_SIGNATURE_WINDOW (300 s) not yet over
    assert launcher.heartbeat(nonce=NONCE).status_code == 401
    reaper = Reaper(clock=lambda: clock.now)
    reaper.iterate()
    assert LauncherNonce.objects.filter(nonce=NONCE).exists()
    clock.at(600)
    assert reaper.prune_nonces(clock.now) == 0  # pruned at most once a minute
    clock.at(660)
    reaper.iterate()
    assert not LauncherNonce.objects.filter(nonce=NONCE).exists()


def test_a_nonce_whose_window_is_over_may_come_back_before_it_is_pruned(
    launcher: SignedLauncher, clock: Clock
) -> None:
    assert launcher.start(nonce=NONCE).status_code == 200
    clock.at(600)
    assert launcher.start(nonce=NONCE).status_code == 200
    assert launcher.start(nonce=NONCE).status_code == 401
    assert LauncherNonce.objects.filter(nonce=NONCE).count() == 1
