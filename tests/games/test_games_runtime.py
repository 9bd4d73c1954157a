"""The tick scheduler: an overloaded process still serves its sockets between ticks."""

from __future__ import annotations

import asyncio
import itertools
import time

from django.core.cache import cache
from gamekit import run_async

from games.runtime import Runtime


@run_async
async def test_ticks_longer_than_the_period_still_yield_to_the_loop_between_them() -> None:
    rt = Runtime(store=cache, layer=None, tick_seconds=0.01)
    served = 0
    seen: list[int] = []

    async def slow_tick(now: float | None = None) -> None:
        if len(seen) < 8:
            seen.append(served)
            time.sleep(0.02)  # CPU-bound work that overruns the period

    async def socket_work() -> None:
        nonlocal served
        while True:
            served += 1
            await asyncio.sleep(0)

    rt.tick = slow_tick  # type: ignore[method-assign]
    other = asyncio.create_task(socket_work())
    await rt.ensure_started()
    try:
        async with asyncio.timeout(10):
            while len(seen) < 8:
                await asyncio.sleep(0.005)
    finally:
        await rt.stop()
        other.cancel()
    # Every tick after the first ran behind schedule, yet other work ran between each pair.
    assert all(b > a for a, b in itertools.pairwise(seen))
