"""The tick scheduler: rooms tick in phases spread over the period, and an overloaded process
still serves its sockets between ticks."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter

import pytest
from django.core.cache import cache
from gamekit import FakeClock, run_async
from prometheus_client import REGISTRY

from games import codes
from games.engine import builtin_rulesets
from games.room import Identity
from games.runtime import TICK_SLOTS, RemoteHandle, Runtime, TickSchedule


@run_async
async def test_ticks_longer_than_the_period_still_yield_to_the_loop_between_them() -> None:
    rt = Runtime(store=cache, layer=None, tick_seconds=0.01)
    served = 0
    seen: list[int] = []

    async def slow_tick(phase: int, now: float | None = None) -> None:
        if len(seen) < 8:
            seen.append(served)
            time.sleep(0.02)  # CPU-bound work that overruns the period

    async def socket_work() -> None:
        nonlocal served
        while True:
            served += 1
            await asyncio.sleep(0)

    rt.tick_phase = slow_tick  # type: ignore[method-assign]
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


def test_every_phase_is_due_on_the_exported_anchor_and_a_period_behind_starts_over() -> None:
    def anchor() -> float | None:
        return REGISTRY.get_sample_value("playwave_games_tick_anchor_seconds")

    step = 1.0 / TICK_SLOTS
    schedule = TickSchedule(1.0, 500.0)
    assert anchor() == pytest.approx(500.0 + step)
    due = [schedule.advance() for _ in range(2 * TICK_SLOTS + 8)]
    assert [slot for slot, _ in due] == [i % TICK_SLOTS for i in range(len(due))]
    for i, (slot, deadline) in enumerate(due):  # anchor + n * period + phase * step
        assert deadline == pytest.approx(500.0 + step + i // TICK_SLOTS + slot * step)
    # Phase 7 of the third period was due at 502.4; the scheduler only gets to it at 505.9.
    assert due[-1] == (7, pytest.approx(502.4))
    assert schedule.restart(505.9) == 505.9
    assert anchor() == pytest.approx(505.9 - 7 * step)
    slot, deadline = schedule.advance()
    assert (slot, deadline) == (8, pytest.approx(505.9 + step))
    assert deadline == pytest.approx(anchor() + 8 * step)  # type: ignore[operator]


@run_async
async def test_rooms_are_spread_over_the_phases_and_a_phase_ticks_only_its_rooms(
    runtime: Runtime, game_clock: FakeClock
) -> None:
    tag = builtin_rulesets()["tag"]
    rooms = [await runtime.create(tag, None) for _ in range(2 * TICK_SLOTS + 3)]
    load = Counter(r.phase for r in rooms)
    assert set(load) == set(range(TICK_SLOTS))  # every phase has rooms ...
    assert max(load.values()) - min(load.values()) <= 1  # ... and none has more than one extra
    reaped: list[float] = []
    runtime.reap = lambda now: _note(reaped, now)  # type: ignore[method-assign]

    await runtime.tick_phase(3, game_clock.advance())
    ticked = {r.code for r in rooms if r.world.now == game_clock.now}  # stepped at this time
    assert ticked == {r.code for r in rooms if r.phase == 3}
    assert reaped == []  # the process duties run once a period, in phase 0
    await runtime.tick_phase(0, game_clock.now)
    assert reaped == [game_clock.now]
    for code in [r.code for r in rooms]:
        cache.delete(codes.key(code))


async def _note(seen: list[float], now: float) -> list[str]:
    seen.append(now)
    return []


class RecordingLayer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, object]]] = []

    async def send(self, channel: str, message: dict[str, object]) -> None:
        self.sent.append((channel, message))


@run_async
async def test_frames_for_sockets_on_another_process_travel_as_one_message_per_process(
    runtime: Runtime, game_clock: FakeClock
) -> None:
    room = await runtime.create(builtin_rulesets()["tag"], None)
    layer = RecordingLayer()
    for i in range(6):  # six sockets on two other processes, one without a known process
        via = ["inbox-b", "inbox-c", None][i % 3]
        h = RemoteHandle(layer, f"sock-{i}", via)
        await room.handle(h, Identity(None, False), {"type": "join", "name": f"P{i}"}, 0.0)
    layer.sent.clear()
    await room.broadcast()
    batches = [(ch, m) for ch, m in layer.sent if m["type"] == "games.frames"]
    singles = [ch for ch, m in layer.sent if m["type"] == "games.frame"]
    assert sorted(ch for ch, _ in batches) == ["inbox-b", "inbox-c"]
    assert sorted(singles) == ["sock-2", "sock-5"]
    for _, m in batches:
        to = m["to"]
        texts = m["texts"]
        assert isinstance(to, list) and isinstance(texts, list) and len(to) == 2
        for channel, i in to:
            frame = json.loads(texts[i])
            assert frame["type"] == "world"
            assert frame["world"]["you"]["name"] == f"P{channel.split('-')[1]}"
    cache.delete(codes.key(room.code))
    await runtime.release(room)
