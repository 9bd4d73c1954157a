"""Shared parts of the GM console browser tests: a runtime whose clock a test can skip
forward, Chromium, a signed-in GM page, player phones at 390x844 and what a person sees."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from liveserver import live_server

from games import codes
from games.registry import set_runtime
from games.runtime import LiveSession, Runtime

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
TIMEOUT_MS = 15_000
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 1024, "height": 768}
DESKTOP = {"width": 1366, "height": 900}
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


class SkippableClock:
    """The wall clock plus an offset a test moves forward (a ten-minute game in a second)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def skip(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def game_clock_live() -> SkippableClock:
    return SkippableClock()


@pytest.fixture
def live_runtime(game_clock_live: SkippableClock) -> Iterator[Runtime]:
    """The live server's runtime, ticking four times a second on the skippable clock."""
    from channels.layers import get_channel_layer

    rt = Runtime(store=cache, layer=get_channel_layer(), clock=game_clock_live, tick_seconds=0.25)
    old = set_runtime(rt)
    yield rt
    set_runtime(old)
    if rt._loop is not None:
        # Its tasks run on the server thread's loop; left running they would keep receiving on
        # the process-wide channel layer and collide with later tests' event loops.
        asyncio.run_coroutine_threadsafe(rt.stop(), rt._loop).result(10)
    for code in list(rt.sessions):
        cache.delete(codes.key(code))


@pytest.fixture
def chromium(live_runtime: Runtime) -> Iterator[Any]:
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
def grid_map(settings: Any) -> None:
    """No tile server: the map draws its metre grid (the tests never leave loopback)."""
    settings.GAMES_TILE_URL = ""


@pytest.fixture
def gm_staff(transactional_db: None, django_user_model: Any, grid_map: None) -> Iterator[Any]:
    """Committed, so the server thread sees it; made before Playwright's loop starts."""
    db = settings.DATABASES["default"]
    old = db.get("CONN_MAX_AGE", 0)
    db["CONN_MAX_AGE"] = 0  # the server thread's requests close their connections
    yield django_user_model.objects.create_user("gm", password="gm-pass-123", is_staff=True)
    db["CONN_MAX_AGE"] = old


def geo(lat: float, lng: float) -> dict[str, float]:
    return {"latitude": lat, "longitude": lng, "accuracy": 3}


def gm_page(browser: Any, viewport: dict[str, int], at: tuple[float, float]) -> Any:
    """A GM signed in through the admin login, on the console, located at ``at``."""
    ctx = browser.new_context(
        viewport=viewport, geolocation=geo(*at), permissions=["geolocation"], has_touch=False
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    page.on("dialog", lambda d: d.accept())
    page.on("pageerror", lambda e: print(f"GM page error: {e}"))  # shown when a test fails
    page.goto(f"{live_server().url}/games/gm/")
    page.fill("#id_username", "gm")
    page.fill("#id_password", "gm-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/games/gm/")
    return page


def host(page: Any, runtime: Runtime, game: str) -> LiveSession:
    page.click(f"button[data-game={game}]")
    page.wait_for_function("/^[A-Z]{4}$/.test(document.getElementById('session-code').textContent)")
    code = page.text_content("#session-code") or ""
    s = runtime.get(code)
    assert s is not None and s.game_id == game
    page.wait_for_selector("#status[data-status=stopped]")
    return s


def phone(browser: Any, at: tuple[float, float]) -> Any:
    ctx = browser.new_context(
        viewport=PHONE,
        geolocation=geo(*at),
        permissions=["geolocation"],
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    return ctx


def join(ctx: Any, code: str, name: str) -> Any:
    page = ctx.new_page()
    page.goto(f"{live_server().url}/games/play/{code.lower()}/")
    page.fill("#name", name)
    page.click("#join")
    page.wait_for_selector("#game:not([hidden])")
    return page


def shot(page: Any, name: str, full: bool = False) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    return path


def seen(page: Any, selector: str) -> dict[str, Any]:
    """What a person sees of an element: shown at all, its box, enabled, its text."""
    out: dict[str, Any] = page.eval_on_selector(
        selector,
        """(el) => {
          const r = el.getBoundingClientRect();
          let shown = r.width > 0 && r.height > 0;
          for (let e = el; e && shown; e = e.parentElement) {
            const cs = getComputedStyle(e);
            const gone = cs.display === 'none' || cs.visibility === 'hidden';
            if (gone || cs.opacity === '0') shown = false;
          }
          return {shown, x: r.left, y: r.top, width: r.width, height: r.height,
                  right: r.right, disabled: !!el.disabled, text: el.innerText || el.value || ''};
        }""",
    )
    return out


def overflow(page: Any) -> list[str]:
    """Elements that stick out of the viewport sideways (nothing should on a phone)."""
    found: list[str] = page.evaluate(
        """() => {
          const w = document.documentElement.clientWidth, out = [];
          if (document.documentElement.scrollWidth > w + 1) out.push('page scrolls sideways');
          for (const el of document.querySelectorAll('#session *, #library *')) {
            const r = el.getBoundingClientRect();
            if (!r.width || !r.height || el.closest('.leaflet-container')) continue;
            if (r.right > w + 1 || r.left < -1) out.push(`${el.tagName}#${el.id}.${el.className}`);
          }
          return out.slice(0, 10);
        }"""
    )
    return found


def contrast_failures(page: Any) -> list[str]:
    """Visible text in the console whose colour contrast is under WCAG AA (4.5:1)."""
    found: list[str] = page.evaluate(
        """() => {
          const parse = (c) => {
            const m = c.match(/[\\d.]+/g);
            return m ? m.map(Number) : [0, 0, 0, 0];
          };
          const lum = ([r, g, b]) => {
            const f = (v) => {
              v /= 255;
              return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
            };
            return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
          };
          const bg = (el) => {
            for (let e = el; e; e = e.parentElement) {
              const c = parse(getComputedStyle(e).backgroundColor);
              if (c.length < 4 || c[3] > 0.9) return c;
            }
            return [255, 255, 255];
          };
          const out = [];
          for (const el of document.querySelectorAll('#session *, #library *, .pw-bar *')) {
            if (el.closest('.leaflet-container') || el.disabled) continue;
            const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
            const r = el.getBoundingClientRect();
            if (!own || !r.width || !r.height) continue;
            const cs = getComputedStyle(el);
            if (cs.visibility === 'hidden') continue;
            const a = lum(parse(cs.color)), b = lum(bg(el));
            const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
            const what = `${el.tagName}#${el.id}.${el.className}`;
            const text = el.textContent.trim().slice(0, 30);
            if (ratio < 4.5) out.push(`${what} ${ratio.toFixed(2)} "${text}"`);
          }
          return out.slice(0, 10);
        }"""
    )
    return found


def click_map(page: Any, dx: float = 0.5, dy: float = 0.5) -> None:
    """Tap the map at a fraction of its width and height (a real pointer click)."""
    page.locator("#map").scroll_into_view_if_needed()
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
