"""The player page in a real browser at phone and desktop size: what a person sees."""

from __future__ import annotations

from typing import Any

from browserkit import (  # noqa: F401  (fixtures)
    browser,
    grid_map,
    host,
    join,
    live_runtime,
    local_tiles,
    phone,
    pixel_colours,
    place,
    shot,
)
from liveserver import wait_until

from games.runtime import Runtime


def test_phone_map_shows_local_tiles_zone_and_players(
    local_tiles: list[str], live_runtime: Runtime, browser: Any
) -> None:
    s = host(live_runtime, "tag")
    place(live_runtime, s.code, "arena")
    ann_ctx, bob_ctx = phone(browser, 0, 0), phone(browser, 25, 10)
    ann = join(ann_ctx, s.code, "Ann")
    join(bob_ctx, s.code, "Bob")
    wait_until(lambda: all(p.has_pos for p in s.world.players.values()), what="positions")
    ann.wait_for_selector(".pw-label:has-text('Bob')")
    ann.wait_for_selector(".pw-label:has-text('Ann')")
    box = ann.locator("#map").bounding_box()
    assert box is not None and box["width"] >= 200 and box["height"] >= 200
    ann.wait_for_function(
        "[...document.querySelectorAll('#map img.leaflet-tile-loaded')].some(i => i.naturalWidth === 256)"
    )
    srcs = ann.eval_on_selector_all("#map img.leaflet-tile", "els => els.map(e => e.src)")
    assert srcs and all("/test-tiles/" in src for src in srcs)
    assert local_tiles
    png = shot(ann.locator("#map"), "phone-map-tiles")
    assert pixel_colours(png) > 50
    shot(ann, "phone-page-tiles")
