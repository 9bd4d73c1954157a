"""A throw-away stack for the browser tests: `manage.py serve` with demo data, and Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
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
