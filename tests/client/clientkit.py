"""Test helpers for the Python clients: a hand-operated sleep and a transport that can fail."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


class Gate:
    """An injected `sleep` the test opens one call at a time; `clock` advances by what was asked.

    `await gate.tick(task)` lets the sleeper held now go on and returns the delay of the next
    sleep the loop asks for, or None if `task` finished instead: one loop iteration per call.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.asked: list[float] = []
        self._queue: asyncio.Queue[tuple[float, asyncio.Future[None]]] = asyncio.Queue()
        self._held: tuple[float, asyncio.Future[None]] | None = None

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((seconds, future))
        await future

    async def next_sleep(self, task: asyncio.Task[Any] | None = None) -> float | None:
        """Wait (bounded) until the loop sleeps again, or `task` ends; hold that sleeper."""
        getter = asyncio.ensure_future(self._queue.get())
        waits: set[asyncio.Future[Any]] = {getter}
        if task is not None:
            waits.add(task)
        done, _ = await asyncio.wait(waits, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if getter not in done:
            getter.cancel()
            if task is not None and task in done:
                return None
            raise AssertionError("the loop neither slept again nor finished within 10 s")
        seconds, future = getter.result()
        self._held = (seconds, future)
        self.asked.append(seconds)
        return seconds

    async def tick(self, task: asyncio.Task[Any] | None = None) -> float | None:
        """Release the held sleeper (time moves by its delay); return the next delay asked."""
        if self._held is None:
            await self.next_sleep(task)
        assert self._held is not None
        seconds, future = self._held
        self._held = None
        self.now += seconds
        future.set_result(None)
        return await self.next_sleep(task)


@dataclass
class Sent:
    method: str
    path: str
    body: bytes


@dataclass
class FlakyTransport(httpx.AsyncBaseTransport):
    """Forwards to the real server, except for failures queued in `plan`.

    Each plan entry applies to the next request (optionally only to one path): "500" answers
    an INTERNAL_ERROR envelope without reaching the server, "connect" fails before sending,
    "lost" sends the request and then drops the answer.
    """

    inner: httpx.AsyncBaseTransport = field(default_factory=httpx.AsyncHTTPTransport)
    plan: list[tuple[str, str | None]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    before_send: Callable[[httpx.Request], None] | None = None

    def fail(self, kind: str, path: str | None = None) -> None:
        self.plan.append((kind, path))

    def _take(self, request: httpx.Request) -> str | None:
        for index, (kind, path) in enumerate(self.plan):
            if path is None or request.url.path == path:
                del self.plan[index]
                return kind
        return None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        if self.before_send is not None:
            self.before_send(request)
        kind = self._take(request)
        if kind == "connect":
            raise httpx.ConnectError("simulated: connection refused", request=request)
        if kind == "500":
            return httpx.Response(
                500,
                json={
                    "success": False,
                    "request_id": "req_test",
                    "error": {"code": "INTERNAL_ERROR", "message": "simulated", "timestamp": ""},
                },
                request=request,
            )
        self.sent.append(Sent(request.method, request.url.path, body))
        response = await self.inner.handle_async_request(request)
        if kind == "lost":
            await response.aread()
            await response.aclose()
            raise httpx.ReadError("simulated: answer lost", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def calls(self, method: str, path: str) -> int:
        return sum(1 for s in self.sent if s.method == method and s.path == path)
