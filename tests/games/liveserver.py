"""Daphne serving the project in a background thread of the test process, for browser tests.

A thread (not a process) shares the test database, including SQLite's in-memory one, and the
process runtime. Twisted's reactor runs once per process, so the server is started once and
kept for the whole test session.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from typing import Any

from personas import free_port

_server: LiveServer | None = None


class LiveServer:
    def __init__(self) -> None:
        from daphne.server import Server

        from playwave.asgi import application

        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.server = Server(
            application=application,
            endpoints=[f"tcp:port={self.port}:interface=127.0.0.1"],
            signal_handlers=False,
            verbosity=0,
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="daphne")
        self.thread.start()
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/games/api/catalog", timeout=2):  # noqa: S310
                    return
            except OSError:
                if time.monotonic() > deadline or not self.thread.is_alive():
                    raise RuntimeError("daphne did not start") from None
                time.sleep(0.05)


def live_server() -> LiveServer:
    """The shared server, started on first use."""
    global _server
    if _server is None:
        _server = LiveServer()
    return _server


def wait_until(predicate: Any, timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``predicate`` (server state read from the test thread) until true or time out."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
