"""Helpers for the games' real-browser tests (player page, GM console, whole games): Chromium,
phones, the GM's console, local map tiles, the runtime, what a person sees.

* ``browser`` — Debian's Chromium through Playwright (chromekit), resolving nothing but loopback.
* ``live_runtime`` — the live server's runtime, ticking four times a second on a clock a test
  may move forward (``live_runtime.clock.advance(20)``), so timeouts and ten-minute games need
  no waiting.
* ``gm_staff`` — the committed staff user ``gm`` whom ``gm_page`` signs in on the console;
  ``host_on_console(page, rt, game)`` hosts a game there as a GM would; ``console(browser, rt,
  game)`` does both at the origin on a tablet; ``place_by_tap(page, s, zone)`` taps a zone down.
* ``local_tiles`` — map tiles served by the live test server itself (this module is then the
  URL conf: the project's URLs plus ``/test-tiles/<z>/<x>/<y>.png``); never the internet.
* ``on_server(coro)`` runs a coroutine on the server's event loop (where the runtime lives);
  ``host(rt, game)``, ``gm(rt, code, msg)`` drive a session as its GM would, without a browser.
* ``metres(x, y)`` the latitude/longitude x m east and y m north of the origin; ``geo(at)`` that
  place as an emulated GPS fix. ``phone(browser, at)`` a 390x844 touch context standing at
  ``at``; ``desktop(browser, at)`` a 1280x800 one; ``join(ctx, code, name)`` a joined player page.
* ``shot(page, name)`` saves var/screenshots/<name>.png; ``seen(page, selector)`` what a person
  sees of an element (shown, box, display, enabled, text).
* ``pixel_colours(png)`` how many distinct colours an element screenshot has.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest
from chromekit import launch_chromium
from chromekit import shot as shot
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from gamekit import FRAME, ORIGIN, latlng
from liveserver import live_server, wait_until

from games import codes
from games.engine import builtin_rulesets
from games.registry import set_runtime
from games.room import Identity, Room
from games.runtime import Runtime

TIMEOUT_MS = 15_000
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 1024, "height": 768}
DESKTOP = {"width": 1280, "height": 800}  # the player page's desktop
WIDE = {"width": 1366, "height": 900}  # the GM console's desktop
HOST_ID = 1  # the staff user id the helper sessions are hosted by (no database row needed)
TILE_PATH = "/test-tiles/{z}/{x}/{y}.png"
TILE_COLOUR = (232, 221, 190)  # a sandy background, unlike the grid's grey-green

# --- local tiles ---------------------------------------------------------------------------

tile_requests: list[str] = []


def tile_png(z: int, x: int, y: int) -> bytes:
    """A 256x256 tile: sand with a darker border and a "road" whose place depends on x and y."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (256, 256), TILE_COLOUR)
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, 255, 255], outline=(160, 140, 100), width=2)
    off = (x * 37 + y * 61) % 200 + 28
    d.rectangle([0, off, 255, off + 14], fill=(250, 250, 245))
    d.rectangle([off, 0, off + 10, 255], fill=(170, 200, 160))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def tile_view(request: HttpRequest, z: int, x: int, y: int) -> HttpResponse:
    tile_requests.append(request.path)
    return HttpResponse(tile_png(z, x, y), content_type="image/png")


urlpatterns = [
    path("test-tiles/<int:z>/<int:x>/<int:y>.png", tile_view),
    path("", include("playwave.urls")),
]


@pytest.fixture
def local_tiles(settings: Any, no_internet_tiles: None) -> Iterator[list[str]]:
    """Pages draw tiles from the live test server; yields the tile paths requested."""
    settings.ROOT_URLCONF = "browserkit"
    settings.GAMES_TILE_URL = TILE_PATH
    settings.GAMES_TILE_ATTRIBUTION = "Test tiles"
    tile_requests.clear()
    yield tile_requests


@pytest.fixture
def grid_map(settings: Any) -> None:
    """No tile server: the map draws its metre grid (the tests never leave loopback)."""
    settings.GAMES_TILE_URL = ""


# --- the runtime on the live server --------------------------------------------------------


