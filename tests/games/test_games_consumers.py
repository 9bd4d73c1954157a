"""The game WebSocket, message by message: replies, errors, and that errors change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from gamekit import FakeClock, connect, latlng, player, run_async, until

from games import codes
from games.engine import builtin_rulesets
from games.protocol import CLOSE_GAME_OVER, CLOSE_REAPED, CLOSE_REPLACED, CLOSE_UNKNOWN_CODE
from games.runtime import Runtime

pytestmark = pytest.mark.django_db


async def tag_session(runtime: Runtime, host: Any) -> str:
    s = await runtime.create(builtin_rulesets()["tag"], host.pk)
    return s.code


@run_async
async def test_join_sends_welcome_with_token_and_world_then_chat_history(
    runtime: Runtime, host: Any
) -> None:
    code = await tag_session(runtime, host)
    c = await connect(code.lower())
    await c.send(type="join", name="Ann")
    welcome = await c.expect("welcome")
    assert welcome["playerId"] == "p1"
    assert len(welcome["token"]) >= 20
    assert welcome["world"]["viewer"] == "p1"
    assert welcome["world"]["status"] == "stopped"
    assert (await c.expect("chat_history"))["messages"] == []
    await c.close()


@run_async
async def test_same_name_never_takes_a_seat(runtime: Runtime, host: Any) -> None:
    code = await tag_session(runtime, host)
    a, _ = await player(code, "Ann")
    b = await connect(code)
    await b.send(type="join", name="Ann")
    refused = await b.expect("error")
    assert refused["code"] == "name_taken"  # neither Ann's seat nor a second "Ann"
    assert len(runtime.get(code).world.players) == 1  # type: ignore[union-attr]
    await a.close()
    await b.close()


@run_async
async def test_rejoin_with_token_restores_the_seat_and_replaces_the_old_socket(
    runtime: Runtime, host: Any
) -> None:
    code = await tag_session(runtime, host)
    old, w = await player(code, "Ann")
    new = await connect(code)
    await new.send(type="join", token=w["token"])
    again = await new.expect("welcome")
    assert again["playerId"] == w["playerId"]
    assert again["world"]["you"]["name"] == "Ann"
    assert (await old.expect("error"))["code"] == "replaced"
    assert await old.expect_closed() == CLOSE_REPLACED
    assert len(runtime.get(code).world.players) == 1  # type: ignore[union-attr]
    await new.close()


@run_async
async def test_stale_token_is_refused_and_socket_stays_open(runtime: Runtime, host: Any) -> None:
    code = await tag_session(runtime, host)
    c = await connect(code)
    await c.send(type="join", name="Mallory", token="not-a-real-token")
    assert (await c.expect("error"))["code"] == "bad_token"
    assert runtime.get(code).world.players == {}  # type: ignore[union-attr]
    await c.send(type="join", name="Mallory")
    assert (await c.expect("welcome"))["playerId"] == "p1"
    await c.close()


@run_async
async def test_join_twice_on_one_socket_and_bad_name_are_refused(
    runtime: Runtime, host: Any
) -> None:
    code = await tag_session(runtime, host)
    c = await connect(code)
    await c.send(type="join", name="   ")
    assert (await c.expect("error"))["code"] == "bad_name"
    await c.send(type="join", name="Ann")
    await c.expect("welcome")
    await c.send(type="join", name="Bob")
    assert (await c.expect("error"))["code"] == "already_joined"
    assert len(runtime.get(code).world.players) == 1  # type: ignore[union-attr]
    await c.close()


@run_async
async def test_unknown_code_gets_an_error_and_close_4404(runtime: Runtime) -> None:
    c = await connect("ZZZZ")
    assert (await c.expect("error"))["code"] == "unknown_code"
    assert await c.expect_closed() == CLOSE_UNKNOWN_CODE


@run_async
async def test_spectate_needs_staff(runtime: Runtime, host: Any, other_staff: Any) -> None:
    code = await tag_session(runtime, host)
    anon = await connect(code)
    await anon.send(type="spectate")
    assert (await anon.expect("error"))["code"] == "forbidden"
    await anon.send(type="join", name="Ann")  # still open and usable
    await anon.expect("welcome")
    gm = await connect(code, host)
    await gm.send(type="spectate")
    w = await gm.expect("welcome")
    assert w["world"]["viewer"] == "gm" and w["host"] is True
    assert w["world"]["players"][0]["name"] == "Ann"
    watcher = await connect(code, other_staff)
    await watcher.send(type="spectate")
    assert (await watcher.expect("welcome"))["host"] is False
    for c in (anon, gm, watcher):
        await c.close()


@run_async
async def test_gm_commands_need_the_hosting_staff_user(
    runtime: Runtime, host: Any, other_staff: Any
) -> None:
    code = await tag_session(runtime, host)
    p, _ = await player(code, "Ann")
    await p.send(type="gm.end")
    assert (await p.expect("error"))["code"] == "forbidden"
    unjoined = await connect(code, host)
    await unjoined.send(type="gm.end")
    assert (await unjoined.expect("error"))["code"] == "forbidden"
    watcher = await connect(code, other_staff)
    await watcher.send(type="spectate")
    await watcher.expect("welcome")
    await watcher.send(type="gm.end")
    err = await watcher.expect("error")
    assert err["code"] == "forbidden" and "hosting" in err["message"]
    assert runtime.get(code).world.status == "stopped"  # type: ignore[union-attr]
    for c in (p, unjoined, watcher):
        await c.close()


@run_async
async def test_bad_frames_get_errors_and_change_nothing(runtime: Runtime, host: Any) -> None:
    code = await tag_session(runtime, host)
    c, _ = await player(code, "Ann")
    before = runtime.get(code).world.to_dict()  # type: ignore[union-attr]
    await c.send_raw("{not json")
    assert (await c.expect("error"))["code"] == "bad_message"
    await c.send_raw("[1, 2]")
    assert (await c.expect("error"))["code"] == "bad_message"
    await c.send_raw(data=b"\x00\x01")
    assert (await c.expect("error"))["code"] == "bad_message"
    await c.send(type="teleport", x=1)
    assert (await c.expect("error"))["code"] == "unknown_message"
    await c.send(type="chat", text="x" * 5000)
    assert (await c.expect("error"))["code"] == "too_large"
    await c.send(type="location", lat="north", lng=4.9, ts=1)
    err = await c.expect("error")
    assert err["code"] == "bad_message" and err["message"].startswith("lat")
    await c.send(type="chat", text="hi", name="Someone Else")
    assert (await c.expect("error"))["code"] == "bad_message"
    await c.send(type="gm.bots", classId="runner", count=True)
    assert (await c.expect("error"))["code"] == "bad_message"
    assert runtime.get(code).world.to_dict() == before  # type: ignore[union-attr]
    await c.send(type="chat", text="still here")
    assert (await c.expect("chat"))["message"]["text"] == "still here"
    await c.close()


@run_async
async def test_location_and_action_before_join_are_refused(runtime: Runtime, host: Any) -> None:
    code = await tag_session(runtime, host)
    c = await connect(code)
    await c.send(type="location", ts=1, **latlng(0, 0))
    assert (await c.expect("error"))["code"] == "not_joined"
    await c.send(type="action", actionId="tag", payload={"targetId": "p2"})
    assert (await c.expect("error"))["code"] == "not_joined"
    await c.send(type="chat", text="hello?")
    assert (await c.expect("error"))["code"] == "not_joined"
    await c.close()


@run_async
async def test_chat_author_is_the_socket_player_and_history_replays(
    runtime: Runtime, host: Any
) -> None:
    code = await tag_session(runtime, host)
    a, _ = await player(code, "Ann")
    b, _ = await player(code, "Bob")
    await a.send(type="chat", text="  hello Bob  ")
    for c in (a, b):
        m = (await c.expect("chat"))["message"]
        assert (m["from"], m["name"], m["text"]) == ("p1", "Ann", "hello Bob")
    gm = await connect(code, host)
    await gm.send(type="spectate")
    await gm.expect("welcome")
    history = (await gm.expect("chat_history"))["messages"]
    assert [m["text"] for m in history] == ["hello Bob"]
    await gm.send(type="chat", text="Game starts soon")
    m = (await a.expect("chat"))["message"]
    assert (m["from"], m["name"]) == ("gm", "Game master")
    for c in (a, b, gm):
        await c.close()


@run_async
async def test_location_is_applied_at_the_next_tick_and_world_goes_to_each_viewer(
    runtime: Runtime, host: Any, game_clock: FakeClock
) -> None:
    code = await tag_session(runtime, host)
    a, _ = await player(code, "Ann")
    b, _ = await player(code, "Bob")
    await a.send(type="location", ts=1, accuracy=5, heading=90, **latlng(10, 0))
    assert await a.nothing()
    await until(lambda: len(runtime.sessions[code].pending) == 1)
    await runtime.tick(game_clock.advance())
    wa = (await a.expect("world"))["world"]
    wb = (await b.expect("world"))["world"]
    assert wa["viewer"] == "p1" and wb["viewer"] == "p2"
    ann = next(p for p in wb["players"] if p["id"] == "p1")
    assert ann["lat"] == pytest.approx(latlng(10, 0)["lat"], abs=1e-6)
    for c in (a, b):
        await c.close()


async def placed_and_started(runtime: Runtime, host: Any, clock: FakeClock) -> tuple[Any, ...]:
    code = await tag_session(runtime, host)
    gm = await connect(code, host)
    await gm.send(type="spectate")
    await gm.expect("welcome")
    await gm.send(type="gm.place", zoneId="arena", origin=latlng(0, 0), rotation=15, scale=1)
    assert (await gm.expect("world"))["world"]["zones"][0]["placed"] is True
    a, _ = await player(code, "Ann")  # it
    b, _ = await player(code, "Bob")
    await a.send(type="location", ts=1, **latlng(0, 0))
    await b.send(type="location", ts=1, **latlng(20, 0))
    s = runtime.get(code)
    assert s is not None
    await until(lambda: len(s.pending) == 2)
    await runtime.tick(clock.advance())
    await gm.send(type="gm.start")
    pre = await gm.expect("preflight")
    assert pre == {"type": "preflight", "ok": True, "failures": []}
    return code, gm, a, b


@run_async
async def test_refused_start_replies_preflight_with_every_failure(
    runtime: Runtime, host: Any
) -> None:
    code = await tag_session(runtime, host)
    gm = await connect(code, host)
    await gm.send(type="spectate")
    await gm.expect("welcome")
    await gm.send(type="gm.start")
    pre = await gm.expect("preflight")
    assert pre["ok"] is False
    assert any("Arena" in f for f in pre["failures"])
    assert any("at least 2 players" in f for f in pre["failures"])
    assert runtime.get(code).world.status == "stopped"  # type: ignore[union-attr]
    await gm.close()


@run_async
async def test_tag_match_start_countdown_tag_toast_and_gm_end(
    runtime: Runtime, host: Any, game_clock: FakeClock
) -> None:
    code, gm, a, b = await placed_and_started(runtime, host, game_clock)
    countdown = (await a.expect("event"))["event"]
    assert countdown["type"] == "countdown" and countdown["seconds"] == 3
    await b.send(type="location", ts=2, **latlng(1, 0))
    await until(lambda: len(runtime.sessions[code].pending) == 1)
    await runtime.tick(game_clock.advance())
    toast = await b.expect_event("toast")
    assert "tagged you" in toast["text"]
    while "tagged" not in (await gm.expect("log"))["entry"]["text"]:
        pass
    await gm.send(type="gm.end")
    for c in (a, b, gm):
        over = await c.expect_event("game_over")
        assert over["reason"] == "gm"
        assert over["scores"]
    assert await a.expect_closed() == CLOSE_GAME_OVER
    assert await b.expect_closed() == CLOSE_GAME_OVER
    late = await connect(code)
    await late.send(type="join", name="Late")
    assert (await late.expect("error"))["code"] == "ended"
    assert await late.expect_closed() == CLOSE_GAME_OVER
    await gm.close()


@run_async
async def test_pause_resume_and_gm_commands_out_of_state(
    runtime: Runtime, host: Any, game_clock: FakeClock
) -> None:
    code, gm, a, b = await placed_and_started(runtime, host, game_clock)
    await gm.send(type="gm.start")
    assert (await gm.expect("error"))["code"] == "wrong_state"
    await gm.send(type="gm.place", zoneId="arena", origin=latlng(5, 5))
    assert (await gm.expect("error"))["code"] == "wrong_state"
    await gm.drain()
    await gm.send(type="gm.stop")
    assert (await gm.expect("world"))["world"]["status"] == "stopped"
    await gm.send(type="gm.stop")
    assert (await gm.expect("error"))["code"] == "wrong_state"
    await gm.send(type="gm.start")
    assert (await gm.expect("preflight"))["ok"] is True
    assert runtime.get(code).world.status == "started"  # type: ignore[union-attr]
    for c in (a, b, gm):
        await c.close()


@run_async
async def test_gm_bots_tunable_spawn_and_their_errors(
    runtime: Runtime, host: Any, game_clock: FakeClock
) -> None:
    code = await tag_session(runtime, host)
    gm = await connect(code, host)
    await gm.send(type="spectate")
    await gm.expect("welcome")
    await gm.send(type="gm.bots", classId="runner", count=2)
    world = (await gm.expect("world"))["world"]
    assert sum(1 for p in world["players"] if p.get("bot")) == 2
    await gm.send(type="gm.bots", classId="zombie", count=2)
    assert (await gm.expect("error"))["code"] == "unknown_bot_class"
    await gm.send(type="gm.bots", classId="runner", count=99)
    assert (await gm.expect("error"))["code"] == "bad_message"
    await gm.send(type="gm.tunable", key="runnerSpeed", value=4.5)
    await gm.expect("world")
    assert runtime.get(code).world.bot_speeds["runner"] == 4.5  # type: ignore[union-attr]
    await gm.send(type="gm.tunable", key="runnerSpeed", value=60)
    assert (await gm.expect("error"))["code"] == "bad_message"
    await gm.send(type="gm.tunable", key="nope", value=1)
    assert (await gm.expect("error"))["code"] == "unknown_tunable"
    await gm.send(type="gm.spawn", kind="flag", at=latlng(0, 0))
    assert (await gm.expect("error"))["code"] == "unknown_item_kind"
    await gm.send(type="gm.place", zoneId="nowhere", origin=latlng(0, 0))
    assert (await gm.expect("error"))["code"] == "unknown_zone"
    await gm.close()


@run_async
async def test_gm_spawn_puts_an_item_on_the_map(runtime: Runtime, host: Any) -> None:
    s = await runtime.create(builtin_rulesets()["capture_the_flag"], host.pk)
    gm = await connect(s.code, host)
    await gm.send(type="spectate")
    await gm.expect("welcome")
    kind = next(iter(s.world.ruleset.item_types))
    await gm.send(type="gm.spawn", kind=kind, at=latlng(3, 4))
    items = (await gm.expect("world"))["world"]["items"]
    assert [i["kind"] for i in items] == [kind]
    await gm.close()


@run_async
async def test_actions_are_checked_at_the_tick(
    runtime: Runtime, host: Any, game_clock: FakeClock
) -> None:
    s = await runtime.create(builtin_rulesets()["tag"], host.pk)
    a, _ = await player(s.code, "Ann")
    await a.send(type="action", actionId="tag", payload={"targetId": "p2"})
    await until(lambda: len(s.pending) == 1)
    await runtime.tick(game_clock.advance())
    assert (await a.expect("error"))["code"] == "not_running"
    await a.close()


@run_async
async def test_idle_session_is_reaped_players_told_and_code_freed(
    runtime: Runtime, host: Any, game_clock: FakeClock
) -> None:
    from django.core.cache import cache

    s = await runtime.create(builtin_rulesets()["tag"], host.pk)
    a, _ = await player(s.code, "Ann")
    assert cache.get(codes.key(s.code)) is not None
    await runtime.tick(game_clock.advance(runtime.idle_seconds - 10))
    assert runtime.get(s.code) is not None
    await runtime.tick(game_clock.advance(11))
    closed = await a.expect("event")
    assert closed["event"]["type"] == "closed" and closed["event"]["reason"] == "idle"
    assert "60 minutes" in closed["event"]["text"]
    assert await a.expect_closed() == CLOSE_REAPED
    assert runtime.get(s.code) is None
    assert cache.get(codes.key(s.code)) is None
    late = await connect(s.code)
    assert (await late.expect("error"))["code"] == "unknown_code"
    await late.close()
