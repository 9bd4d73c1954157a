"""A real browser plays Tag: the GM hosts and runs it, two players join from their own pages."""

from __future__ import annotations

from typing import Any

from browserkit import DESKTOP, geo, gm_page, host_on_console, join, metres, phone
from gamekit import ORIGIN
from liveserver import wait_until
from tiers import GAME_PAGES

from games.runtime import Runtime

pytestmark = GAME_PAGES


def test_gm_and_two_players_play_tag_in_real_browsers(
    gm_staff: Any, live_runtime: Runtime, browser: Any
) -> None:
    # The GM signs in through the admin login and lands on the console.
    gm = gm_page(browser, DESKTOP, ORIGIN)
    session = host_on_console(gm, live_runtime, "tag")
    code = session.code
    gm.wait_for_selector("#zone-select option[value=arena]", state="attached")
    gm.click("#place-here")
    wait_until(lambda: "arena" in session.world.placements, what="the arena placed")

    ann_ctx, bob_ctx = phone(browser, metres(0, 0)), phone(browser, metres(20, 0))
    bob_ctx.clock.install()
    ann, bob = join(ann_ctx, code, "Ann"), join(bob_ctx, code, "Bob")
    assert ann.get_attribute("#game", "data-player-id") == "p1"  # first to join is it
    wait_until(
        lambda: all(p.has_pos for p in session.world.players.values()), what="both positions"
    )

    gm.wait_for_selector("#preflight-head.gm-ready")  # the live checklist, before Start
    gm.click("#start")
    gm.wait_for_selector("#status[data-status=started]")
    bob.wait_for_selector("#status[data-status=started]")
    ann.wait_for_selector("#objective:has-text('Tag Bob')")

    # Bob walks up to Ann, who is it: a tag. Three seconds a step pass on his page's clock (it
    # sends at most one position a second, and its latest every three seconds).
    for x in (12, 6, 1):
        bob_ctx.set_geolocation(geo(metres(x, 0)))
        bob_ctx.clock.fast_forward(3000)
    bob.wait_for_selector(".pw-toast:has-text('tagged you')")
    assert session.world.players["p2"].state["it"] is True

    # The GM reloads mid-game: the console reconnects and replays the world.
    gm.reload()
    gm.wait_for_function(f"document.getElementById('session-code').textContent === '{code}'")
    gm.wait_for_selector("#status[data-status=started]")
    gm.wait_for_selector("#players li:has-text('Bob')")
    gm.wait_for_selector("#log li:has-text('tagged')")

    # Bob reloads: he rejoins the same seat with his stored token.
    bob.reload()
    bob.wait_for_selector("#game[data-player-id=p2]:not([hidden])")
    assert len(session.world.players) == 2

    gm.click("#end")
    for page in (ann, bob):
        page.wait_for_selector("#gameover:not([hidden])")
        assert "The game master ended the game." in (page.text_content("#gameover-reason") or "")
        assert "Ann" in (page.text_content("#scores") or "")
    assert session.world.status == "ended"
    for ctx in (gm.context, ann_ctx, bob_ctx):
        ctx.close()
