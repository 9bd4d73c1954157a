"""The GM console in a real browser, at tablet and phone size: what the game master sees."""

from __future__ import annotations

import math
import re
from typing import Any

from browserkit import (
    PHONE,
    TABLET,
    WIDE,
    click_map,
    console,
    contrast_failures,
    geo,
    host_on_console,
    join,
    metres,
    on_server,
    overflow,
    phone,
    place_by_tap,
    seen,
    shot,
)
from gamekit import ORIGIN
from liveserver import live_server, wait_until
from tiers import GAME_PAGES

from games.engine.geometry import haversine
from games.room import Room
from games.runtime import Runtime

pytestmark = GAME_PAGES


def _origin_of(s: Room, zone: str) -> tuple[float, float]:
    pl = s.world.placements[zone]
    assert s.world.frame is not None
    return s.world.frame.to_latlng(pl.ox, pl.oy)


def _checklist(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("#preflight li").all_inner_texts()]


def test_tablet_console_bots_tap_to_place_live_preflight_duplicates_qr_and_game_switch(
    gm_staff: Any,
    live_runtime: Runtime,
    browser: Any,
) -> None:
    gm, s = console(browser, live_runtime, "tag")

    # The pre-flight is a live checklist from the start, before anyone presses Start.
    gm.wait_for_selector("#preflight li.gm-fail")
    assert seen(gm, "#preflight-head")["text"].startswith("Not ready")
    assert 'Required zone "Arena" is not placed' in " ".join(_checklist(gm))

    # Bots: the box shows the real count, and pressing Set with it keeps the bots.
    gm.fill("#bot-runner", "2")
    gm.click("#bots button:has-text('Set')")
    wait_until(lambda: s.world.bot_counts.get("runner") == 2, what="two bots")
    gm.wait_for_function("document.getElementById('bot-runner').value === '2'")
    gm.click("#bots button:has-text('Set')")
    gm.wait_for_timeout(600)  # a few ticks of worlds; the box must still say 2
    assert gm.input_value("#bot-runner") == "2"
    assert s.world.bot_counts["runner"] == 2

    # The GM's own position is on the map, and the zone goes where the GM taps.
    gm.wait_for_selector(".leaflet-tooltip:has-text('You')")
    zone = seen(gm, "#zone-select")
    assert zone["shown"] and zone["text"]
    assert gm.input_value("#zone-select") == "arena"
    assert seen(gm, "#map-hint")["text"].startswith("Tap the map where “Arena” should go")
    box = gm.locator("#map").bounding_box()
    assert box is not None and box["width"] > 400 and box["height"] > 400
    click_map(gm, 0.5, 0.5)
    wait_until(lambda: "arena" in s.world.placements, what="the arena placed by a tap")
    assert haversine(*_origin_of(s, "arena"), *ORIGIN) < 3  # the view centres on the GM
    gm.wait_for_selector("#preflight li.gm-pass:has-text('Zone “Arena” placed')")
    gm.wait_for_selector(".leaflet-overlay-pane path.leaflet-interactive")

    # "Place at my position" follows the device, not the view.
    gm.context.set_geolocation(geo(metres(30, 0)))
    gm.wait_for_timeout(300)
    gm.click("#place-me")
    wait_until(
        lambda: haversine(*_origin_of(s, "arena"), *metres(30, 0)) < 1.5,
        what="the arena at the GM's position",
    )

    # Two players: each row carries a short id, so similar names are told apart.
    ctx, ctx2 = phone(browser, metres(0, 0)), phone(browser, metres(5, 0))
    join(ctx, s.code, "Ann")
    join(ctx2, s.code, "Anne")
    gm.wait_for_selector("#players li[data-player-id=p2]")
    rows = gm.locator("#players summary").all_inner_texts()
    assert len(rows) == 2
    assert "Ann" in rows[0] and "#p1" in rows[0] and "Anne" in rows[1] and "#p2" in rows[1]
    gm.fill("#bot-runner", "0")
    gm.click("#bots button:has-text('Set')")
    gm.wait_for_selector("#preflight-head.gm-ready")
    assert seen(gm, "#preflight-head")["text"] == "Ready to start"
    assert any("2 players" in t for t in _checklist(gm))

    # The QR code of the join link is drawn (an SVG from the server).
    qr = seen(gm, "#qr")
    assert qr["shown"] and qr["width"] >= 100
    assert gm.evaluate("document.getElementById('qr').naturalWidth") > 0
    assert s.code in (gm.get_attribute("#qr", "alt") or "")
    shot(gm, "gm-console-tablet")
    assert overflow(gm) == []
    assert contrast_failures(gm) == []

    # On a desktop the players, log and chat get their own column beside the map.
    gm.set_viewport_size(WIDE)
    gm.wait_for_timeout(300)
    m, players = seen(gm, "#map"), seen(gm, "#players-card")
    assert players["x"] >= m["right"] - 1 and players["y"] < m["y"] + m["height"]
    assert overflow(gm) == []
    shot(gm, "gm-console-desktop")
    gm.set_viewport_size(TABLET)

    # Another game in the same tab: the zone list is filled and placing works at once.
    gm.click("#leave")
    gm.wait_for_selector("#library:not([hidden])")
    bomb = host_on_console(gm, live_runtime, "bomb_tag")
    assert bomb.code != s.code
    gm.wait_for_function("document.getElementById('zone-select').value !== ''")
    assert seen(gm, "#zone-select")["text"].strip() != ""
    gm.click("#place-here")
    wait_until(lambda: bool(bomb.world.placements), what="a Bomb Tag zone placed")
    ctx.close()
    ctx2.close()
    gm.context.close()


