"""Fixtures for the client tests: a live server, compressed timers, a cafe on localhost."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from personas import Clock, GameWithKey, make_game
from pytest_django.fixtures import Settings as SettingsWrapper

from sessions import billing
from sessions.models import Cafe

T = TypeVar("T")

# The SQLite tier's live server shares the test's one in-memory connection with all its
# request threads, so requests and the test's own server-side calls must take turns.
SERVER_LOCK = threading.RLock()


def server_side(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a server-side function (reaper pass, top-up) in turn with the live server."""
    with SERVER_LOCK:
        return fn(*args, **kwargs)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run an async scenario; the ORM connections it opened are closed in its own context."""

    async def closing() -> None:
        try:
            await scenario()
        finally:
            # asgiref keeps connections per context, so the scenario's are not the test's.
            connections.close_all()

    asyncio.run(closing())


@pytest.fixture(autouse=True)
def _serialised_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "sqlite":
        return  # PostgreSQL: every thread has its own connection
    original = WSGIHandler.__call__

    def locked(self: WSGIHandler, environ: Any, start_response: Any) -> Any:
        with SERVER_LOCK:
            return original(self, environ, start_response)

    monkeypatch.setattr(WSGIHandler, "__call__", locked)


@pytest.fixture(autouse=True)
def _orm_between_awaits(monkeypatch: pytest.MonkeyPatch) -> None:
    # Scenarios run in asyncio.run() on the test's thread and call the domain layer (a reaper
    # pass, a top-up) between client steps, while no request is in flight.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def timers(settings: SettingsWrapper) -> SettingsWrapper:
    """Distinct compressed timers, so a test can tell which one a client honoured."""
    settings.PLAYWAVE_HEARTBEAT_INTERVAL = 3
    settings.PLAYWAVE_SESSION_TIMEOUT = 10
    settings.PLAYWAVE_LAUNCHER_HEARTBEAT_INTERVAL = 2
    settings.PLAYWAVE_LAUNCHER_TIMEOUT = 8
    settings.PLAYWAVE_GRACE_PERIOD = 4
    settings.PLAYWAVE_BILLING_UNIT = 1
    settings.PLAYWAVE_OTT_TTL = 30
    return settings


@dataclass
class World:
    """A live server with two games and a cafe whose network is this machine."""

    url: str
    cafe: Cafe
    obby: GameWithKey
    tycoon: GameWithKey
    clock: Clock


@pytest.fixture
def world(live_server: Any, timers: SettingsWrapper, clock: Clock) -> Iterator[World]:
    cafe = billing.create_cafe(
        "Localhost PC Bang", ["127.0.0.0/8", "::1/128"], balance=10_000, now=clock.now
    )
    yield World(
        live_server.url,
        cafe,
        make_game("obby", "Mega Obby", 10),
        make_game("tycoon", "Cafe Tycoon", 5),
        clock,
    )
    wait_for_server_connections_to_close()


def wait_for_server_connections_to_close(limit: float = 5.0) -> None:
    """Bounded poll: the live server's request threads close their connections on their own.

    A thread still finishing a closed keep-alive connection would otherwise hold a PostgreSQL
    session when the test database is dropped.
    """
    if connection.vendor != "postgresql" or connection.settings_dict["OPTIONS"].get("pool"):
        # With a pool the process's connections stay open by design and are closed with it.
        return
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            (others,) = cursor.fetchone() or (0,)
        if not others:
            return
        time.sleep(0.05)
