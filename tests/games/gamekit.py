"""Helpers for the live-games tests: a fake clock, WebSocket clients, positions in metres."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from games.engine.geometry import Frame
from games.routing import websocket_urlpatterns

ORIGIN = (52.3702, 4.8952)
FRAME = Frame(*ORIGIN)
APP = URLRouter(websocket_urlpatterns)


def latlng(x: float, y: float) -> dict[str, float]:
    """Latitude/longitude of metres east/north of the origin."""
    lat, lng = FRAME.to_latlng(x, y)
    return {"lat": lat, "lng": lng}


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = 1.0) -> float:
        self.now += seconds
        return self.now


def run_async(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test body on an event loop (the suite has no asyncio plugin)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        async_to_sync(fn)(*args, **kwargs)

    return wrapper


class Client:
    """A WebSocket client that remembers every frame it received."""

    def __init__(self, comm: WebsocketCommunicator) -> None:
        self.comm = comm
        self.frames: list[dict[str, Any]] = []
        self.closed: int | None = None

    async def send(self, **msg: Any) -> None:
        await self.comm.send_json_to(msg)

    async def send_raw(self, text: str | None = None, data: bytes | None = None) -> None:
        await self.comm.send_to(text_data=text, bytes_data=data)

    async def next(self, timeout: float = 2.0) -> dict[str, Any]:
        out = await self.comm.receive_output(timeout)
        if out["type"] == "websocket.close":
            self.closed = out.get("code", 1000)
            return {"type": "_closed", "code": self.closed}
        frame: dict[str, Any] = json.loads(out["text"])
        self.frames.append(frame)
        return frame

    async def expect(self, type_: str, timeout: float = 2.0) -> dict[str, Any]:
        """The next frame of ``type_``, skipping others (world frames, logs …)."""
        while True:
            frame = await self.next(timeout)
            if frame["type"] == type_:
                return frame
            if frame["type"] == "_closed":
                raise AssertionError(f"closed ({frame['code']}) while waiting for {type_}")

    async def expect_event(self, kind: str, timeout: float = 2.0) -> dict[str, Any]:
        """The next ``event`` frame whose event has type ``kind``."""
        while True:
            event: dict[str, Any] = (await self.expect("event", timeout))["event"]
            if event["type"] == kind:
                return event

    async def expect_closed(self, timeout: float = 2.0) -> int:
        while True:
            frame = await self.next(timeout)
            if frame["type"] == "_closed":
                return int(frame["code"])

    async def nothing(self) -> bool:
        return bool(await self.comm.receive_nothing(0.05))

    async def drain(self) -> list[dict[str, Any]]:
        got = []
        while not await self.comm.receive_nothing(0.02):
            got.append(await self.next())
        return got

    async def close(self) -> None:
        await self.comm.disconnect()
        await asyncio.sleep(0)


async def until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    """Wait until the consumers have handled what was sent (not a wait for a tick)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.001)


async def connect(code: str, user: Any = None) -> Client:
    comm = WebsocketCommunicator(APP, f"/ws/games/{code}/")
    comm.scope["user"] = user if user is not None else AnonymousUser()
    ok, _ = await comm.connect()
    assert ok
    return Client(comm)


async def player(code: str, name: str) -> tuple[Client, dict[str, Any]]:
    c = await connect(code)
    await c.send(type="join", name=name)
    welcome = await c.expect("welcome")
    await c.expect("chat_history")
    return c, welcome
