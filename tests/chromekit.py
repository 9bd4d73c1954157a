"""Chromium for every browser test: Debian's binary driven by Playwright, resolving nothing but
loopback, and the screenshots folder (var/screenshots/, git-ignored).

* ``launch_chromium()`` — a context manager yielding a launched browser; it skips the test when
  Chromium is missing (fails it with ``REQUIRE_SERVICES=1``).
* ``shot(page_or_locator, name)`` saves ``var/screenshots/<name>.png`` and returns the PNG.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

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
SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


def require_chromium() -> None:
    """Skip the test when Debian's Chromium is missing; fail it if services are required."""
    if not os.path.exists(CHROMIUM) and not shutil.which("chromium"):
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but Chromium is missing at {CHROMIUM}")
        pytest.skip(f"!!! BROWSER TEST SKIPPED: Chromium is missing at {CHROMIUM} !!!")


@contextmanager
def launch_chromium() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def shot(page_or_locator: Any, name: str, full: bool = False) -> bytes:
    """Screenshot to var/screenshots/<name>.png (``full``: the whole page); returns the PNG."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    extra = {"full_page": True} if full else {}
    png: bytes = page_or_locator.screenshot(path=str(SCREENSHOTS / f"{name}.png"), **extra)
    return png
