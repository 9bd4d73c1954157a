"""Whole games through the pages: a GM on a tablet and two players on 390x844 phones, whose
emulated GPS the test walks about, played to game over. The GM places the zones by tapping the
map; the game clock is skipped forward instead of waited for."""

from __future__ import annotations

from typing import Any

from browserkit import (
    click_map,
    console,
    geo,
    join,
    metres,
    phone,
    place_by_tap,
    seen,
    shot,
)
from gamekit import ORIGIN
from liveserver import wait_until
from tiers import GAME_PAGES

from games.engine.geometry import haversine
from games.room import Room
from games.runtime import Runtime

pytestmark = GAME_PAGES


def _point(s: Room, point: str, dx: float = 0.0, dy: float = 0.0) -> tuple[float, float]:
    """Latitude/longitude of a ruleset point as placed, shifted by metres east/north."""
    xy = s.world.ruleset.point_xy(s.world, point)
    assert xy is not None and s.world.frame is not None
    return s.world.frame.to_latlng(xy[0] + dx, xy[1] + dy)


def _walk(ctx: Any, s: Room, pid: str, to: tuple[float, float]) -> None:
    """Move a phone's GPS, let three seconds pass on its page's clock (the page sends at most one
    position a second, and its latest every three seconds) and wait until the server has it."""
    ctx.set_geolocation(geo(to))
    ctx.clock.fast_forward(3000)
    p = s.world.players[pid]
    wait_until(lambda: haversine(p.lat, p.lng, *to) < 0.5, what=f"{pid} at {to}")


def _ended_for_players(pages: list[Any]) -> None:
    for page in pages:
        page.wait_for_selector("#gameover:not([hidden])")
        assert seen(page, "#gameover")["shown"]


def test_tag_played_to_time_up_through_the_pages(
    gm_staff: Any,
    live_runtime: Runtime,
    browser: Any,
) -> None:
    gm, s = console(browser, live_runtime, "tag")
    place_by_tap(gm, s, "arena")

    ann_ctx, bob_ctx = phone(browser, metres(0, 0)), phone(browser, metres(20, 0))
    for ctx in (ann_ctx, bob_ctx):
        ctx.clock.install()
    ann, bob = join(ann_ctx, s.code, "Ann"), join(bob_ctx, s.code, "Bob")
    wait_until(lambda: all(p.has_pos for p in s.world.players.values()), what="positions")
    gm.wait_for_selector("#preflight-head.gm-ready")
    gm.click("#start")
    gm.wait_for_selector("#status[data-status=started]")
    bob.wait_for_selector("#status[data-status=started]")
    ann.wait_for_selector("#objective:has-text('Tag Bob')")

    # Bob walks into Ann, who is it: she passes it on.
    for x in (12.0, 6.0, 1.0):
        _walk(bob_ctx, s, "p2", metres(x, 0))
    bob.wait_for_selector(".pw-toast:has-text('tagged you')")
    assert s.world.players["p2"].state["it"] is True
    gm.wait_for_selector("#log li:has-text('Ann tagged Bob')")
    _walk(ann_ctx, s, "p1", metres(-25, 10))
    shot(gm, "full-tag-gm-running")

    # The ten minutes run out (skipped): Ann, who is not it, wins.
    live_runtime.clock.advance(600)
    gm.wait_for_selector("#summary:not([hidden])")
    assert seen(gm, "#summary-reason")["text"] == "Time ran out."
    assert seen(gm, "#summary-winners")["text"] == "Winners: Ann."
    rows = gm.locator("#summary-scores tr").all_inner_texts()
    assert rows[0].split("\t")[0].strip().startswith("Ann")
    assert gm.locator("#summary-scores tr.gm-winner").count() == 1
    duration = seen(gm, "#summary-duration")["text"]
    assert duration.startswith("10:") or duration.startswith("11:")
    assert seen(gm, "#place-click")["disabled"]
    gm.wait_for_selector("#log li:has-text('Game over: Time ran out.')")
    assert gm.locator("#log li:has-text('time_up')").count() == 0
    _ended_for_players([ann, bob])
    assert "Ann" in (ann.text_content("#gameover-winners") or "")
    gm.locator("#summary").scroll_into_view_if_needed()
    shot(gm, "full-tag-gm-summary")
    shot(bob, "full-tag-bob-game-over")
    assert s.world.status == "ended" and s.world.result is not None
    assert s.world.result["reason"] == "time_up" and s.world.result["winners"] == ["p1"]
    for ctx in (ann_ctx, bob_ctx, gm.context):
        ctx.close()


