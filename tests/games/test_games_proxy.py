"""Two processes behind HAProxy (deploy/haproxy.cfg): a game is played to its end from sockets
spread over both, through a rolling restart of each process.

This is how a deployment runs: one address, several ASGI processes, any socket on any process.
A restarted process's games are adopted by the other, and every player rejoins the same seat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gamekit import latlng, run_async
from serverkit import (
    Proxy,
    Server,
    daphne_processes,
    host_game,
    open_socket,
    proxied,
    staff_cookie,
    typed,
    wait_until,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

pytestmark = pytest.mark.services

FINAL = {4000, 4403, 4404, 4409, 4410}  # closes after which a page does not rejoin
PLAYERS = 6


@pytest.fixture
def stack(transactional_db: None, tmp_path: Path) -> Iterator[tuple[Proxy, list[Server]]]:
    with daphne_processes(2, tmp_path) as servers, proxied(servers, tmp_path) as proxy:
        yield proxy, servers


class Seat:
    """A phone playing through the proxy, rejoining its seat with its token after every drop,
    the way the player page does."""

    def __init__(self, proxy: Proxy, code: str, name: str) -> None:
        self.proxy, self.code, self.name = proxy, code, name
        self.player_id: str | None = None
        self.token: str | None = None
        self.ws: ClientConnection | None = None
        self.worlds = 0  # world frames received
        self.last_world: dict[str, Any] = {}
        self.last_world_at = 0.0
        self.rejoins = 0
        self.final: int | None = None
        self.events: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def join(self) -> None:
        welcome = await self._connect()
        self.player_id, self.token = welcome["playerId"], welcome["token"]
        self._task = asyncio.create_task(self._read())

    async def _connect(self) -> dict[str, Any]:
        deadline = time.monotonic() + 20
        while True:
            try:
                self.ws = await connect(
                    f"{self.proxy.ws}/ws/games/{self.code}/", origin=self.proxy.http
                )
                join = {"type": "join", "name": self.name}
                if self.token:
                    join["token"] = self.token
                await self.ws.send(json.dumps(join))
                async with asyncio.timeout(10):
                    while True:
                        frame = json.loads(await self.ws.recv())
                        if frame["type"] == "welcome":
                            return dict(frame)
                        if frame["type"] == "error" and frame["code"] != "rate_limited":
                            raise AssertionError(f"{self.name} could not rejoin: {frame}")
            except (OSError, InvalidHandshake, ConnectionClosed, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def _read(self) -> None:
        while True:
            assert self.ws is not None
            try:
                frame = json.loads(await self.ws.recv())
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                if code in FINAL:
                    self.final = code
                    return
                welcome = await self._connect()  # a drop: rejoin the same seat
                assert welcome["playerId"] == self.player_id, (self.name, welcome["playerId"])
                self.rejoins += 1
                continue
            if frame["type"] == "world":
                self.worlds += 1
                self.last_world = frame["world"]
                self.last_world_at = time.monotonic()
            elif frame["type"] == "event":
                self.events.append(frame["event"])

    async def move(self, x: float, y: float, ts: int) -> None:
        assert self.ws is not None
        with contextlib.suppress(ConnectionClosed):  # rejoining: the next move goes to the new one
            await self.ws.send(json.dumps({"type": "location", "ts": ts, **latlng(x, y)}))


def qr_status(base_url: str, code: str, cookie: str) -> int:
    name, value = cookie.split("=", 1)
    r = httpx.get(f"{base_url}/games/gm/{code}/qr.svg", cookies={name: value}, timeout=5)
    return r.status_code


async def all_fresh(seats: list[Seat], since: float, what: str, timeout: float = 20.0) -> None:
    """Every seat receives a world frame after ``since``."""
    deadline = time.monotonic() + timeout
    while stale := [s.name for s in seats if s.last_world_at <= since]:
        assert time.monotonic() < deadline, f"{what}: no world frame for {stale}"
        await asyncio.sleep(0.1)


def test_a_game_behind_the_proxy_survives_a_rolling_restart_and_ends(
    stack: tuple[Proxy, list[Server]], django_user_model: Any
) -> None:
    proxy, servers = stack
    cookie = staff_cookie(django_user_model)
    code = host_game(servers[0].http, cookie)  # the game lives on the first process
    # The GM console's QR code is served by whichever process the proxy picks.
    assert [qr_status(s.http, code, cookie) for s in servers] == [200, 200]
    play(proxy, servers, code, cookie)


@run_async
async def play(proxy: Proxy, servers: list[Server], code: str, cookie: str) -> None:
    gm = await open_socket(proxy, code, cookie)
    await gm.send(type="spectate")
    assert (await gm.expect(typed("welcome")))["host"] is True
    await gm.send(type="gm.place", zoneId="arena", origin=latlng(0, 0))
    await gm.expect(lambda f: f["type"] == "world" and f["world"]["zones"][0]["placed"])

    seats = [Seat(proxy, code, f"Player {i}") for i in range(PLAYERS)]
    for seat in seats:
        await seat.join()
    seated = [s.player_id for s in seats]
    assert sorted(p or "" for p in seated) == sorted(f"p{i + 1}" for i in range(PLAYERS))
    spread = await asyncio.to_thread(proxy.open_sockets)
    assert min(spread.values()) >= 2, f"the sockets did not spread over both processes: {spread}"

    for i, seat in enumerate(seats):  # spread out in the arena, nobody within tagging distance
        await seat.move(30.0 * (i % 3), 30.0 * (i // 3), ts=1)
    await gm.send(type="gm.start")
    assert (await gm.expect(typed("preflight")))["ok"] is True
    await gm.ws.close()
    started = time.monotonic()
    await all_fresh(seats, started, "after the start")
    assert all(s.last_world["status"] == "started" for s in seats)

    # A rolling restart: one process at a time stops gracefully and comes back, the game's
    # owner first, while the other process still forwards the sockets that landed on it.
    for name, server in (("asgi1", servers[0]), ("asgi2", servers[1])):
        await asyncio.to_thread(server.stop, signal.SIGTERM)
        stopped = time.monotonic()
        await all_fresh(seats, stopped, f"with {name} stopped")
        for i, seat in enumerate(seats):
            await seat.move(30.0 * (i % 3) + 1, 30.0 * (i // 3), ts=int(stopped))
        server.start()
        await asyncio.to_thread(
            wait_until, lambda n=name: proxy.status().get(n) == "UP", f"{name} back UP"
        )
        await all_fresh(seats, time.monotonic(), f"after {name} came back")

    assert all(s.last_world["status"] == "started" for s in seats)
    assert [s.player_id for s in seats] == seated  # every seat kept through both restarts
    assert sum(s.rejoins for s in seats) >= PLAYERS, "every seat dropped at least once"

    gm = await open_socket(proxy, code, cookie)
    await gm.send(type="spectate")
    await gm.expect(typed("welcome"))
    await gm.send(type="gm.end")
    async with asyncio.timeout(20):
        while any(s.final is None for s in seats):
            await asyncio.sleep(0.1)
    assert {s.final for s in seats} == {4000}
    for seat in seats:
        over = [e for e in seat.events if e["type"] == "game_over"]
        assert over and over[-1]["reason"] == "gm", seat.name
    await gm.ws.close()
