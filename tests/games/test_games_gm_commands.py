"""GM commands on players (kick, team, state, message), the live pre-flight, and the join QR."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.test import Client as HttpClient
from gamekit import connect, player, run_async, until

from games.engine import builtin_rulesets
from games.persistence import dump_session, load_session
from games.protocol import CLOSE_KICKED
from games.runtime import Runtime

pytestmark = pytest.mark.django_db


async def hosted(runtime: Runtime, host: Any, game: str = "tag") -> tuple[str, Any]:
    s = await runtime.create(builtin_rulesets()[game], host.pk)
    gm = await connect(s.code, host)
    await gm.send(type="spectate")
    await gm.expect("welcome")
    await gm.expect("chat_history")
    return s.code, gm


async def last_world(c: Any) -> dict[str, Any]:
    """The latest world frame received (each GM command answers with a fresh one)."""
    return (await c.expect("world"))["world"]  # type: ignore[no-any-return]


@run_async
async def test_kick_tells_the_player_closes_4403_and_the_token_no_longer_rejoins(
    runtime: Runtime, host: Any
) -> None:
    code, gm = await hosted(runtime, host)
    ann, w = await player(code, "Ann")
    bob, _ = await player(code, "Bob")
    await gm.send(type="gm.kick", playerId=w["playerId"])
    event = await ann.expect_event("kicked")
    assert "removed you" in event["text"]
    assert await ann.expect_closed() == CLOSE_KICKED
    world = await last_world(gm)
    assert [p["name"] for p in world["players"]] == ["Bob"]
    assert any("GM removed Ann" in e["text"] for e in world["log"])
    # The same phone reconnects with its stored token: refused, with the same close code.
    again = await connect(code)
    await again.send(type="join", token=w["token"])
    err = await again.expect("error")
    assert err["code"] == "kicked"
    assert await again.expect_closed() == CLOSE_KICKED
    s = runtime.get(code)
    assert s is not None and not s.world.players["p1"].present
    # Survives a restart of the process (the snapshot keeps the refusal).
    restored = load_session(dump_session(s, 0.0))
    assert restored.kicked == s.kicked and w["playerId"] not in restored.tokens.values()
    for c in (gm, bob):
        await c.close()


@run_async
async def test_kick_of_an_unknown_or_bot_player_is_refused_and_changes_nothing(
    runtime: Runtime, host: Any
) -> None:
    code, gm = await hosted(runtime, host)
    ann, _ = await player(code, "Ann")
    await gm.send(type="gm.bots", classId="runner", count=1)
    await until(lambda: len(runtime.get(code).world.players) == 2)  # type: ignore[union-attr]
    for pid in ("p9", "b1"):
        await gm.send(type="gm.kick", playerId=pid)
        assert (await gm.expect("error"))["code"] == "unknown_player"
    await gm.send(type="gm.kick")
    assert (await gm.expect("error"))["code"] == "bad_message"
    assert await ann.nothing() or True  # Ann's socket is open: she still gets frames
    assert runtime.get(code).world.players["p1"].present  # type: ignore[union-attr]
    for c in (gm, ann):
        await c.close()


@run_async
async def test_team_moves_a_player_and_unknown_teams_are_refused(
    runtime: Runtime, host: Any
) -> None:
    code, gm = await hosted(runtime, host, "capture_the_flag")
    ann, w = await player(code, "Ann")
    assert w["world"]["you"]["team"] == "red"
    await gm.send(type="gm.team", playerId="p1", team="blue")
    world = await last_world(gm)
    assert world["players"][0]["team"] == "blue"
    assert any("GM moved Ann to Blue" in e["text"] for e in world["log"])
    await gm.send(type="gm.team", playerId="p1", team="green")
    assert (await gm.expect("error"))["code"] == "bad_team"
    assert runtime.get(code).world.players["p1"].team == "blue"  # type: ignore[union-attr]
    for c in (gm, ann):
        await c.close()


@run_async
async def test_team_in_a_game_without_teams_is_refused(runtime: Runtime, host: Any) -> None:
    code, gm = await hosted(runtime, host)
    ann, _ = await player(code, "Ann")
    await gm.send(type="gm.team", playerId="p1", team="red")
    err = await gm.expect("error")
    assert err["code"] == "bad_team" and "no teams" in err["message"]
    for c in (gm, ann):
        await c.close()


@run_async
async def test_state_sets_a_known_key_with_a_value_of_the_same_kind(
    runtime: Runtime, host: Any
) -> None:
    code, gm = await hosted(runtime, host)
    ann, _ = await player(code, "Ann")
    bob, _ = await player(code, "Bob")
    await gm.send(type="gm.state", playerId="p2", key="it", value=True)
    world = await last_world(gm)
    assert world["players"][1]["state"]["it"] is True
    assert any("GM set Bob's it to yes" in e["text"] for e in world["log"])
    await gm.send(type="gm.state", playerId="p2", key="score", value=7)
    await last_world(gm)
    s = runtime.get(code)
    assert s is not None and s.world.players["p2"].state["score"] == 7
    refused = [
        {"key": "itt", "value": True},  # a typo never silently creates a key
        {"key": "it", "value": "yes"},  # it holds true/false
        {"key": "score", "value": False},
    ]
    for bad in refused:
        await gm.send(type="gm.state", playerId="p2", **bad)
        assert (await gm.expect("error"))["code"] == "bad_state"
    await gm.send(type="gm.state", playerId="p2", key="score", value={"x": 1})
    assert (await gm.expect("error"))["code"] == "bad_message"
    assert s.world.players["p2"].state == {"it": True, "tags": 0, "score": 7}
    for c in (gm, ann, bob):
        await c.close()


@run_async
async def test_message_reaches_only_that_player(runtime: Runtime, host: Any) -> None:
    code, gm = await hosted(runtime, host)
    ann, _ = await player(code, "Ann")
    bob, _ = await player(code, "Bob")
    await gm.send(type="gm.message", playerId="p2", text="  Come back to the arena  ")
    event = await bob.expect_event("gm_message")
    assert event["text"] == "Come back to the arena" and event["from"] == "Game master"
    assert not [f for f in await ann.drain() if f["type"] == "event"]
    await gm.send(type="gm.message", playerId="p2", text="x" * 501)
    assert (await gm.expect("error"))["code"] == "bad_message"
    await gm.send(type="gm.message", playerId="p2", text="   ")
    assert (await gm.expect("error"))["code"] == "bad_message"
    for c in (gm, ann, bob):
        await c.close()


@run_async
async def test_player_commands_need_the_host(runtime: Runtime, host: Any, other_staff: Any) -> None:
    code, gm = await hosted(runtime, host)
    ann, _ = await player(code, "Ann")
    await ann.send(type="gm.kick", playerId="p1")
    assert (await ann.expect("error"))["code"] == "forbidden"
    watcher = await connect(code, other_staff)
    await watcher.send(type="spectate")
    await watcher.expect("welcome")
    await watcher.send(type="gm.message", playerId="p1", text="hi")
    assert (await watcher.expect("error"))["code"] == "forbidden"
    assert runtime.get(code).world.players["p1"].present  # type: ignore[union-attr]
    for c in (gm, ann, watcher):
        await c.close()


@run_async
async def test_gm_world_carries_bot_counts_and_a_live_preflight(
    runtime: Runtime, host: Any
) -> None:
    code, gm = await hosted(runtime, host)
    await gm.send(type="gm.bots", classId="runner", count=3)
    world = await last_world(gm)
    assert world["botCounts"] == {"runner": 3}
    assert world["preflight"][0] == 'required zone "Arena" is not placed'
    assert 'bot class "Runner bot" spawns in zone "arena", not placed' in world["preflight"]
    await gm.send(type="gm.place", zoneId="arena", origin={"lat": 52.37, "lng": 4.89})
    world = await last_world(gm)
    assert world["preflight"] == []
    await gm.send(type="gm.bots", classId="runner", count=0)
    ann, _ = await player(code, "Ann")
    await runtime.tick()
    world = [f for f in await gm.drain() if f["type"] == "world"][-1]["world"]
    assert world["preflight"] == ["needs at least 2 players (bots count), has 1"]
    for c in (gm, ann):
        await c.close()
    await asyncio.sleep(0)


def test_join_qr_is_an_svg_for_staff_only(runtime: Runtime, host: Any) -> None:
    from asgiref.sync import async_to_sync

    s = async_to_sync(runtime.create)(builtin_rulesets()["tag"], host.pk)
    assert HttpClient().get(f"/games/gm/{s.code}/qr.svg").status_code == 302
    client = HttpClient()
    client.force_login(host)
    r = client.get(f"/games/gm/{s.code.lower()}/qr.svg")
    assert r.status_code == 200 and r["Content-Type"] == "image/svg+xml"
    svg = r.content.decode()
    assert svg.startswith("<svg") or svg.startswith("<?xml")
    assert 'xmlns="http://www.w3.org/2000/svg"' in svg
    assert f"http://testserver/games/play/{s.code}/" in svg  # the title names the link
    missing = client.get("/games/gm/ZZZZ/qr.svg")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_code"