def test_capture_the_flag_with_the_field_placed_by_tapping_the_map(
    gm_staff: Any,
    live_runtime: Runtime,
    browser: Any,
) -> None:
    gm, s = console(browser, live_runtime, "capture_the_flag")
    gm.wait_for_selector(".leaflet-tooltip:has-text('You')")
    assert gm.input_value("#zone-select") == "field"
    # The field goes 40 m east of the GM: a tap to the right of the centre of the map.
    box = gm.locator("#map").bounding_box()
    assert box is not None
    metres_per_px = gm.evaluate(
        """() => { const m = document.querySelector('.leaflet-control-scale-line');
                   return parseFloat(m.textContent) / m.getBoundingClientRect().width; }"""
    )
    east_px = 40 / metres_per_px
    assert east_px < box["width"] / 2
    click_map(gm, 0.5 + east_px / box["width"], 0.5)
    wait_until(lambda: "field" in s.world.placements, what="the field placed by a tap")
    pl = s.world.placements["field"]
    assert s.world.frame is not None
    origin = s.world.frame.to_latlng(pl.ox, pl.oy)
    assert abs(haversine(*origin, *ORIGIN) - 40) < 4  # where the GM tapped, give or take a pixel
    gm.wait_for_selector(".leaflet-tooltip:has-text('Red base')")
    gm.wait_for_selector(".leaflet-tooltip:has-text('Blue base')")

    red_home = _point(s, "red_flag_home")
    blue_home = _point(s, "blue_flag_home")
    ann_ctx = phone(browser, _point(s, "red_flag_home", 5, 15))
    bob_ctx = phone(browser, _point(s, "blue_flag_home", -5, -25))
    for ctx in (ann_ctx, bob_ctx):
        ctx.clock.install()
    ann, bob = join(ann_ctx, s.code, "Ann"), join(bob_ctx, s.code, "Bob")
    assert s.world.players["p1"].team == "red" and s.world.players["p2"].team == "blue"
    wait_until(lambda: all(p.has_pos for p in s.world.players.values()), what="positions")
    gm.wait_for_selector("#preflight-head.gm-ready")
    gm.locator("#map").scroll_into_view_if_needed()
    shot(gm, "full-ctf-gm-zones-placed")
    gm.click("#start")
    gm.wait_for_selector("#status[data-status=started]")
    ann.wait_for_selector("#objective:has-text('Take the blue flag')")
    gm.wait_for_selector(".leaflet-tooltip:has-text('Blue flag')")

    ann_p = s.world.players["p1"]
    for n in (1, 2, 3):
        _walk(ann_ctx, s, "p1", blue_home)
        wait_until(lambda: ann_p.state["carrying"] is True, what=f"Ann has the flag ({n})")
        if n == 1:
            ann.wait_for_selector("#objective:has-text('Bring the blue flag home')")
        _walk(ann_ctx, s, "p1", red_home)
        wait_until(lambda n=n: ann_p.state["captures"] == n, what=f"capture {n}")
        if n < 3:
            gm.wait_for_selector(f"#log li:has-text('Ann captured for Red') >> nth={n - 1}")

    gm.wait_for_selector("#summary:not([hidden])")
    assert seen(gm, "#summary-reason")["text"] == "A team captured three flags."
    assert seen(gm, "#summary-winners")["text"] == "Winners: Red."
    rows = [r.split("\t") for r in gm.locator("#summary-scores tr").all_inner_texts()]
    assert [c.strip() for c in rows[0]] == ["Ann ★", "Red", "30"]
    assert [c.strip() for c in rows[1]] == ["Bob", "Blue", "0"]
    assert seen(gm, "#place-click")["disabled"] and seen(gm, "#spawn")["disabled"]
    _ended_for_players([ann, bob])
    gm.locator("#summary").scroll_into_view_if_needed()
    shot(gm, "full-ctf-gm-summary")
    shot(ann, "full-ctf-ann-game-over")
    assert s.world.result is not None and s.world.result["winnerTeams"] == ["red"]
    for ctx in (ann_ctx, bob_ctx, gm.context):
        ctx.close()
