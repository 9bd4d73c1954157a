"""A throw-away stack for the browser tests: `manage.py serve` with demo data; ``sign_in`` a page
as its operator. Chromium itself comes from chromekit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from chromekit import require_chromium
from personas import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "dashboard-test-pass-1"


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


def sign_in(page: Any, stack: Stack, next_url: str) -> None:
    """The demo operator signs in through the admin login and lands on ``next_url``."""
    page.goto(f"{stack.url}/admin/login/?next={next_url}")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
