"""Two real server processes share Redis: a session owned by one is played from both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gamekit import latlng, run_async
from serverkit import Server, daphne_processes, host_game, open_socket, staff_cookie, typed

pytestmark = pytest.mark.services


@pytest.fixture
def two_servers(transactional_db: None, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    with daphne_processes(2, tmp_path) as (a, b):
        yield a, b


def test_session_owned_by_one_process_is_played_from_both(
    two_servers: tuple[Server, Server], django_user_model: Any
) -> None:
    a, b = two_servers
    cookie = staff_cookie(django_user_model)
    play(a, b, host_game(a.http, cookie), cookie)


@run_async
async def play(a: Server, b: Server, code: str, cookie: str) -> None:
    # The session lives on A; the GM console and Bob are on B, Ann on A.
    gm = await open_socket(b, code, cookie)
    await gm.send(type="spectate")
    welcome = await gm.expect(typed("welcome"))
    assert welcome["host"] is True
    await gm.send(type="gm.place", zoneId="arena", origin=latlng(0, 0))
    await gm.expect(lambda f: f["type"] == "world" and f["world"]["zones"][0]["placed"])

    ann = await open_socket(a, code.lower())
    bob = await open_socket(b, code)
    await ann.send(type="join", name="Ann")
    assert (await ann.expect(typed("welcome")))["playerId"] == "p1"
    await bob.send(type="join", name="Bob")
    assert (await bob.expect(typed("welcome")))["playerId"] == "p2"
    await ann.send(type="location", ts=1, **latlng(0, 0))
    await bob.send(type="location", ts=1, **latlng(20, 0))
    await gm.expect(
        lambda f: f["type"] == "world" and all("lat" in p for p in f["world"]["players"])
    )
    await gm.send(type="gm.start")
    assert (await gm.expect(typed("preflight")))["ok"] is True

    await bob.send(type="chat", text="coming for you", name="spoof")  # refused: extra field
    assert (await bob.expect(typed("error")))["code"] == "bad_message"
    await bob.send(type="chat", text="coming for you")
    chat = (await ann.expect(typed("chat")))["message"]
    assert (chat["from"], chat["name"]) == ("p2", "Bob")

    await bob.send(type="location", ts=2, **latlng(1, 0))
    toast = await bob.expect(lambda f: f["type"] == "event" and f["event"]["type"] == "toast")
    assert "tagged you" in toast["event"]["text"]
    await ann.expect(lambda f: f["type"] == "world" and f["world"]["you"]["state"]["it"] is False)

    await gm.send(type="gm.end")
    for s in (ann, bob, gm):
        over = await s.expect(lambda f: f["type"] == "event" and f["event"]["type"] == "game_over")
        assert over["event"]["reason"] == "gm"
    assert await ann.closed_code() == 4000
    assert await bob.closed_code() == 4000
    await gm.ws.close()

    # A wrong code is refused on either process.
    stranger = await open_socket(b, "ZZZZ")
    assert (await stranger.expect(typed("error")))["code"] == "unknown_code"
    assert await stranger.closed_code() == 4404


def test_a_location_right_after_a_join_on_another_process_is_taken(
    two_servers: tuple[Server, Server], django_user_model: Any
) -> None:
    a, b = two_servers
    cookie = staff_cookie(django_user_model)
    join_then_move(b, host_game(a.http, cookie))


@run_async
async def join_then_move(b: Server, code: str) -> None:
    ann = await open_socket(b, code)  # the game lives on A
    await ann.send(type="join", name="Ann")
    await ann.send(type="location", ts=1, **latlng(0, 0))  # not waiting for the welcome
    first = await ann.expect(lambda f: f["type"] in ("welcome", "error"))
    assert first["type"] == "welcome", first
    got = await ann.expect(lambda f: f["type"] in ("world", "error"))
    assert got["type"] == "world", got