def test_phone_console_fits_and_ends_with_a_summary_then_offers_a_new_game(
    gm_staff: Any,
    live_runtime: Runtime,
    browser: Any,
) -> None:
    gm, s = console(browser, live_runtime, "tag", PHONE)
    gm.wait_for_selector("#preflight li")
    assert overflow(gm) == []
    for sel in ("#start", "#pause", "#end", "#leave", "#place-click", "#place-me", "#zone-select"):
        box = seen(gm, sel)
        assert box["shown"], sel
        assert box["height"] >= 40 and box["x"] >= 0 and box["right"] <= PHONE["width"], sel
    assert seen(gm, "#start")["text"] == "Start"
    assert seen(gm, "#pause")["disabled"] and not seen(gm, "#start")["disabled"]
    code = seen(gm, "#session-code")
    assert code["shown"] and code["text"] == s.code and code["right"] <= PHONE["width"]
    m = seen(gm, "#map")
    assert m["shown"] and m["width"] >= PHONE["width"] - 30 and m["height"] >= 260
    # The map comes right after the session head on a phone.
    assert m["y"] < seen(gm, "#preflight-card")["y"]
    assert contrast_failures(gm) == []
    shot(gm, "gm-console-phone")
    shot(gm, "gm-console-phone-full", full=True)

    gm.locator("#map").scroll_into_view_if_needed()
    click_map(gm, 0.5, 0.5)
    wait_until(lambda: "arena" in s.world.placements, what="the arena placed on a phone")
    a, b = phone(browser, metres(0, 0)), phone(browser, metres(20, 0))
    ann, bob = join(a, s.code, "Ann"), join(b, s.code, "Bob")
    wait_until(lambda: all(p.has_pos for p in s.world.players.values()), what="positions")
    gm.click("#start")
    gm.wait_for_selector("#status[data-status=started]")
    assert seen(gm, "#status")["text"] == "Running"
    assert seen(gm, "#place-click")["disabled"] and seen(gm, "#start")["disabled"]
    assert not seen(gm, "#preflight-card")["shown"]
    live_runtime.clock.advance(95)  # 1:35 of play, without sitting through it
    wait_until(lambda: s.world.elapsed() >= 95, what="time to pass")
    gm.click("#end")
    gm.wait_for_selector("#summary:not([hidden])")
    assert seen(gm, "#status")["text"] == "Game over"
    assert seen(gm, "#summary-reason")["text"] == "The game master ended the game."
    assert seen(gm, "#summary-winners")["text"] == "No winner."
    duration = seen(gm, "#summary-duration")["text"]
    assert re.fullmatch(r"\d\d:\d\d", duration)
    mins, secs = map(int, duration.split(":"))
    assert 95 <= mins * 60 + secs <= 110  # 1:35 skipped, plus the few real seconds of the test
    scores = gm.locator("#summary-scores tr").all_inner_texts()
    assert len(scores) == 2 and {"Ann", "Bob"} == {r.split("\t")[0].strip() for r in scores}
    for sel in ("#place-click", "#place-me", "#place-here", "#spawn", "#start", "#end"):
        if gm.locator(sel).count() and seen(gm, sel)["shown"]:
            assert seen(gm, sel)["disabled"], sel
    assert "Game over" not in (gm.text_content("#summary-reason") or "")
    assert "gm" not in seen(gm, "#summary")["text"].split()  # no raw reason codes
    gm.locator("#summary").scroll_into_view_if_needed()
    shot(gm, "gm-summary-phone")
    assert overflow(gm) == []

    # /games/gm/ no longer reopens the ended game: it offers a new one, with the last result.
    gm.goto(f"{live_server().url}/games/gm/")
    gm.wait_for_selector("#library:not([hidden])")
    gm.wait_for_selector("#last-result:not([hidden])")
    assert not seen(gm, "#session")["shown"]
    last = seen(gm, "#last-result")["text"]
    assert s.code in last and "The game master ended the game." in last and duration in last
    assert seen(gm, "button[data-game=tag]")["shown"]
    shot(gm, "gm-library-after-game-phone")
    for ctx in (a, b, gm.context):
        ctx.close()
    assert ann and bob and math.isfinite(s.world.elapsed())


