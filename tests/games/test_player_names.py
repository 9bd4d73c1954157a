"""Player names are unique in a session: a join under a name already there is refused."""

from __future__ import annotations

from typing import Any

from gamekit import connect, player, run_async
from test_games_consumers import tag_session

from games.runtime import Runtime


@run_async
async def test_a_taken_name_is_refused_whatever_its_case_and_spacing(
    runtime: Runtime, host: Any
) -> None:
    code = await tag_session(runtime, host)
    ann, _ = await player(code, "Ann Lee")
    c = await connect(code)
    for name in ("ann lee", "  ANN   LEE ", "Ann Lee"):
        await c.send(type="join", name=name)
        err = await c.expect("error")
        assert err["code"] == "name_taken"
        assert "'Ann Lee'" in err["message"] and "another name" in err["message"]
    await c.send(type="join", name="Ann L.")  # the same socket may still join, distinctly
    welcome = await c.expect("welcome")
    assert welcome["world"]["you"]["name"] == "Ann L."
    assert len(runtime.get(code).world.players) == 2  # type: ignore[union-attr]
    await ann.close()
    await c.close()


@run_async
async def test_a_name_stays_taken_while_its_player_is_away(runtime: Runtime, host: Any) -> None:
    code = await tag_session(runtime, host)
    ann, w = await player(code, "Ann")
    await ann.close()  # the phone sleeps; the seat waits for its token
    c = await connect(code)
    await c.send(type="join", name="ANN")
    assert (await c.expect("error"))["code"] == "name_taken"
    back = await connect(code)
    await back.send(type="join", token=w["token"])  # the token still brings Ann back
    assert (await back.expect("welcome"))["playerId"] == w["playerId"]
    await c.close()
    await back.close()
