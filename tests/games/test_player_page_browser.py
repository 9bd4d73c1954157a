"""The player page in a real browser at phone (390x844) and desktop size: what a person sees.

Every session is hosted through the runtime (the GM console has its own browser tests); the
players are Chromium pages with emulated geolocation. Map tiles come from the test server.
Screenshots land in var/screenshots/.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from browserkit import (
    accessibility,
    desktop,
    geo,
    gm,
    host,
    join,
    metres,
    phone,
    pixel_colours,
    place,
    seen,
    shot,
    tab_order,
    top_element_at_map_centre,
)
from liveserver import live_server, wait_until
from tiers import GAME_PAGES

from games.runtime import Runtime

pytestmark = GAME_PAGES


def _positions(s: Any, n: int) -> None:
    wait_until(lambda: sum(p.has_pos for p in s.world.players.values()) >= n, what=f"{n} positions")


def _not_found(page: Any) -> list[str]:
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    return missing


# --- the map ---------------------------------------------------------------------------------


def test_phone_map_shows_local_tiles_zone_players_and_own_accuracy(
    local_tiles: list[str], live_runtime: Runtime, browser: Any
) -> None:
    s = host(live_runtime, "tag")
    place(live_runtime, s.code, "arena")
    ann_ctx, bob_ctx = phone(browser, metres(0, 0)), phone(browser, metres(25, 10))
    ann_page = ann_ctx.new_page()
    missing = _not_found(ann_page)
    ann_page.goto(f"{live_server().url}/games/play/{s.code}/")
    ann_page.fill("#name", "Ann")
    ann_page.click("#join")
    ann = ann_page
    ann.wait_for_selector("#game:not([hidden])")
    join(bob_ctx, s.code, "Bob")
    _positions(s, 2)
    ann.wait_for_selector(".pw-label:has-text('Bob')")
    ann.wait_for_selector(".pw-label:has-text('Ann (IT) · you')")
    ann.wait_for_selector(".pw-zone-label:has-text('Arena')")
    box = ann.locator("#map").bounding_box()
    assert box is not None and box["width"] >= 200 and box["height"] >= 200
    ann.wait_for_function(
        "[...document.querySelectorAll('#map img.leaflet-tile-loaded')]"
        ".some(i => i.complete && i.naturalWidth === 256)"
    )
    srcs = ann.eval_on_selector_all("#map img.leaflet-tile", "els => els.map(e => e.src)")
    assert srcs and all("/test-tiles/" in src for src in srcs)
    assert local_tiles  # served by the test server, not the internet
    # The viewer's GPS accuracy (6 m) is a circle around their dot: about 12 m across.
    ring = ann.locator("#map path.pw-accuracy").bounding_box()
    px_per_metre = ann.evaluate(
        "() => { const m = document.getElementById('map').pwMap.leaflet;"
        " const a = m.containerPointToLatLng([0, 100]), b = m.containerPointToLatLng([100, 100]);"
        " return 100 / a.distanceTo(b); }"
    )
    assert ring is not None
    assert abs(ring["width"] - 12 * px_per_metre) < 3, (ring, px_per_metre)
    png = shot(ann.locator("#map"), "phone-map-tiles")
    assert pixel_colours(png) > 50
    shot(ann, "phone-page-tiles")
    assert ann.get_attribute("link[rel=icon]", "href")
    assert not missing, missing  # favicon, Leaflet, tiles: nothing 404s


def test_desktop_grid_map_is_sized_and_drawn_after_the_join_screen(
    grid_map: None, live_runtime: Runtime, browser: Any
) -> None:
    s = host(live_runtime, "capture_the_flag")
    place(live_runtime, s.code, "field")
    ctx = desktop(browser, metres(-60, 0))
    ctx.clock.install()
    page = join(ctx, s.code, "Ann")
    join(phone(browser, metres(60, 0)), s.code, "Bob")
    _positions(s, 2)
    gm(live_runtime, s.code, {"type": "gm.start"})
    page.wait_for_selector("#status[data-status=started]")
    page.wait_for_selector("#countdown:not([hidden])")
    page.clock.run_for(7000)  # 5, 4, 3, 2, 1, "Go!" and a moment after
    page.wait_for_selector("#countdown", state="hidden")
    # Both flags: team colour, and a different shape and letter per team.
    page.wait_for_selector(".pw-flag-red")
    page.wait_for_selector(".pw-flag-blue")
    assert page.text_content(".pw-flag-red text") == "R"
    assert page.text_content(".pw-flag-blue text") == "B"
    shapes = page.eval_on_selector_all(".pw-flag path", "els => els.map(e => e.getAttribute('d'))")
    assert len(set(shapes)) == 2
    # "Take the blue flag": a dashed line leads from Ann to it.
    page.wait_for_selector("#objective:has-text('blue flag')")
    assert page.locator("#map path.pw-target").count() == 1
    box = page.locator("#map").bounding_box()
    assert box is not None and box["width"] >= 600 and box["height"] >= 200
    assert page.locator("#map img.leaflet-tile").count() == 0  # no tile server: the grid
    assert "grid" in (page.text_content(".pw-grid-label") or "")
    # Grid tiles are bare canvases: no page style frames them (that drew seams across the map).
    assert page.eval_on_selector_all(
        "#map canvas",
        "els => els.length > 0 && els.every(e => getComputedStyle(e).borderTopWidth === '0px')",
    )
    # Labels never cover each other.
    rects = page.eval_on_selector_all(
        ".leaflet-tooltip.pw-label:not(.pw-label-hidden)",
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [r.left, r.top, r.right, r.bottom]; })",
    )
    for i, a in enumerate(rects):
        for b in rects[i + 1 :]:
            assert not (a[0] < b[2] and a[2] > b[0] and a[1] < b[3] and a[3] > b[1]), (a, b)
    png = shot(page.locator("#map"), "desktop-map-grid-ctf")
    assert pixel_colours(png) > 20
    shot(page, "desktop-page-grid-ctf")


# --- overlays, countdown, game over ---------------------------------------------------------


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_countdown_overlay_never_covers_join_screen_map_or_game_over(
    size: str, grid_map: None, live_runtime: Runtime, browser: Any
) -> None:
    s = host(live_runtime, "tag")
    place(live_runtime, s.code, "arena")
    ctx = phone(browser, metres(0, 0)) if size == "phone" else desktop(browser, metres(0, 0))
    ctx.clock.install()
    page = ctx.new_page()
    page.goto(f"{live_server().url}/games/play/{s.code}/")
    # The hidden overlay is not displayed, so nothing dims or blocks the join form.
    assert seen(page, "#countdown")["display"] == "none"
    assert (
        page.evaluate(
            "() => { const b = document.getElementById('join').getBoundingClientRect();"
            " return document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2).id; }"
        )
        == "join"
    )
    page.fill("#name", "Ann")
    page.click("#join")
    page.wait_for_selector("#game:not([hidden])")
    join(phone(browser, metres(15, 0)), s.code, "Bob")
    _positions(s, 2)
    gm(live_runtime, s.code, {"type": "gm.start"})
    page.wait_for_selector("#countdown:not([hidden])")
    shot(page, f"{size}-countdown-running")
    page.clock.run_for(5000)  # 3, 2, 1, "Scatter!" and a moment after
    page.wait_for_selector("#countdown", state="hidden")
    assert seen(page, "#countdown")["display"] == "none"
    assert top_element_at_map_centre(page)
    shot(page, f"{size}-after-countdown")
    gm(live_runtime, s.code, {"type": "gm.end"})
    page.wait_for_selector("#gameover:not([hidden])")
    assert seen(page, "#countdown")["display"] == "none"
    assert seen(page, "#game")["display"] == "none"
    assert seen(page, "#join-screen")["display"] == "none"
    shot(page, f"{size}-game-over")


def test_countdown_freezes_while_paused_and_is_gone_when_done(
    grid_map: None, live_runtime: Runtime, browser: Any
) -> None:
    s = host(live_runtime, "tag")
    place(live_runtime, s.code, "arena")
    ctx = phone(browser, metres(0, 0))
    ctx.clock.install()
    page = join(ctx, s.code, "Ann")
    join(phone(browser, metres(15, 0)), s.code, "Bob")
    _positions(s, 2)
    page.clock.pause_at(page.evaluate("Date.now()") + 1000)
    gm(live_runtime, s.code, {"type": "gm.start"})
    page.wait_for_selector("#countdown:has-text('3')")
    page.clock.run_for(1000)
    page.wait_for_selector("#countdown:has-text('2')")
    gm(live_runtime, s.code, {"type": "gm.stop"})
    page.wait_for_selector("#status[data-status=stopped]")
    page.clock.run_for(5000)  # paused: the countdown waits with the game
    assert page.text_content("#countdown") == "2"
    assert seen(page, "#countdown")["display"] != "none"
    gm(live_runtime, s.code, {"type": "gm.start"})
    page.wait_for_selector("#status[data-status=started]")
    page.clock.run_for(1000)
    page.wait_for_selector("#countdown:has-text('1')")
    page.clock.run_for(1000)
    page.wait_for_selector("#countdown:has-text('Scatter!')")
    page.clock.run_for(1500)
    page.wait_for_selector("#countdown", state="hidden")
    assert seen(page, "#countdown")["display"] == "none"


def test_game_over_says_why_and_how_long_in_words(
    grid_map: None, live_runtime: Runtime, browser: Any
) -> None:
    s = host(live_runtime, "tag")
    place(live_runtime, s.code, "arena")
    page = join(phone(browser, metres(0, 0)), s.code, "Ann")
    join(phone(browser, metres(15, 0)), s.code, "Bob")
    _positions(s, 2)
    gm(live_runtime, s.code, {"type": "gm.start"})
    page.wait_for_selector("#status[data-status=started]")
    live_runtime.clock.advance(134.6)  # two and a quarter minutes of play
    page.wait_for_selector("#remaining:has-text('7:4')")  # 10:00 - 2:15 = 7:45 left
    assert re.fullmatch(r"\d+:\d\d left", page.text_content("#remaining") or "")
    gm(live_runtime, s.code, {"type": "gm.end"})
    page.wait_for_selector("#gameover:not([hidden])")
    page.wait_for_selector("#gameover-reason:has-text('Played for 2:1')")
    reason = page.text_content("#gameover-reason") or ""
    assert reason.startswith("The game master ended the game.")
    assert "Reason" not in reason and " gm" not in reason
    assert not re.search(r"\d+\.\d+ ?s\b", page.text_content("#gameover") or "")
    shot(page, "phone-game-over-words")


# --- messages that must stay readable ---------------------------------------------------------


def test_refused_move_message_stays_readable_through_world_updates(
    grid_map: None, live_runtime: Runtime, browser: Any
) -> None:
    s = host(live_runtime, "capture_the_flag")
    place(live_runtime, s.code, "field")
    ctx = phone(browser, metres(0, 0))
    ctx.clock.install()
    page = join(ctx, s.code, "Ann")
    _positions(s, 1)
    ctx.set_geolocation(geo(metres(0, 30)))  # into the pond, which is off limits
    ctx.clock.fast_forward(3000)  # the page sends its latest position every three seconds
    notice = page.locator(".pw-notice:has-text('Pond')")
    notice.wait_for()
    seen = int(page.get_attribute("#game", "data-updates") or 0)
    page.wait_for_function(f"+document.getElementById('game').dataset.updates >= {seen + 4}")
    page.clock.run_for(3000)
    assert notice.is_visible()
    assert "off limits" in (notice.text_content() or "")
    shot(page, "phone-refusal-notice")
    notice.get_by_role("button", name=re.compile("Dismiss")).click()
    page.wait_for_selector(".pw-notice:has-text('Pond')", state="detached")


# --- claims (Assassin) -----------------------------------------------------------------------


def test_claim_waiting_and_answers_show_on_both_phones(
    grid_map: None, live_runtime: Runtime, browser: Any
) -> None:
    s = host(live_runtime, "assassin")
    place(live_runtime, s.code, "grounds")
    pages = {}
    for name, x in (("Ann", 0), ("Bob", 2), ("Cid", -2)):
        pages[name] = join(phone(browser, metres(x, 0)), s.code, name)
    _positions(s, 3)
    gm(live_runtime, s.code, {"type": "gm.start"})
    ann = pages["Ann"]
    ann.wait_for_selector("#status[data-status=started]")
    target = s.world.players[s.world.players["p1"].state["targetId"]].name
    them = pages[target]

    def claim() -> None:
        ann.click(f"#actions button:has-text('Eliminate {target}')")
        ann.wait_for_selector(f"#claim-status:has-text('Waiting for {target} to confirm')")
        them.wait_for_selector(".pw-claim:has-text('Ann says')")
        them.wait_for_selector(".pw-claim:has-text('s left to answer')")

    claim()
    shot(ann, "claim-waiting-claimant")
    shot(them, "claim-asked-target")
    for page in (ann, them):  # the alert, its buttons and the waiting note: named and readable
        report = accessibility(page)
        assert not report["unlabelled"] and not report["lowContrast"], report
    them.keyboard.press("Tab")  # the alert took focus to Confirm; Tab reaches Deny
    assert them.evaluate("document.activeElement.textContent") == "Deny"
    them.click(".pw-claim button:has-text('Deny')")
    ann.wait_for_selector(f"#claim-status:has-text('{target} denied your claim.')")
    them.wait_for_selector('#claim-status:has-text("You denied Ann\'s claim")')

    claim()
    live_runtime.clock.advance(25)  # the claim times out (20 s) without an answer
    ann.wait_for_selector(f"#claim-status:has-text('No answer from {target}')")
    them.wait_for_selector('#claim-status:has-text("Ann\'s claim expired before you answered")')
    assert them.locator(".pw-claim").count() == 0

    claim()
    them.click(".pw-claim button:has-text('Confirm')")
    ann.wait_for_selector(f"#claim-status:has-text('{target} confirmed')")
    them.wait_for_selector('#claim-status:has-text("You confirmed Ann\'s claim")')
    shot(ann, "claim-confirmed-claimant")
    shot(them, "claim-confirmed-target")
    wait_until(lambda: s.world.players[s.world.players["p1"].state["targetId"]].name != target)


# --- seats: names, saved seats, another tab ---------------------------------------------------


def test_duplicate_name_is_refused_on_the_join_screen(
    grid_map: None, live_runtime: Runtime, browser: Any
) -> None:
    s = host(live_runtime, "tag")
    join(phone(browser, metres(0, 0)), s.code, "Ann")
    page = phone(browser, metres(5, 0)).new_page()
    page.goto(f"{live_server().url}/games/play/{s.code}/")
    page.fill("#name", "ann")
    page.click("#join")
    page.wait_for_selector("#join-error:has-text('already called')")
    assert seen(page, "#game")["display"] == "none"
    assert len(s.world.players) == 1
    page.fill("#name", "Ann B")
    page.click("#join")
    page.wait_for_selector("#game:not([hidden])")
    assert page.text_content("#you") == "Ann B"


def test_saved_seat_is_offered_not_forced_when_a_new_name_is_typed(
    grid_map: None, live_runtime: Runtime, browser: Any
) -> None:
    s = host(live_runtime, "tag")
    ctx = phone(browser, metres(0, 0))
    first = join(ctx, s.code, "Ann")
    assert first.get_attribute("#game", "data-player-id") == "p1"
    first.close()

    def offer() -> Any:
        page = ctx.new_page()
        page.goto(f"{live_server().url}/games/play/")
        page.fill("#code", s.code.lower())
        page.fill("#name", "Zed")
        page.click("#join")
        page.wait_for_selector("#seat-offer:not([hidden])")
        assert "already plays in" in (page.text_content("#seat-offer-text") or "")
        assert seen(page, "#game")["display"] == "none"
        return page

    page = offer()
    shot(page, "phone-seat-offer")
    page.click("#seat-rejoin")
    page.wait_for_selector("#game[data-player-id=p1]:not([hidden])")
    page.close()
    page = offer()
    page.click("#seat-new")
    page.wait_for_selector("#game[data-player-id=p2]:not([hidden])")
    assert page.text_content("#you") == "Zed"
    assert [p.name for p in s.world.players.values()] == ["Ann", "Zed"]


def test_tab_that_lost_its_seat_says_so_and_can_take_it_back(
    grid_map: None, live_runtime: Runtime, browser: Any
) -> None:
    s = host(live_runtime, "tag")
    ctx = phone(browser, metres(0, 0))
    one = join(ctx, s.code, "Ann")
    two = ctx.new_page()
    two.goto(f"{live_server().url}/games/play/{s.code}/")  # same phone, same saved seat
    two.wait_for_selector("#game[data-player-id=p1]:not([hidden])")
    one.wait_for_selector("#replaced:not([hidden])")
    assert "another tab or phone" in (one.text_content("#replaced") or "")
    shot(one, "phone-seat-taken-by-other-tab")
    one.click("#take-back")
    two.wait_for_selector("#replaced:not([hidden])")
    one.wait_for_selector("#replaced", state="hidden")
    assert seen(one, "#replaced")["display"] == "none"
    assert len(s.world.players) == 1


# --- favicon and accessibility ---------------------------------------------------------------


def test_favicon_is_a_real_icon(live_runtime: Runtime) -> None:
    r = httpx.get(f"{live_server().url}/favicon.ico")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/x-icon"
    assert r.content[:4] == b"\x00\x00\x01\x00"  # the ICO header


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_player_page_controls_are_labelled_reachable_and_readable(
    size: str, local_tiles: list[str], live_runtime: Runtime, browser: Any
) -> None:
    s = host(live_runtime, "tag")
    place(live_runtime, s.code, "arena")
    ctx = phone(browser, metres(0, 0)) if size == "phone" else desktop(browser, metres(0, 0))
    ctx.clock.install()
    page = ctx.new_page()
    page.goto(f"{live_server().url}/games/play/{s.code}/")
    report = accessibility(page)
    assert not report["unlabelled"] and not report["lowContrast"], report
    order = tab_order(page, 6)
    assert {"#code", "#name", "#join"} <= set(order)
    page.focus("#name")
    page.keyboard.type("Ann")
    page.keyboard.press("Enter")  # the form submits from the keyboard
    page.wait_for_selector("#game:not([hidden])")
    join(phone(browser, metres(3, 0)), s.code, "Bob")
    _positions(s, 2)
    gm(live_runtime, s.code, {"type": "gm.start"})
    page.wait_for_selector("#status[data-status=started]")
    page.wait_for_selector(".pw-label:has-text('Bob')")
    page.wait_for_selector("#countdown:not([hidden])")
    page.clock.run_for(5000)  # 3, 2, 1, "Scatter!" and a moment after
    page.wait_for_selector("#countdown", state="hidden")
    report = accessibility(page)
    assert not report["unlabelled"] and not report["lowContrast"], report
    order = tab_order(page, 30)
    for wanted in ("#map", "#chat-text", "#chat-send"):
        assert wanted in order, (wanted, order)
    assert any("Zoom in" in o or "leaflet-control-zoom-in" in o for o in order), order
    shot(page, f"{size}-a11y-game")


def test_gm_message_stays_and_a_removed_player_is_told_why(
    grid_map: None, live_runtime: Runtime, browser: Any
) -> None:
    s = host(live_runtime, "tag")
    ctx = phone(browser, metres(0, 0))
    page = join(ctx, s.code, "Ann")
    gm(live_runtime, s.code, {"type": "gm.message", "playerId": "p1", "text": "Come to the oak"})
    note = page.locator(".pw-notice:has-text('Game master: Come to the oak')")
    note.wait_for()
    gm(live_runtime, s.code, {"type": "gm.kick", "playerId": "p1"})
    page.wait_for_selector("#join-screen:not([hidden])")
    assert "removed you" in (page.text_content("#join-error") or "")
    assert seen(page, "#game")["display"] == "none"
    page.reload()  # the seat is gone from this phone: no silent rejoin
    page.wait_for_selector("#join-screen:not([hidden])")
    assert seen(page, "#game")["display"] == "none"
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('pw.seat'))") == []