def test_phone_gm_messages_moves_sets_state_and_removes_players(
    gm_staff: Any,
    live_runtime: Runtime,
    browser: Any,
) -> None:
    gm, s = console(browser, live_runtime, "capture_the_flag", PHONE)
    a, b = phone(browser, metres(-20, 0)), phone(browser, metres(20, 0))
    ann, bob = join(a, s.code, "Ann"), join(b, s.code, "Bob")
    gm.wait_for_selector("#players li[data-player-id=p2]")
    assert seen(gm, "#player-count")["text"] == "(2)"

    # Ann's controls open under her name and fit the phone.
    gm.click("#players li[data-player-id=p1] summary")
    for sel in (".gm-msg button", ".gm-team select", ".gm-team button", ".gm-state button"):
        box = seen(gm, f"#players li[data-player-id=p1] {sel}")
        assert box["shown"] and box["right"] <= PHONE["width"] and box["height"] >= 40, sel
    assert overflow(gm) == []
    row = "#players li[data-player-id=p1]"
    gm.select_option(f"{row} .gm-team select", "blue")
    gm.wait_for_timeout(800)  # the GM takes a moment: worlds arrive before Move is pressed
    gm.click(f"{row} .gm-team button")
    wait_until(lambda: s.world.players["p1"].team == "blue", what="Ann moved to Blue")
    gm.wait_for_selector(f"{row} .gm-pstate:has-text('Blue')")
    gm.select_option(f"{row} .gm-state select", "score")
    gm.fill(f"{row} .gm-state input", "5")
    gm.click(f"{row} .gm-state button")
    wait_until(lambda: s.world.players["p1"].state["score"] == 5, what="Ann's score set")
    gm.wait_for_selector(f"{row} .gm-pstate:has-text('score: 5')")  # the GM sees it first
    gm.fill(f"{row} .gm-state input", "lots")
    gm.click(f"{row} .gm-state button")
    gm.wait_for_selector("#message:has-text('score holds')")
    assert s.world.players["p1"].state["score"] == 5
    gm.locator(row).scroll_into_view_if_needed()
    shot(gm, "gm-player-controls-phone")

    # A message to Bob stays on his phone until he dismisses it.
    bob.clock.install()
    gm.click("#players li[data-player-id=p2] summary")
    gm.fill("#players li[data-player-id=p2] .gm-msg input", "Come to the red base")
    gm.click("#players li[data-player-id=p2] .gm-msg button")
    notice = bob.locator(".pw-notice:has-text('Come to the red base')")
    notice.wait_for()
    assert "Game master" in notice.inner_text()
    assert ann.locator(".pw-notice:has-text('Come to the red base')").count() == 0
    bob.clock.fast_forward("02:00")
    bob.wait_for_timeout(100)
    assert notice.is_visible()
    shot(bob, "phone-gm-message")
    notice.locator("button").click()
    notice.wait_for(state="detached")

    # Removing Ann: her phone says so, and a reload does not put her back in her seat.
    gm.click(f"{row} .gm-kick")
    ann.wait_for_selector("#join-error:has-text('removed you')")
    assert seen(ann, "#join-error")["shown"]
    gm.wait_for_selector(f"{row}", state="detached")
    assert seen(gm, "#player-count")["text"] == "(1)"
    ann.reload()
    ann.wait_for_timeout(500)
    assert not seen(ann, "#game")["shown"]
    assert not s.world.players["p1"].present
    assert [v.player_id for v in s.viewers.values() if v.role == "player"] == ["p2"]
    for ctx in (a, b, gm.context):
        ctx.close()


def _field_box(page: Any) -> dict[str, float]:
    """The screen box of the largest zone drawn on the map (the field)."""
    box: dict[str, float] = page.evaluate(
        """() => { let best = null;
          const paths = '.leaflet-overlay-pane path.leaflet-interactive';
          for (const p of document.querySelectorAll(paths)) {
            const r = p.getBoundingClientRect();
            if (!best || r.width * r.height > best.width * best.height) best = r;
          }
          return {x: best.left, y: best.top, width: best.width, height: best.height}; }"""
    )
    return box


