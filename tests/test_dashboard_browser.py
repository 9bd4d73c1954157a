"""A real browser on the live dashboard: a verified session appears within a second, and
shows as ended when its game server ends it.

The whole stack runs as the README runs it (`manage.py serve`, one process, embedded defaults,
demo data) on a throw-away data directory; the browser is Debian's Chromium driven by Playwright.
"""

from __future__ import annotations

import time

import httpx
from chromekit import launch_chromium
from stackkit import Stack, sign_in
from tiers import SERVED_STACK

pytestmark = SERVED_STACK


def test_dashboard_shows_a_session_within_a_second_of_verify_and_its_end(stack: Stack) -> None:
    key = stack.creds["api_keys"]["mega-obby"]
    api = httpx.Client(base_url=stack.url, headers={"X-Api-Key": key}, timeout=10)
    with launch_chromium() as browser:
        page = browser.new_page()
        sign_in(page, stack, "/admin/")
        page.click("text=Live dashboard (game sessions)")
        page.wait_for_selector("#pw-conn.pw-up", timeout=10_000)

        ott = stack.manage("issue_test_ott", "mega-obby", "--cafe", "1", "--pc", "PC-01")
        answer = api.post("/v1/game/session/verify", json={"ott": ott, "provider_user_id": "77"})
        verified_at = time.monotonic()
        gs = answer.json()["data"]["game_session_id"]
        row = f'tr[data-session="{gs}"]'
        page.wait_for_selector(row, timeout=5_000)
        appeared = time.monotonic() - verified_at
        assert appeared <= 1.0, f"the session took {appeared:.2f} s to appear"
        assert "ACTIVE" in page.inner_text(row)

        api.request("DELETE", "/v1/game/session/end", json={"game_session_id": gs})
        ended_at = time.monotonic()
        page.wait_for_selector(f"{row}.pw-ended", timeout=5_000)
        assert time.monotonic() - ended_at <= 1.0
        assert "normal" in page.inner_text(row)
        assert page.inner_text("#pw-by-reason").find("normal") >= 0