class MovableClock:
    """The wall clock plus an offset a test may advance: claims expire and ten-minute games end
    without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def server_loop() -> asyncio.AbstractEventLoop:
    """The event loop of the live server's thread (Twisted's asyncio reactor)."""
    live_server()
    from twisted.internet import reactor

    loop: asyncio.AbstractEventLoop = reactor._asyncioEventloop  # type: ignore[attr-defined]
    return loop


def on_server(coro: Coroutine[Any, Any, Any], timeout: float = 10) -> Any:
    """Run ``coro`` on the server's loop, where the runtime's sessions may be touched."""
    return asyncio.run_coroutine_threadsafe(coro, server_loop()).result(timeout)


@pytest.fixture
def live_runtime(transactional_db: None) -> Iterator[Runtime]:
    """The live server's runtime, ticking every 0.25 s on a movable clock.

    The database is committed (the server thread reads it) and the server's requests close
    their connections, so the test database can be dropped afterwards.
    """
    from channels.layers import get_channel_layer
    from django.conf import settings

    db = settings.DATABASES["default"]
    old_age = db.get("CONN_MAX_AGE", 0)
    db["CONN_MAX_AGE"] = 0
    live_server()
    clock = MovableClock()
    rt = Runtime(store=cache, layer=get_channel_layer(), clock=clock, tick_seconds=0.25)
    rt.clock = clock
    old = set_runtime(rt)
    yield rt
    set_runtime(old)
    if rt._loop is not None:
        # Its tasks run on the server thread's loop; left running they would keep receiving on
        # the process-wide channel layer and collide with later tests' event loops.
        asyncio.run_coroutine_threadsafe(rt.stop(), rt._loop).result(10)
    for code in list(rt.sessions):
        cache.delete(codes.key(code))
    db["CONN_MAX_AGE"] = old_age


class Recorder:
    """A socket stand-in for the GM: keeps the frames it is sent."""

    def __init__(self, name: str) -> None:
        self.channel = name
        self.frames: list[str] = []

    async def deliver(self, text: str) -> None:
        self.frames.append(text)

    async def close(self, code: int) -> None:
        self.frames.append(f"closed {code}")


GM_HANDLE = Recorder("test-gm")


def host(rt: Runtime, game: str) -> Room:
    """A new session of a built-in game, hosted by ``HOST_ID``, with the GM spectating."""

    async def go() -> Room:
        s = await rt.create(builtin_rulesets()[game], HOST_ID)
        await rt.handle(s.code, GM_HANDLE, Identity(HOST_ID, True), {"type": "spectate"})
        return s

    session: Room = on_server(go())
    return session


def gm(rt: Runtime, code: str, msg: dict[str, Any]) -> None:
    """One GM command, as the console would send it."""
    on_server(rt.handle(code, GM_HANDLE, Identity(HOST_ID, True), msg))


def place(rt: Runtime, code: str, zone: str, x: float = 0, y: float = 0) -> None:
    gm(
        rt,
        code,
        {"type": "gm.place", "zoneId": zone, "origin": latlng(x, y), "rotation": 0.0, "scale": 1.0},
    )


# --- browsers and pages --------------------------------------------------------------------


@pytest.fixture
def browser(live_runtime: Runtime) -> Iterator[Any]:
    """Chromium, started after the runtime and the database rows (Playwright runs a loop)."""
    with launch_chromium() as b:
        yield b


@pytest.fixture
def gm_staff(transactional_db: None, django_user_model: Any, grid_map: None) -> Any:
    """The GM's staff user, committed so the server thread sees it; made before Playwright's
    loop starts."""
    return django_user_model.objects.create_user("gm", password="gm-pass-123", is_staff=True)


def metres(x: float, y: float) -> tuple[float, float]:
    """Latitude/longitude of the point x m east and y m north of the origin."""
    return FRAME.to_latlng(x, y)


def geo(at: tuple[float, float], accuracy: float = 6) -> dict[str, float]:
    """An emulated GPS fix at latitude/longitude ``at``."""
    return {"latitude": at[0], "longitude": at[1], "accuracy": accuracy}


def phone(browser: Any, at: tuple[float, float]) -> Any:
    """A phone-sized context standing at latitude/longitude ``at``, location allowed."""
    ctx = browser.new_context(
        geolocation=geo(at),
        permissions=["geolocation"],
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    return ctx


def desktop(browser: Any, at: tuple[float, float]) -> Any:
    ctx = browser.new_context(geolocation=geo(at), permissions=["geolocation"], viewport=DESKTOP)
    ctx.set_default_timeout(TIMEOUT_MS)
    return ctx


def join(ctx: Any, code: str, name: str) -> Any:
    """Open the player page for ``code``, join as ``name`` and wait for the game screen."""
    page = ctx.new_page()
    page.goto(f"{live_server().url}/games/play/{code.lower()}/")
    page.fill("#name", name)
    page.click("#join")
    page.wait_for_selector("#game:not([hidden])")
    return page


def pixel_colours(png: bytes) -> int:
    """Distinct colours in a screenshot (a blank or 1x1 map has one or two)."""
    from PIL import Image

    im = Image.open(io.BytesIO(png)).convert("RGB")
    return len(im.getcolors(maxcolors=1 << 24) or [])


def seen(page: Any, selector: str) -> dict[str, Any]:
    """What a person sees of an element: shown at all, its box, its display, enabled, its text."""
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
                  right: r.right, display: getComputedStyle(el).display,
                  disabled: !!el.disabled, text: el.innerText || el.value || ''};
        }""",
    )
    return out


