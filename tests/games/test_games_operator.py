"""Operator actions on a live game (the operator console calls these): end it, kick a player."""

from __future__ import annotations

from typing import Any

import pytest
from gamekit import connect, player, run_async

from games.engine import builtin_rulesets
from games.protocol import CLOSE_GAME_OVER, CLOSE_KICKED
from games.runtime import Runtime

pytestmark = pytest.mark.django_db


@run_async
async def test_an_operator_ends_a_live_game_and_its_players_are_told(
    runtime: Runtime, host: Any
) -> None:
    s = await runtime.create(builtin_rulesets()["tag"], host.pk)
    ann, _ = await player(s.code, "Ann")
    assert await runtime.end_session(s.code, reason="reported abuse")
    assert s.world.status == "ended"
    assert await ann.expect_closed() == CLOSE_GAME_OVER
    assert not await runtime.end_session(s.code, reason="again")  # already over: nothing to do
    assert not await runtime.end_session("ZZZZ", reason="unknown code")


@run_async
async def test_a_kicked_player_loses_the_seat_and_cannot_rejoin_with_the_token(
    runtime: Runtime, host: Any
) -> None:
    s = await runtime.create(builtin_rulesets()["tag"], host.pk)
    ann, welcome = await player(s.code, "Ann")
    bob, _ = await player(s.code, "Bob")
    assert await runtime.kick(s.code, welcome["playerId"], reason="cheating")
    event = await ann.expect_event("kicked")
    assert event["reason"] == "cheating"
    assert await ann.expect_closed() == CLOSE_KICKED
    assert not s.world.players[welcome["playerId"]].present
    again = await connect(s.code)
    await again.send(type="join", token=welcome["token"])
    assert (await again.expect("error"))["code"] == "kicked"
    assert await again.expect_closed() == CLOSE_KICKED
    assert s.world.status == "stopped" and s.world.players["p2"].present  # Bob plays on
    assert not await runtime.kick(s.code, welcome["playerId"], reason="twice")
    await bob.close()
    await again.close()
