"""A real browser plays Tag: the GM hosts and runs it, two players join from their own pages."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from gamekit import latlng
from liveserver import live_server, wait_until

from games import codes
from games.registry import set_runtime
from games.runtime import Runtime

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000


def _geo(x: float, y: float) -> dict[str, float]:
    ll = latlng(x, y)
    return {"latitude": ll["lat"], "longitude": ll["lng"], "accuracy": 3}


@pytest.fixture
def fast_runtime() -> Iterator[Runtime]:
    """The live server's runtime, on the real clock, ticking four times a second."""
    rt = Runtime(store=cache, layer=None, tick_seconds=0.25)
    from channels.layers import get_channel_layer

    rt.layer = get_channel_layer()
    old = set_runtime(rt)
    yield rt
    set_runtime(old)
    if rt._loop is not None:
        # Its tasks run on the server thread's loop; left running, they would keep receiving
        # on the process-wide channel layer and collide with later tests' event loops.
        asyncio.run_coroutine_threadsafe(rt.stop(), rt._loop).result(10)
    for code in list(rt.sessions):
        cache.delete(codes.key(code))


@pytest.fixture
def browser(fast_runtime: Runtime) -> Iterator[Any]:
    if not os.path.exists(CHROMIUM) and not shutil.which("chromium"):
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but Chromium is missing at {CHROMIUM}")
        pytest.skip(f"!!! BROWSER TEST SKIPPED: Chromium is missing at {CHROMIUM} !!!")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def short_db_connections() -> Iterator[None]:
    """The server thread's requests close their connections, so the test database can go."""
    db = settings.DATABASES["default"]
    old = db.get("CONN_MAX_AGE", 0)
    db["CONN_MAX_AGE"] = 0
    yield
    db["CONN_MAX_AGE"] = old


@pytest.fixture
def gm_user(transactional_db: None, django_user_model: Any, short_db_connections: None) -> Any:
    """Committed, so the server thread sees it; made before Playwright's loop starts."""
    return django_user_model.objects.create_user("gm", password="gm-pass-123", is_staff=True)


def test_gm_and_two_players_play_tag_in_real_browsers(
    gm_user: Any, fast_runtime: Runtime, browser: Any
) -> None:
    server = live_server()

    def context(x: float, y: float) -> Any:
        ctx = browser.new_context(
            geolocation=_geo(x, y),
            permissions=["geolocation"],
            viewport={"width": 400, "height": 800},
        )
        ctx.set_default_timeout(TIMEOUT_MS)
        return ctx

    gm_ctx = browser.new_context(geolocation=_geo(0, 0), permissions=["geolocation"])
    gm_ctx.set_default_timeout(TIMEOUT_MS)
    gm = gm_ctx.new_page()
    gm.on("dialog", lambda d: d.accept())
    # The GM signs in through the admin login and lands on the console.
    gm.goto(f"{server.url}/games/gm/")
    gm.fill("#id_username", "gm")
    gm.fill("#id_password", "gm-pass-123")
    gm.click("input[type=submit]")
    gm.wait_for_url("**/games/gm/")
    gm.click("button[data-game=tag]")
    gm.wait_for_function("/^[A-Z]{4}$/.test(document.getElementById('session-code').textContent)")
    code = gm.text_content("#session-code") or ""
    session = fast_runtime.get(code)
    assert session is not None and session.game_id == "tag"
    gm.wait_for_selector("#zone-select option[value=arena]", state="attached")
    gm.click("#place-here")
    wait_until(lambda: "arena" in session.world.placements, what="the arena placed")

    ann_ctx, bob_ctx = context(0, 0), context(20, 0)
    players = []
    for ctx, name in ((ann_ctx, "Ann"), (bob_ctx, "Bob")):
        page = ctx.new_page()
        page.goto(f"{server.url}/games/play/{code.lower()}/")
        page.fill("#name", name)
        page.click("#join")
        page.wait_for_selector("#game:not([hidden])")
        players.append(page)
    ann, bob = players
    assert ann.get_attribute("#game", "data-player-id") == "p1"  # first to join is it
    wait_until(
        lambda: all(p.has_pos for p in session.world.players.values()), what="both positions"
    )

    gm.wait_for_selector("#preflight-head.gm-ready")  # the live checklist, before Start
    gm.click("#start")
    gm.wait_for_selector("#status[data-status=started]")
    bob.wait_for_selector("#status[data-status=started]")
    ann.wait_for_selector("#objective:has-text('Tag Bob')")

    # Bob walks up to Ann, who is it: a tag.
    for x in (12, 6, 1):
        bob_ctx.set_geolocation(_geo(x, 0))
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
    for ctx in (gm_ctx, ann_ctx, bob_ctx):
        ctx.close()
