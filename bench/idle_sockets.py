"""Idle WebSockets on the production configuration: does anything close them?

    .venv/bin/python bench/idle_sockets.py [--idle 90] [--players 20]

Starts one daphne (`playwave.asgi`) on PostgreSQL (`--database-url`, migrated here) and Redis
(`--redis-url`), signs a staff user in, hosts a Tag game, joins `--players` player sockets and
opens the staff dashboard socket, then sends nothing for `--idle` seconds. Prints how many
sockets were closed (and with which codes) and how many `TimeoutError` and `ERROR` lines the
server logged. Exit 1 if any socket closed. Not part of the test suite; results are in
docs/performance.md ("Idle sockets on Redis").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sign_in_and_host(base: str) -> tuple[str, str]:
    """The staff session cookie header and the code of a freshly hosted Tag game."""
    c = httpx.Client(base_url=base)
    page = c.get("/admin/login/").text
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, "no CSRF token on the login page"
    form = {"csrfmiddlewaretoken": match.group(1), "username": "idle", "next": "/admin/"}
    c.post("/admin/login/", data={**form, "password": "idle-pass-123"})
    headers = {"X-CSRFToken": c.cookies["csrftoken"], "Referer": base + "/games/gm/"}
    r = c.post("/games/api/sessions", json={"game": "tag"}, headers=headers)
    r.raise_for_status()
    cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
    return cookie, str(r.json()["code"])


async def idle(base: str, ws: str, cookie: str, code: str, players: int, seconds: float) -> list:
    closes: list[tuple[str, int | None]] = []

    async def hold(name: str, url: str, first: dict | None, headers: dict) -> None:
        async with connect(url, origin=base, additional_headers=headers) as sock:  # type: ignore[arg-type]
            if first:
                await sock.send(json.dumps(first))
            try:
                while True:
                    await sock.recv()
            except Exception:
                closes.append((name, sock.close_code))

    tasks = [
        asyncio.ensure_future(
            hold(f"player {i}", f"{ws}/ws/games/{code}/", {"type": "join", "name": f"P{i:02d}"}, {})
        )
        for i in range(players)
    ]
    tasks.append(
        asyncio.ensure_future(
            hold("dashboard", f"{ws}/ws/admin/dashboard/", None, {"Cookie": cookie})
        )
    )
    await asyncio.sleep(seconds)
    for t in tasks:
        t.cancel()
    return closes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--idle", type=float, default=90, help="seconds with no traffic")
    ap.add_argument("--players", type=int, default=20)
    ap.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    args = ap.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "PLAYWAVE_LOG_LEVEL": "WARNING",
    }
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    make_user = (
        "from django.contrib.auth.models import User; "
        "User.objects.filter(username='idle').delete(); "
        "User.objects.create_user('idle', password='idle-pass-123', is_staff=True)"
    )
    subprocess.run([py, "manage.py", "shell", "-c", make_user], cwd=ROOT, env=env, check=True)
    port = free_port()
    with tempfile.TemporaryFile() as log:
        argv = [py, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "playwave.asgi:application"]
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("daphne did not start") from None
                    time.sleep(0.1)
            cookie, code = sign_in_and_host(base)
            ws = f"ws://127.0.0.1:{port}"
            closes = asyncio.run(idle(base, ws, cookie, code, args.players, args.idle))
        finally:
            proc.terminate()
            proc.wait(20)
        log.seek(0)
        text = log.read().decode(errors="replace")
    print(f"{args.players} player sockets + 1 dashboard socket, idle {args.idle:.0f} s")
    print(f"sockets closed: {len(closes)} {sorted(set(c for _, c in closes))}")
    print(f"server log: {text.count('TimeoutError')} TimeoutError, {text.count('ERROR')} ERROR")
    return 1 if closes else 0


if __name__ == "__main__":
    sys.exit(main())
