"""A real browser on the live dashboard: a verified session appears within a second, and
shows as ended when its game server ends it.

The whole stack runs as the README runs it (`manage.py serve`, one process, embedded defaults,
demo data) on a throw-away data directory; the browser is Debian's Chromium driven by Playwright.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from personas import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "dashboard-test-pass-1"


def require_chromium() -> None:
    if not shutil.which(CHROMIUM):
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("Debian's chromium is missing; ./dev test installs it")
        pytest.skip("Debian's chromium is missing: install it (./dev test does)")


@dataclass
class Stack:
    url: str
    env: dict[str, str]
    creds: dict

    def manage(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout.strip()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    require_chromium()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(PLAYWAVE_DATA_DIR=str(tmp_path), PLAYWAVE_DEMO_PASSWORD=PASSWORD)
    port = free_port()
    url = f"http://localhost:{port}"
    probe = Stack(url, env, {})
    probe.manage("migrate", "--noinput", "-v0")
    probe.manage("demo_data")
    creds = json.loads((tmp_path / "demo-credentials.json").read_text())
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(f"{url}/healthz")
        yield Stack(url, env, creds)
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_dashboard_shows_a_session_within_a_second_of_verify_and_its_end(stack: Stack) -> None:
    from playwright.sync_api import sync_playwright

    key = stack.creds["api_keys"]["mega-obby"]
    api = httpx.Client(base_url=stack.url, headers={"X-Api-Key": key}, timeout=10)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{stack.url}/admin/login/?next=/admin/")
        page.fill("#id_username", "operator")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.click("text=Live sessions dashboard")
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
        browser.close()
