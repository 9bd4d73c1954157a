"""A real browser on the operator console: the cafe page, the dashboard's charts (counted before
anyone looked), and a dashboard whose user logs out going to the login page.

Screenshots go to var/screenshots/ (git-ignored).
"""

from __future__ import annotations

import httpx
from chromekit import launch_chromium, shot
from stackkit import Stack, sign_in
from tiers import SERVED_STACK

pytestmark = SERVED_STACK

BEATS = 3


def traffic(stack: Stack) -> tuple[str, str]:
    """Two sessions on the demo cafe, heartbeats on both, one ended; before any dashboard opens."""
    key = stack.creds["api_keys"]["mega-obby"]
    api = httpx.Client(base_url=stack.url, headers={"X-Api-Key": key}, timeout=10)
    ids = []
    for pc, user in (("PC-01", "4242"), ("PC-02", "4343")):
        ott = stack.manage("issue_test_ott", "mega-obby", "--cafe", "1", "--pc", pc)
        answer = api.post("/v1/game/session/verify", json={"ott": ott, "provider_user_id": user})
        ids.append((answer.json()["data"]["game_session_id"], user))
    for _ in range(BEATS):
        for gs, user in ids:
            body = {"game_session_id": gs, "provider_user_id": user}
            assert api.patch("/v1/game/session/heartbeat", json=body).status_code == 200
    api.request("DELETE", "/v1/game/session/end", json={"game_session_id": ids[1][0]})
    return ids[0][0], ids[1][0]


def test_cafe_page_and_dashboard_charts_in_a_browser(stack: Stack) -> None:
    live, _ended = traffic(stack)
    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        page = context.new_page()
        sign_in(page, stack, "/admin/playsessions/cafe/")

        # The cafe list leads to the cafe page.
        page.click("text=PlayWave Demo Cafe")
        page.wait_for_selector("#pw-cafe")
        live_rows = page.locator("#pw-live tbody tr")
        assert live_rows.count() == 1 and live in live_rows.first.inner_text()
        runway = page.inner_text("#pw-runway")
        assert "G-coin per minute" in runway and "1 live session" in runway
        pcs = page.locator("#pw-pcs tbody tr")
        assert "online" in pcs.filter(has_text="PC-01").inner_text()
        assert "mega-obby" in pcs.filter(has_text="PC-01").inner_text()
        assert "never" in pcs.filter(has_text="PC-03").inner_text()
        assert page.locator("#pw-ledger tbody tr").count() >= 3  # opening top-up and charges
        page.fill("#id_start", "2026-01-01")
        page.fill("#id_end", "2030-12-31")
        page.click("#pw-settlement input[type=submit]")
        settlement = page.inner_text("#pw-settlement table")
        assert "mega-obby" in settlement
        for section in ("#pw-balance", "#pw-live", "#pw-pcs"):
            box = page.locator(section).bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 40, section
        shot(page, "cafe-page", full=True)

        # The dashboard: charts with the heartbeats sent before it was opened.
        page.goto(f"{stack.url}/admin/dashboard/")
        page.wait_for_selector("#pw-conn.pw-up", timeout=10_000)
        page.wait_for_selector("#pw-chart-heartbeats canvas")
        page.wait_for_selector("#pw-chart-ends canvas")
        canvas = page.locator("#pw-chart-heartbeats canvas").bounding_box()
        assert canvas is not None and canvas["width"] > 300 and canvas["height"] > 100
        # Hovering the current minute (the plot's right end) shows its value in the legend.
        plot = page.locator("#pw-chart-heartbeats .u-over").bounding_box()
        assert plot is not None
        page.mouse.move(plot["x"] + plot["width"] / 2, plot["y"] + plot["height"] / 2)
        page.mouse.move(plot["x"] + plot["width"] - 1, plot["y"] + plot["height"] / 2, steps=5)
        legend = page.inner_text("#pw-chart-heartbeats .u-legend")
        assert "heartbeats" in legend and str(2 * BEATS) in legend, legend
        ends = page.locator("#pw-chart-ends .u-over").bounding_box()
        assert ends is not None
        page.mouse.move(ends["x"] + ends["width"] - 1, ends["y"] + ends["height"] / 2, steps=5)
        legend = page.inner_text("#pw-chart-ends .u-legend")
        assert "started" in legend and "normal" in legend and "operator" in legend, legend
        page.wait_for_selector(f'tr[data-session="{live}"] button')  # staff may end it
        shot(page, "dashboard", full=True)

        # Ending the session from the dashboard.
        page.once("dialog", lambda dialog: dialog.accept())
        page.click(f'tr[data-session="{live}"] button')
        page.wait_for_selector(f'tr[data-session="{live}"].pw-ended', timeout=5_000)
        assert "operator" in page.inner_text(f'tr[data-session="{live}"]')
        assert "ended (reason: operator)" in page.inner_text("#pw-notice")

        # Logged out in another tab: this dashboard goes to the login page, not "reconnecting".
        other = context.new_page()
        other.goto(f"{stack.url}/admin/")
        other.click("#logout-form button")
        page.wait_for_url("**/admin/login/**", timeout=10_000)
        assert page.locator("#id_username").is_visible()
        shot(page, "dashboard-signed-out")
