"""The database out of reach: /v1 answers 503 SERVICE_UNAVAILABLE with Retry-After at once, and
/healthz says what is down within a second. (The real outage is in test_faults.py.)"""

from __future__ import annotations

import time

import pytest
from django.db import DataError, OperationalError
from django.test import Client, override_settings
from personas import CafePC, GameServer, GameWithKey

from playwave import views

pytestmark = pytest.mark.django_db


def test_a_lost_database_is_503_with_retry_after(
    server: GameServer, pc: CafePC, obby: GameWithKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    gs = server.start(pc, obby)

    def unreachable(*args: object, **kwargs: object) -> None:
        raise OperationalError("couldn't get a connection after 2.00 sec")

    monkeypatch.setattr("sessions.services.touch_session", unreachable)
    response = server.heartbeat(gs)
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert response["Retry-After"] == str(body["error"]["retry_after"]) == "5"


def test_a_value_the_database_refuses_is_400(
    server: GameServer, pc: CafePC, obby: GameWithKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    gs = server.start(pc, obby)

    def refused(*args: object, **kwargs: object) -> None:
        raise DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")

    monkeypatch.setattr("sessions.services.touch_session", refused)
    response = server.heartbeat(gs)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BAD_REQUEST"


def test_healthz_says_everything_is_up() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["redis"] in {"ok", "not configured"}


def test_healthz_names_a_dead_redis_within_a_second_and_stays_200() -> None:
    from personas import free_port

    views._redis_client.cache_clear()
    try:
        with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
            started = time.monotonic()
            response = Client().get("/healthz")
            took = time.monotonic() - started
    finally:
        views._redis_client.cache_clear()
    assert took < 1.0
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"] == "ok"
    assert body["redis"].startswith("error")


def test_healthz_names_an_unreachable_database_within_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def stuck() -> str:
        raise OperationalError("couldn't get a connection after 0.40 sec")

    monkeypatch.setattr(views, "_probe_database", stuck)
    started = time.monotonic()
    response = Client().get("/healthz")
    assert time.monotonic() - started < 1.0
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert "OperationalError" in response.json()["database"]
