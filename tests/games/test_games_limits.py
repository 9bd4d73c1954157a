"""Limits on what one socket, one player and one network may send to the games."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from gamekit import APP, Client, FakeClock, latlng, player, run_async, until

from games.engine import builtin_rulesets
from games.protocol import CLOSE_FLOODING, CLOSE_UNKNOWN_CODE
from games.room import RoomLimits
from games.runtime import Runtime
from games.throttle import Bucket, SocketGate, Verdict

pytestmark = pytest.mark.django_db


async def tag_session(runtime: Runtime, host: Any) -> str:
    s = await runtime.create(builtin_rulesets()["tag"], host.pk)
    return s.code


async def ann_and_bob(
    runtime: Runtime, host: Any, limits: RoomLimits
) -> tuple[str, Client, Client]:
    """A session with these limits and two joined players."""
    runtime.limits = limits
    code = await tag_session(runtime, host)
    ann, _ = await player(code, "Ann")
    bob, _ = await player(code, "Bob")
    return code, ann, bob


async def connect_from(ip: str, code: str) -> Client:
    comm = WebsocketCommunicator(APP, f"/ws/games/{code}/")
    comm.scope["user"] = AnonymousUser()
    comm.scope["client"] = (ip, 40000)
    ok, _ = await comm.connect()
    assert ok
    return Client(comm)


def a_network() -> str:
    """An address of its own, so counters kept in Redis by earlier runs never meet this test."""
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


# --- the pure budgets -----------------------------------------------------------------------


def test_bucket_spends_its_burst_then_refills_at_its_rate() -> None:
    b = Bucket(rate=2, burst=3)
    assert [b.take(100.0) for _ in range(4)] == [True, True, True, False]
    assert b.take(100.4) is False
    assert b.take(100.5) is True  # half a second at 2/s is one token
    assert [b.take(110.0) for _ in range(4)] == [True, True, True, False]  # never above burst


def test_socket_gate_drops_excess_tells_once_a_second_and_closes_a_persistent_flood() -> None:
    gate = SocketGate(per_second=5, burst=5, flood_seconds=3)
    now = 1000.0
    assert [gate.admit(now) for _ in range(5)] == [Verdict.ADMIT] * 5
    assert gate.admit(now) is Verdict.DROP
    assert gate.admit(now) is Verdict.DROP_QUIETLY
    verdicts = []
    for _ in range(30):  # 100 messages a second, for three seconds
        now += 0.1
        verdicts += [gate.admit(now) for _ in range(10)]
    assert verdicts.count(Verdict.ADMIT) < 20
    assert verdicts[-1] is Verdict.CLOSE


def test_socket_gate_forgives_a_burst_once_the_socket_is_quiet() -> None:
    gate = SocketGate(per_second=5, burst=5, flood_seconds=3)
    for t in (1000.0, 1002.0, 1004.0, 1006.0):  # a burst every other second: never a flood
        verdicts = [gate.admit(t) for _ in range(8)]
        assert verdicts[:5] == [Verdict.ADMIT] * 5
        assert Verdict.CLOSE not in verdicts


# --- one socket ----------------------------------------------------------------------------


@run_async
async def test_a_socket_over_its_rate_gets_rate_limited_then_a_flood_is_closed_with_4429(
    runtime: Runtime, host: Any, game_clock: FakeClock, settings: Any
) -> None:
    settings.GAMES_SOCKET_MESSAGES_PER_SECOND = 3
    settings.GAMES_SOCKET_BURST = 4
    settings.GAMES_SOCKET_FLOOD_SECONDS = 2
    code = await tag_session(runtime, host)
    bob, _ = await player(code, "Bob")
    ann, _ = await player(code, "Ann")  # the join is the first of Ann's burst of four
    for i in range(3):
        await ann.send(type="chat", text=f"hi {i}")
    await ann.send(type="chat", text="one too many")
    err = await ann.expect("error")
    assert err["code"] == "rate_limited"
    seen = [f["message"]["text"] for f in await bob.drain() if f["type"] == "chat"]
    assert seen == ["hi 0", "hi 1", "hi 2"]
    for _ in range(2):  # still flooding two seconds later: closed
        game_clock.advance(1)
        for _ in range(10):
            await ann.send(type="chat", text="spam")
        assert (await ann.expect("error"))["code"] == "rate_limited"  # once a second
    assert await ann.expect_closed() == CLOSE_FLOODING
    await bob.close()


# --- one player ----------------------------------------------------------------------------


@run_async
async def test_a_chat_flood_reaches_only_its_author(
    runtime: Runtime, host: Any, game_clock: FakeClock
) -> None:
    _, ann, bob = await ann_and_bob(runtime, host, RoomLimits(chat_per_minute=6, chat_burst=2))
    for i in range(5):
        await ann.send(type="chat", text=f"flood {i}")
    errors = []
    while len(errors) < 3:
        frame = await ann.next()
        if frame["type"] == "error":
            errors.append(frame["code"])
    assert errors == ["rate_limited"] * 3
    seen = [f["message"]["text"] for f in await bob.drain() if f["type"] == "chat"]
    assert seen == ["flood 0", "flood 1"]
    game_clock.advance(10)  # 6 a minute: one more line after ten seconds
    await ann.send(type="chat", text="calm again")
    assert (await bob.expect("chat"))["message"]["text"] == "calm again"
    for c in (ann, bob):
        await c.close()


@run_async
async def test_inputs_are_bounded_per_socket_per_tick(
    runtime: Runtime, host: Any, game_clock: FakeClock
) -> None:
    code, ann, bob = await ann_and_bob(runtime, host, RoomLimits(inputs_per_tick=2))
    for x in (1, 2, 3):
        await ann.send(type="location", ts=x, **latlng(x, 0))
    assert (await ann.expect("error"))["code"] == "rate_limited"
    await bob.send(type="location", ts=1, **latlng(5, 5))  # another socket has its own bound
    s = runtime.sessions[code]
    await until(lambda: len(s.pending) == 3)
    await runtime.tick(game_clock.advance())
    await ann.send(type="location", ts=4, **latlng(4, 0))
    await until(lambda: len(s.pending) == 1)
    for c in (ann, bob):
        await c.close()


# --- one network ---------------------------------------------------------------------------


@run_async
async def test_guessing_codes_blocks_the_network_from_every_game_for_a_while(
    runtime: Runtime, host: Any, settings: Any
) -> None:
    settings.GAMES_UNKNOWN_CODE_RATE = "3/minute"
    code = await tag_session(runtime, host)
    guesser, neighbour = a_network(), a_network()
    free = next(c for c in ("BABA", "BABE", "BABI", "BABO") if c != code)
    for _ in range(3):
        c = await connect_from(guesser, free)
        assert (await c.expect("error"))["code"] == "unknown_code"
        assert await c.expect_closed() == CLOSE_UNKNOWN_CODE
    c = await connect_from(guesser, free)
    err = await c.expect("error")
    assert err["code"] == "rate_limited" and 1 <= err["retryAfter"] <= 60
    assert await c.expect_closed() == CLOSE_FLOODING
    c = await connect_from(guesser, code)  # a real code does not tell a sweep anything either
    assert (await c.expect("error"))["code"] == "rate_limited"
    assert await c.expect_closed() == CLOSE_FLOODING
    ok = await connect_from(neighbour, code)
    await ok.send(type="join", name="Ann")
    assert (await ok.expect("welcome"))["playerId"] == "p1"
    await ok.close()