def top_element_at_map_centre(page: Any) -> bool:
    """Whether what a finger would touch at the map's centre belongs to the map."""
    return bool(
        page.evaluate(
            """() => {
              const m = document.getElementById('map');
              const r = m.getBoundingClientRect();
              const el = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
              return !!el && m.contains(el);
            }"""
        )
    )


# --- the GM console ----------------------------------------------------------------------


def gm_page(browser: Any, viewport: dict[str, int], at: tuple[float, float]) -> Any:
    """A GM signed in through the admin login, on the console, located at ``at``."""
    ctx = browser.new_context(
        viewport=viewport, geolocation=geo(at), permissions=["geolocation"], has_touch=False
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


def host_on_console(page: Any, runtime: Runtime, game: str) -> Room:
    """The GM presses a game in the library: the session it opens, stopped, from the runtime."""
    page.click(f"button[data-game={game}]")
    page.wait_for_function("/^[A-Z]{4}$/.test(document.getElementById('session-code').textContent)")
    code = page.text_content("#session-code") or ""
    s = runtime.get(code)
    assert s is not None and s.game_id == game
    page.wait_for_selector("#status[data-status=stopped]")
    return s


def console(
    browser: Any, runtime: Runtime, game: str, viewport: dict[str, int] = TABLET
) -> tuple[Any, Room]:
    """The GM signed in on the console, standing at the origin, hosting a new ``game``."""
    page = gm_page(browser, viewport, ORIGIN)
    return page, host_on_console(page, runtime, game)


def place_by_tap(page: Any, s: Room, zone: str) -> None:
    """Once the GM's own dot is on the map, a tap at its centre places ``zone`` there."""
    page.wait_for_selector(".leaflet-tooltip:has-text('You')")
    click_map(page, 0.5, 0.5)
    wait_until(lambda: zone in s.world.placements, what=f"the {zone} placed by a tap")


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


# --- accessibility checks ------------------------------------------------------------------

_A11Y_JS = """(root) => {
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const cs = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none';
  };
  const rgba = (s) => {
    const m = s.match(/[\\d.]+/g) || [0, 0, 0, 0];
    return m.map(Number).concat([1]).slice(0, 4);
  };
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const over = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat([1]);
  };
  const background = (el) => {
    const chain = [];
    for (let e = el; e; e = e.parentElement) chain.push(e);
    let bg = [255, 255, 255, 1];
    for (const e of chain.reverse()) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) bg = over(c, bg);
    }
    return bg;
  };
  const out = { unlabelled: [], lowContrast: [], controls: [] };
  const controls = root.querySelectorAll(
    'button, input, select, textarea, a[href], summary, [tabindex]');
  for (const el of controls) {
    if (!visible(el) || el.tabIndex < 0) continue;
    const id = el.id ? '#' + el.id
      : el.tagName.toLowerCase() + '.' + (el.className || '') + ':'
        + (el.textContent || '').trim().slice(0, 20);
    out.controls.push(id);
    let name = el.getAttribute('aria-label') || '';
    if (!name && el.labels && el.labels.length) {
      name = [...el.labels].map((l) => l.textContent).join(' ');
    }
    const by = el.getAttribute('aria-labelledby');
    if (!name && by) name = (document.getElementById(by) || {}).textContent || '';
    if (!name) name = el.getAttribute('title') || el.textContent || '';
    if (!name.trim()) out.unlabelled.push(id);
  }
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || seen.has(el) || !visible(el)) continue;
    seen.add(el);
    if (el.closest('svg')) continue;
    const cs = getComputedStyle(el);
    const fg = rgba(cs.color);
    const bg = background(el);
    const l1 = lum(over(fg, bg)), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) {
      out.lowContrast.push(`${n.textContent.trim().slice(0, 30)} ${ratio.toFixed(2)}`);
    }
  }
  return out;
}"""


def accessibility(page: Any, root: str = "body") -> dict[str, list[str]]:
    """Visible controls without a name, and text below WCAG AA contrast, under ``root``."""
    out: dict[str, list[str]] = page.eval_on_selector(root, _A11Y_JS)
    return out


def tab_order(page: Any, presses: int = 40) -> list[str]:
    """The ids (or tags) that get focus, pressing Tab from the top of the page."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    got: list[str] = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        got.append(
            page.evaluate(
                "() => { const e = document.activeElement;"
                " return e ? (e.id ? '#' + e.id : e.tagName.toLowerCase() + '.' + e.className"
                " + ':' + (e.textContent || '').trim().slice(0, 20)) : ''; }"
            )
        )
    return got