def _drag(page: Any, x0: float, y0: float, x1: float, y1: float) -> None:
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x0 + (x1 - x0) * i / 10, y0 + (y1 - y0) * i / 10)
    page.mouse.up()


def test_tablet_gm_drags_turns_and_resizes_the_field_on_the_map(
    gm_staff: Any,
    live_runtime: Runtime,
    browser: Any,
) -> None:
    gm, s = console(browser, live_runtime, "capture_the_flag")
    place_by_tap(gm, s, "field")
    gm.wait_for_selector(".gm-scale-handle")
    gm.wait_for_timeout(400)  # the view fits the new field
    per_px = gm.evaluate(
        """() => { const m = document.querySelector('.leaflet-control-scale-line');
                   return parseFloat(m.textContent) / m.getBoundingClientRect().width; }"""
    )
    before = _origin_of(s, "field")

    # Drag: the field's centre moves with the pointer.
    b = _field_box(gm)
    x, y = b["x"] + b["width"] * 0.3, b["y"] + b["height"] * 0.75
    _drag(gm, x, y, x + 60, y)
    wait_until(lambda: _origin_of(s, "field") != before, what="the field dragged")
    moved = haversine(*before, *_origin_of(s, "field"))
    assert abs(moved - 60 * per_px) < 0.2 * 60 * per_px + 1
    assert s.world.placements["field"].scale == 1.0

    # Resize: the square handle, pulled outwards, scales the field up.
    gm.wait_for_timeout(400)
    h = gm.locator(".gm-scale-handle").bounding_box()
    assert h is not None
    b = _field_box(gm)
    cx, cy = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
    hx, hy = h["x"] + h["width"] / 2, h["y"] + h["height"] / 2
    _drag(gm, hx, hy, cx + (hx - cx) * 1.5, cy + (hy - cy) * 1.5)
    wait_until(lambda: s.world.placements["field"].scale > 1.2, what="the field scaled up")
    assert 1.3 < s.world.placements["field"].scale < 1.7
    want = str(round(s.world.placements["field"].scale, 2))
    # The box follows with the next world frame the console receives.
    gm.wait_for_function("(w) => document.getElementById('scale').value === w", arg=want)

    # Turn: Geoman's rotation corner, dragged a quarter turn round the centre.
    gm.click(".leaflet-control-zoom-out")  # the bigger field fits the view again
    gm.wait_for_timeout(600)
    b = _field_box(gm)
    cx, cy = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
    corners = gm.evaluate(
        """() => [...document.querySelectorAll('.leaflet-marker-pane .marker-icon')]
                  .map((m) => { const r = m.getBoundingClientRect();
                                return [r.left + r.width / 2, r.top + r.height / 2]; })"""
    )
    assert corners, "Geoman shows rotation corners on the selected field"
    kx, ky = max(corners, key=lambda c: c[0] + c[1])  # the south-east corner
    dx, dy = kx - cx, ky - cy
    gm.mouse.move(kx, ky)
    gm.mouse.down()
    for i in range(1, 19):
        a = math.radians(5 * i)  # clockwise on screen, like a bearing
        gm.mouse.move(
            cx + dx * math.cos(a) - dy * math.sin(a), cy + dx * math.sin(a) + dy * math.cos(a)
        )
    gm.mouse.up()
    wait_until(lambda: abs(s.world.placements["field"].rotation) > 30, what="the field turned")
    assert abs(s.world.placements["field"].rotation - 90) < 12
    gm.wait_for_timeout(400)
    shot(gm, "gm-field-dragged-turned-resized")
    gm.context.close()


def test_a_dropped_console_reconnects_and_stops_saying_so(
    gm_staff: Any,
    live_runtime: Runtime,
    browser: Any,
) -> None:
    gm, s = console(browser, live_runtime, "tag")
    (viewer,) = [v for v in s.viewers.values()]
    # The server drops the console's socket as a restart or a network blip would.
    on_server(viewer.handle.close(4999))  # no meaning the console knows: it reconnects
    gm.wait_for_function("document.getElementById('message').textContent.includes('reconnecting')")
    wait_until(lambda: any(v.handle is not viewer.handle for v in s.viewers.values()), what="back")
    gm.wait_for_function("document.getElementById('message').textContent === ''")
    assert seen(gm, "#status")["text"] == "Not started"
