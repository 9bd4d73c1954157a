"""/healthz says what is down within a second: 503 without the database, 200 "degraded" without
Redis. (503 SERVICE_UNAVAILABLE on /v1: test_api_errors.py; the real outages: test_faults.py.)"""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError
from django.test import Client, override_settings

from playwave import views

pytestmark = pytest.mark.django_db


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
