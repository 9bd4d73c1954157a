"""Two real server processes share Redis: a session owned by one is played from both."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.test import Client
from gamekit import latlng, run_async
from personas import free_port
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.services


class Server:
    def __init__(self, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.port = port
        self.proc = proc
        self.http = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}"


@pytest.fixture
def two_servers(transactional_db: None, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    prefix = f"pwt{secrets.token_hex(4)}"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "PLAYWAVE_CHANNEL_PREFIX": prefix,
        "PLAYWAVE_CACHE_PREFIX": prefix,
        "GAMES_TICK_MS": "200",
        "PLAYWAVE_LOG_LEVEL": "WARNING",
    }
    servers = []
    logs = []
    for _ in range(2):
        port = free_port()
        log = (tmp_path / f"daphne-{port}.log").open("wb")
        logs.append(log)
        argv = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
        proc = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
            [*argv, "playwave.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        servers.append(Server(port, proc))
    try:
        deadline = time.monotonic() + 30
        for s in servers:
            while True:
                try:
                    httpx.get(f"{s.http}/healthz", timeout=1).raise_for_status()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or s.proc.poll() is not None:
                        err = (tmp_path / f"daphne-{s.port}.log").read_text()
                        raise RuntimeError(f"server on {s.port} did not start\n{err}") from None
                    time.sleep(0.1)
        yield servers[0], servers[1]
    finally:
        for s in servers:
            s.proc.terminate()
        for s in servers:
            try:
                s.proc.wait(10)
            except subprocess.TimeoutExpired:
                s.proc.kill()
        for log in logs:
            log.close()


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


async def open_socket(server: Server, code: str, cookie: str = "") -> Socket:
    headers = {"Cookie": cookie} if cookie else {}
    ws = await connect(
        f"{server.ws}/ws/games/{code}/", origin=server.http, additional_headers=headers
    )
    return Socket(ws)  # type: ignore[arg-type]


def test_session_owned_by_one_process_is_played_from_both(
    two_servers: tuple[Server, Server], django_user_model: Any
) -> None:
    a, b = two_servers
    user = django_user_model.objects.create_user("gm", password="gm-pass-123", is_staff=True)
    django_client = Client()
    django_client.force_login(user)
    sessionid = django_client.cookies[settings.SESSION_COOKIE_NAME].value
    with httpx.Client(base_url=a.http, cookies={settings.SESSION_COOKIE_NAME: sessionid}) as http:
        assert http.get("/games/gm/").status_code == 200
        csrf = http.cookies["csrftoken"]
        r = http.post("/games/api/sessions", json={"game": "tag"}, headers={"X-CSRFToken": csrf})
        assert r.status_code == 201, r.text
        code = r.json()["code"]
    cookie = f"{settings.SESSION_COOKIE_NAME}={sessionid}"
    play(a, b, code, cookie)


@run_async
async def play(a: Server, b: Server, code: str, cookie: str) -> None:
    # The session lives on A; the GM console and Bob are on B, Ann on A.
    gm = await open_socket(b, code, cookie)
    await gm.send(type="spectate")
    welcome = await gm.expect(typed("welcome"))
    assert welcome["host"] is True
    await gm.send(type="gm.place", zoneId="arena", origin=latlng(0, 0))
    await gm.expect(lambda f: f["type"] == "world" and f["world"]["zones"][0]["placed"])

    ann = await open_socket(a, code.lower())
    bob = await open_socket(b, code)
    await ann.send(type="join", name="Ann")
    assert (await ann.expect(typed("welcome")))["playerId"] == "p1"
    await bob.send(type="join", name="Bob")
    assert (await bob.expect(typed("welcome")))["playerId"] == "p2"
    await ann.send(type="location", ts=1, **latlng(0, 0))
    await bob.send(type="location", ts=1, **latlng(20, 0))
    await gm.expect(
        lambda f: f["type"] == "world" and all("lat" in p for p in f["world"]["players"])
    )
    await gm.send(type="gm.start")
    assert (await gm.expect(typed("preflight")))["ok"] is True

    await bob.send(type="chat", text="coming for you", name="spoof")  # refused: extra field
    assert (await bob.expect(typed("error")))["code"] == "bad_message"
    await bob.send(type="chat", text="coming for you")
    chat = (await ann.expect(typed("chat")))["message"]
    assert (chat["from"], chat["name"]) == ("p2", "Bob")

    await bob.send(type="location", ts=2, **latlng(1, 0))
    toast = await bob.expect(lambda f: f["type"] == "event" and f["event"]["type"] == "toast")
    assert "tagged you" in toast["event"]["text"]
    await ann.expect(lambda f: f["type"] == "world" and f["world"]["you"]["state"]["it"] is False)

    await gm.send(type="gm.end")
    for s in (ann, bob, gm):
        over = await s.expect(lambda f: f["type"] == "event" and f["event"]["type"] == "game_over")
        assert over["event"]["reason"] == "gm"
    assert await ann.closed_code() == 4000
    assert await bob.closed_code() == 4000
    await gm.ws.close()

    # A wrong code is refused on either process.
    stranger = await open_socket(b, "ZZZZ")
    assert (await stranger.expect(typed("error")))["code"] == "unknown_code"
    assert await stranger.closed_code() == 4404
