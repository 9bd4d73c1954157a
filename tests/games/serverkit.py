"""Real server processes for the multi-process games tests: daphne processes sharing this test's
PostgreSQL database and Redis, HAProxy in front of them (deploy/haproxy.cfg), and WebSocket
clients that speak the games protocol over the wire.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from django.conf import settings
from personas import free_port
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"


def wait_until(ok: Any, what: str, timeout: float = 30.0, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class Server:
    """One daphne process serving playwave.asgi on a loopback port."""

    def __init__(self, port: int, env: dict[str, str], log_dir: Path) -> None:
        self.port = port
        self.env = env
        self.log_path = log_dir / f"daphne-{port}.log"
        self.http = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> Server:
        self._log = self.log_path.open("ab")
        argv = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
        self.proc = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
            [*argv, "playwave.asgi:application"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        return self

    def healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"server on {self.port} exited\n{self.log_path.read_text()}")
        try:
            return httpx.get(f"{self.http}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the process (SIGTERM: a graceful exit) and wait for it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None


def server_env(**extra: str) -> dict[str, str]:
    """The environment of a server process on this test's database, Redis and own prefixes."""
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    prefix = f"pwt{secrets.token_hex(4)}"
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "PLAYWAVE_CHANNEL_PREFIX": prefix,
        "PLAYWAVE_CACHE_PREFIX": prefix,
        "GAMES_TICK_MS": "200",
        "PLAYWAVE_LOG_LEVEL": "WARNING",
        **extra,
    }


@contextmanager
def daphne_processes(count: int, log_dir: Path, **extra: str) -> Iterator[list[Server]]:
    """``count`` started and healthy daphne processes sharing one environment."""
    env = server_env(**extra)
    servers = [Server(free_port(), env, log_dir) for _ in range(count)]
    try:
        for s in servers:
            s.start()
        for s in servers:
            wait_until(s.healthy, f"the server on {s.port} to answer /healthz")
        yield servers
    finally:
        for s in servers:
            s.stop()


class Proxy:
    """HAProxy running deploy/haproxy.cfg in front of two ASGI processes."""

    def __init__(self, asgi: list[Server], log_dir: Path) -> None:
        assert len(asgi) == 2
        self.port, self.stats_port = free_port(), free_port()
        self.http = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}"
        self.names = {"asgi1": asgi[0], "asgi2": asgi[1]}
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "PLAYWAVE_PROXY_BIND": f"127.0.0.1:{self.port}",
            "PLAYWAVE_PROXY_STATS": f"127.0.0.1:{self.stats_port}",
            "PLAYWAVE_WSGI": f"127.0.0.1:{asgi[0].port}",  # the ASGI processes serve /v1 too
            "PLAYWAVE_ASGI_1": f"127.0.0.1:{asgi[0].port}",
            "PLAYWAVE_ASGI_2": f"127.0.0.1:{asgi[1].port}",
        }
        self.log_path = log_dir / "haproxy.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proxy:
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - Debian's haproxy, our configuration
                [haproxy, "-db", "-f", str(HAPROXY_CONFIG)],
                env=self.env,
                stdout=log,
                stderr=log,
            )
        wait_until(lambda: self.status() == {"asgi1": "UP", "asgi2": "UP"}, "both processes UP")
        return self

    def stats(self) -> list[dict[str, str]]:
        """The ASGI backend's server rows of HAProxy's CSV statistics."""
        r = httpx.get(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=2)
        rows = csv.DictReader(io.StringIO(r.text.lstrip("# ")))
        return [row for row in rows if row["pxname"] == "asgi" and row["svname"] in self.names]

    def status(self) -> dict[str, str]:
        try:
            return {row["svname"]: row["status"] for row in self.stats()}
        except httpx.HTTPError:
            return {}

    def open_sockets(self) -> dict[str, int]:
        """Open connections per ASGI process (a WebSocket is one for as long as it is open)."""
        return {row["svname"]: int(row["scur"]) for row in self.stats()}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@contextmanager
def proxied(asgi: list[Server], log_dir: Path) -> Iterator[Proxy]:
    if not shutil.which("haproxy") and not Path("/usr/sbin/haproxy").exists():
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("REQUIRE_SERVICES=1 but Debian's haproxy is missing")
        pytest.skip("!!! PROXY TEST SKIPPED: Debian's haproxy is missing !!!")
    with ExitStack() as stack:
        proxy = Proxy(asgi, log_dir)
        stack.callback(proxy.stop)
        yield proxy.start()


class Socket:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, **msg: Any) -> None:
        await self.ws.send(json.dumps(msg))

    async def expect(self, match: Any, timeout: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                frame: dict[str, Any] = json.loads(await self.ws.recv())
                if match(frame):
                    return frame

    async def closed_code(self, timeout: float = 10.0) -> int | None:
        async with asyncio.timeout(timeout):
            try:
                while True:
                    await self.ws.recv()
            except ConnectionClosed as exc:
                return exc.rcvd.code if exc.rcvd else None


def typed(t: str) -> Any:
    return lambda f: f["type"] == t


async def open_socket(server: Server | Proxy, code: str, cookie: str = "") -> Socket:
    headers = {"Cookie": cookie} if cookie else {}
    ws = await connect(
        f"{server.ws}/ws/games/{code}/", origin=server.http, additional_headers=headers
    )
    return Socket(ws)


def staff_cookie(django_user_model: Any, username: str = "gm") -> str:
    """A signed-in staff user's session cookie (``name=value``) for the server processes."""
    from django.test import Client

    user = django_user_model.objects.create_user(username, password="gm-pass-123", is_staff=True)
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def host_game(base_url: str, cookie: str, game: str = "tag") -> str:
    """Host a game the way the GM console does (CSRF cookie, then the API); its join code."""
    name, value = cookie.split("=", 1)
    with httpx.Client(base_url=base_url, cookies={name: value}) as http:
        assert http.get("/games/gm/").status_code == 200
        csrf = http.cookies["csrftoken"]
        r = http.post("/games/api/sessions", json={"game": game}, headers={"X-CSRFToken": csrf})
        assert r.status_code == 201, r.text
        return str(r.json()["code"])
