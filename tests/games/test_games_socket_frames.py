"""Hostile frames against a real daphne server: deep nesting, frames far over the size limit."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from browserkit import host, live_runtime  # noqa: F401  (fixture)
from gamekit import run_async
from liveserver import live_server
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from games.runtime import Runtime


async def _joined(code: str) -> ClientConnection:
    """A player's socket on the live server, joined as Ann."""
    url = live_server().url
    ws = await connect(f"{url.replace('http', 'ws')}/ws/games/{code}/", origin=url)
    await ws.send(json.dumps({"type": "join", "name": "Ann"}))
    await _frame(ws, "welcome")
    return ws


async def _frame(ws: ClientConnection, type_: str) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            frame: dict[str, Any] = json.loads(await ws.recv())
            if frame["type"] == type_:
                return frame


async def _close_code(ws: ClientConnection) -> int | None:
    async with asyncio.timeout(10):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None


def test_deeply_nested_frame_is_a_bad_message_and_the_socket_stays(
    live_runtime: Runtime,  # noqa: F811
) -> None:
    code = host(live_runtime, "tag").code

    @run_async
    async def play() -> None:
        ws = await _joined(code)
        await ws.send("[" * 3000)
        assert (await _frame(ws, "error"))["code"] == "bad_message"
        await ws.send(json.dumps({"type": "chat", "text": "x", "extra": [[[[[[[[[[[[1]]]]]]]]]]]]}))
        assert (await _frame(ws, "error"))["code"] == "bad_message"
        await ws.send(json.dumps({"type": "chat", "text": "still here"}))
        assert (await _frame(ws, "chat"))["message"]["text"] == "still here"
        await ws.close()

    play()


def test_a_megabyte_frame_gets_too_large_and_close_1009(live_runtime: Runtime) -> None:  # noqa: F811
    code = host(live_runtime, "tag").code

    @run_async
    async def play() -> None:
        ws = await _joined(code)
        await ws.send(json.dumps({"type": "chat", "text": "x" * 1_000_000}))
        err = await _frame(ws, "error")
        assert err["code"] == "too_large"
        assert await _close_code(ws) == 1009

    play()
