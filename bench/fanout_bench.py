"""Join-code games, WebSocket fan-out: tick → the last player of each session received its `world`.

    .venv/bin/python bench/fanout_bench.py [--players 1000] [--sessions 1,100] [--ticks 30]
                                           [--layers memory,redis,redis-split,proxy]

Runs real servers, as production would, on a fresh SQLite database in a temporary
PLAYWAVE_DATA_DIR: `manage.py serve --no-reaper` (daphne, one process) on 127.0.0.1. Layers:

- `memory`: the embedded default (in-memory channel layer, local-memory cache);
- `redis`: REDIS_URL=redis://127.0.0.1:6379/11 (flushed first and last): codes in Redis and
  channels_redis, one process, so the owner still writes to its own sockets directly;
- `redis-split`: the same with two processes; the sessions live on A and every player (and the
  GM console) is connected to B, so each frame travels A → channels_redis → B → socket.
- `proxy`: two processes behind Debian's HAProxy running `deploy/haproxy.cfg` (the production
  configuration, `balance leastconn` for sockets): the sessions are hosted on A and B in turn,
  and every socket (players and GM consoles) connects through the proxy, so about half of them
  reach the process that does not own their session. Each process gives out its own phases and
  exports its own anchor. Server CPU and RSS are the sum of A, B and the proxy.

For each number of sessions in `--sessions`, the players are split evenly over that many
sessions of a bench-only ruleset (`fanout-bench`: no map, a score that grows every tick, up to
1 000 players) stored as a database ruleset through the ORM before the server starts, so no
bench code runs in the app. A staff user signs in through the admin login, hosts the sessions
over `POST /games/api/sessions`, spectates each one (the GM console), every player joins over
its own WebSocket from this one asyncio process and sends one position, a random spot in a
square city `--city` metres wide (default 5 000; 0 sends none, as runs before 2026-12-02 did),
and the GM starts every session. With positions, each player's frame lists the players within
the server's view radius (GAMES_VIEW_RADIUS), as in a city-wide game.

The server does not put the tick's scheduled moment in the frame; its scheduler's deadlines
are `anchor + n * period + phase` on CLOCK_MONOTONIC, which this process shares, each session
in its own phase of the period (given out in hosting order), and the server exports the anchor
(`playwave_games_tick_anchor_seconds` on `/metrics`), read at the start and the end of the
measured window (a scheduler that fell a period behind in between starts over with a new one,
which is reported). Each tick's latency is then its last player's receipt minus its deadline.
(Before 2026-12-02 the anchor was calibrated on the GM's frames of one empty session before the
players joined; a scheduler that fell behind while they joined had moved on to another anchor
by the time of the measurement, so the figures for one big session were off by up to a period.)
Also printed: the spread first → last receipt, frames/s, bytes per frame, the server's CPU and
RSS over the window, the scheduler's own deadline → hand-over lag from `/metrics`, and this
client's CPU (one process reads every socket, so its own queueing is part of the figure).

Waits first until no other benchmark runs. Not part of the test suite. Results are recorded in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.harness import ROOT, Server, cpu_seconds, fmt_ms, pct, rss_mib
from games.runtime import TICK_SLOTS

PYTHON = sys.executable
REDIS_URL = "redis://127.0.0.1:6379/11"
PASSWORD = "fanout-bench-pass-1"  # noqa: S105  (a throw-away staff user on a throw-away database)
TICK_SECONDS = 1.0
WARMUP_TICKS = 3
TARGET_P99 = 0.100
RSS_LIMIT_MIB = 4096  # a server that queues frames faster than it sends them is stopped here

RULESET = """\
id: fanout-bench
name: Fan-out bench
summary: Bench only. No map; every player's score grows each tick.
minPlayers: 1
maxPlayers: 1000
countdownSeconds: 3600
playerJoinStates: [{score: 0}]
publicState: [score]
rules:
  - id: score
    when: {type: tick, everyMs: 1000}
    do: [{type: increment_state, who: same, key: score}]
objectives:
  - text: "Score: {same.state.score}"
"""

SEED = f"""
from django.contrib.auth import get_user_model
from games.models import StoredRuleset
get_user_model().objects.create_user("gm", password={PASSWORD!r}, is_staff=True)
StoredRuleset(format="yaml", text={RULESET!r}).save()
"""

TICK_RE = re.compile(rb'"tick":(\d+)')


# --- the shared machine ------------------------------------------------------------------------


def machine_info() -> str:
    redis = harness.sh("redis-server", "-v")[:40]
    return harness.machine_info(
        ("django", "channels", "channels-redis", "daphne", "websockets"), [f"redis {redis}"]
    )


def wait_for_other_benchmarks(patience: float) -> None:
    if running := harness.wait_for_other_benchmarks(patience):
        raise SystemExit(f"another benchmark is still running after {patience:.0f} s: {running}")


# --- servers -----------------------------------------------------------------------------------


def stack_env(data_dir: Path, redis: bool, prefix: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="playwave.settings",
        PLAYWAVE_DATA_DIR=str(data_dir),
        PLAYWAVE_LOG_LEVEL="WARNING",
        DJANGO_DEBUG="0",
        GAMES_TICK_MS=str(int(TICK_SECONDS * 1000)),
        PYTHONPATH=str(ROOT),
    )
    if redis:
        env.update(
            REDIS_URL=REDIS_URL, PLAYWAVE_CHANNEL_PREFIX=prefix, PLAYWAVE_CACHE_PREFIX=prefix
        )
    return env


def start_server(name: str, env: dict[str, str], logdir: Path) -> Server:
    """`manage.py serve --no-reaper` (daphne) on a free port; wait for it with `wait_ready`."""
    return Server(name, harness.serve, env, logdir)


def start_proxy(asgi: list[Server], env: dict[str, str], logdir: Path) -> Server:
    """Debian's HAProxy with deploy/haproxy.cfg in front of the two ASGI processes."""
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    port, stats_port = harness.free_port(), harness.free_port()
    proxy_env = dict(
        env,
        PLAYWAVE_PROXY_BIND=f"127.0.0.1:{port}",
        PLAYWAVE_WSGI=f"127.0.0.1:{asgi[0].port}",  # /v1 is not used here
        PLAYWAVE_ASGI_1=f"127.0.0.1:{asgi[0].port}",
        PLAYWAVE_ASGI_2=f"127.0.0.1:{asgi[1].port}",
        PLAYWAVE_PROXY_STATS=f"127.0.0.1:{stats_port}",
    )
    cmd = [haproxy, "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")]
    proxy = Server("proxy", cmd, proxy_env, logdir, port=port)
    proxy.wait_ready()
    PROXY_STATS[proxy.port] = f"http://127.0.0.1:{stats_port}/stats;csv"
    return proxy


PROXY_STATS: dict[int, str] = {}  # the proxy's port → its stats page (CSV)


def sockets_per_process(proxy: Server) -> str:
    """Open connections per ASGI process, from the proxy's stats: how the sockets were spread."""
    import csv
    import io

    import httpx

    rows = csv.DictReader(io.StringIO(httpx.get(PROXY_STATS[proxy.port], timeout=10).text))
    counts = {
        r["svname"]: r["scur"]
        for r in rows
        if r["# pxname"] == "asgi" and r["svname"] not in ("FRONTEND", "BACKEND")
    }
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))


def broadcast_lag(server: Server) -> tuple[float, float, dict[str, float], float]:
    """The scheduler's deadline → hand-over histogram (sum, count, cumulative buckets) and its
    phase-0 anchor on CLOCK_MONOTONIC."""
    import httpx

    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    total = count = anchor = 0.0
    buckets: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("playwave_games_tick_anchor_seconds"):
            anchor = float(line.rsplit(" ", 1)[1])
            continue
        if not line.startswith("playwave_games_broadcast_lag_seconds"):
            continue
        name, value = line.rsplit(" ", 1)
        if name.endswith("_sum"):
            total = float(value)
        elif name.endswith("_count"):
            count = float(value)
        elif "_bucket" in name:
            buckets[name.split('le="')[1].split('"')[0]] = float(value)
    return total, count, buckets, anchor


def login(server: Server) -> tuple[str, str]:
    """Sign the staff user in through the admin login: (session cookie, CSRF token)."""
    import httpx

    with httpx.Client(base_url=server.url) as http:
        page = http.get("/admin/login/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, "no CSRF token on the admin login page"
        r = http.post(
            "/admin/login/?next=/admin/",
            data={
                "username": "gm",
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.group(1),
                "next": "/admin/",
            },
        )
        assert r.status_code == 302, f"admin login failed: {r.status_code}"
        http.get("/games/gm/").raise_for_status()
        return http.cookies["sessionid"], http.cookies["csrftoken"]


def host_sessions(server: Server, cookie: str, csrf: str, n: int) -> list[str]:
    import httpx

    cookies = {"sessionid": cookie, "csrftoken": csrf}
    out = []
    with httpx.Client(base_url=server.url, cookies=cookies) as http:
        for _ in range(n):
            r = http.post(
                "/games/api/sessions",
                json={"game": "fanout-bench"},
                headers={"X-CSRFToken": csrf},
            )
            assert r.status_code == 201, r.text
            out.append(r.json()["code"])
    return out


# --- the players -------------------------------------------------------------------------------


@dataclass
class Receipts:
    """(session index, tick) → receipt times of that tick's `world` by the players."""

    times: dict[tuple[int, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    frames: int = 0
    bytes: int = 0
    recording: bool = False
    closing: bool = False
    errors: list[str] = field(default_factory=list)


# Side of the square "city" (metres) the players stand in, each at its own random spot
# (--city; 0: nobody sends a position, so every player's frame lists every other player).
CITY = {"side": 5000.0}
CITY_ORIGIN = (52.3702, 4.8952)


def spot(i: int) -> dict[str, float] | None:
    if not CITY["side"]:
        return None
    from games.engine.geometry import Frame

    rng = random.Random(i)
    side = CITY["side"]
    lat, lng = Frame(*CITY_ORIGIN).to_latlng(rng.uniform(0, side), rng.uniform(0, side))
    return {"lat": lat, "lng": lng}


class Player:
    def __init__(self, session: int, name: str, receipts: Receipts, at: dict | None) -> None:
        self.session = session
        self.name = name
        self.receipts = receipts
        self.at = at
        self.welcome: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def run(self, url: str, origin: str) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        r = self.receipts
        try:
            async with connect(
                url,
                origin=origin,  # type: ignore[arg-type]
                max_size=2**24,
                max_queue=None,
                open_timeout=300,
                ping_interval=None,  # a server behind on frames answers pings late too
            ) as ws:
                await ws.send(json.dumps({"type": "join", "name": self.name}))
                if self.at is not None:
                    await ws.send(json.dumps({"type": "location", "ts": 1, **self.at}))
                async for raw in ws:
                    t = time.monotonic()
                    data = raw if isinstance(raw, bytes) else raw.encode()
                    if data.startswith(b'{"type":"world"'):
                        if r.recording:
                            m = TICK_RE.search(data, 0, 400)
                            if m:
                                r.times[(self.session, int(m.group(1)))].append(t)
                                r.frames += 1
                                r.bytes += len(data)
                    elif not self.welcome.done():
                        frame = json.loads(data)
                        if frame["type"] == "welcome":
                            self.welcome.set_result(frame)
                        elif frame["type"] == "error":
                            self.welcome.set_exception(RuntimeError(str(frame)))
        except (ConnectionClosed, OSError) as exc:
            if not r.closing:
                r.errors.append(f"{self.name}: {exc!r}")
            if not self.welcome.done():
                self.welcome.set_exception(exc)


async def join_players(
    front: Server, codes: list[str], players: int, receipts: Receipts
) -> list[asyncio.Task[None]]:
    """`players` players split evenly over the sessions of `codes`, each on its own socket to
    `front`, joined 100 at a time (each batch welcomed before the next); their tasks."""
    per = players // len(codes)
    tasks = []
    for start in range(0, players, 100):
        group = []
        for i in range(start, min(players, start + 100)):
            s = min(i // per, len(codes) - 1)
            p = Player(s, f"P{i:04d}", receipts, spot(i))
            url = f"{front.ws}/ws/games/{codes[s]}/"
            tasks.append(asyncio.create_task(p.run(url, front.url)))
            group.append(p)
        await asyncio.gather(*(p.welcome for p in group))
    return tasks


async def gm_console(url: str, origin: str, cookie: str) -> Any:
    from websockets.asyncio.client import connect

    ws = await connect(
        url,
        origin=origin,  # type: ignore[arg-type]
        additional_headers={"Cookie": cookie},
        max_size=2**26,
        ping_interval=None,
        open_timeout=300,
    )
    await ws.send(json.dumps({"type": "spectate"}))
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == "welcome":
            assert frame["host"] is True, frame
            return ws


async def drain(ws: Any) -> None:
    """Keep reading the GM console's frames so its socket never backs up."""
    from websockets.exceptions import ConnectionClosed

    try:
        async for _ in ws:
            pass
    except ConnectionClosed:
        pass


@dataclass
class Run:
    layer: str
    sessions: int
    players: int
    latencies: list[float]
    spreads: list[float]
    skipped: int
    frames_per_s: float
    bytes_per_frame: float
    server_cores: float
    server_rss: float
    client_cores: float
    lag_mean: float
    lag_within_100ms: str
    join_seconds: float
    errors: list[str]
    failed: str = ""


async def watch_memory(servers: list[Server]) -> None:
    while True:
        for s in servers:
            if rss_mib(s.proc.pid) > RSS_LIMIT_MIB:
                raise SystemExit(f"{s.name} passed {RSS_LIMIT_MIB} MiB RSS: frames pile up")
        await asyncio.sleep(1)


async def drive(
    owners: list[Server],
    owner_of: list[int],
    front: Server,
    codes: list[str],
    cookie: str,
    players: int,
    ticks: int,
) -> Run:
    watchdog = asyncio.create_task(watch_memory(processes(owners, front)))
    try:
        return await measure(owners, owner_of, front, codes, cookie, players, ticks)
    finally:
        watchdog.cancel()


def processes(owners: list[Server], front: Server) -> list[Server]:
    """The servers of a run: the owners, and the front if it is another process."""
    return owners + ([] if front in owners else [front])


async def measure(
    owners: list[Server],
    owner_of: list[int],
    front: Server,
    codes: list[str],
    cookie: str,
    players: int,
    ticks: int,
) -> Run:
    """`owner_of[s]` is the index in `owners` of the process that hosts session `s`; sockets
    connect to `front` (an owner, another process, or the proxy in front of them)."""
    receipts = Receipts()
    per = players // len(codes)
    header = f"sessionid={cookie}"
    gms = [await gm_console(f"{front.ws}/ws/games/{c}/", front.url, header) for c in codes]
    gm_tasks = [asyncio.create_task(drain(ws)) for ws in gms]

    t0 = time.monotonic()
    tasks = await join_players(front, codes, players, receipts)
    join_seconds = time.monotonic() - t0
    print(
        f"   {players} players joined {len(codes)} session(s) in {join_seconds:.1f} s", flush=True
    )
    if front.port in PROXY_STATS:
        spread = await asyncio.to_thread(sockets_per_process, front)
        print(f"   sockets open per process, by the proxy: {spread}", flush=True)

    for ws in gms:
        await ws.send(json.dumps({"type": "gm.start"}))
    await asyncio.sleep(WARMUP_TICKS * TICK_SECONDS)  # past the start and the first full ticks

    servers = processes(owners, front)
    lag0 = [await asyncio.to_thread(broadcast_lag, o) for o in owners]
    cpu0 = [cpu_seconds(x.proc.pid) for x in servers]
    client0, w0 = time.process_time(), time.monotonic()
    receipts.recording = True
    await asyncio.sleep(ticks * TICK_SECONDS)
    receipts.recording = False
    window = time.monotonic() - w0
    server_cpu = sum(cpu_seconds(x.proc.pid) - c for x, c in zip(servers, cpu0, strict=True))
    client_cpu = time.process_time() - client0
    rss = sum(rss_mib(x.proc.pid) for x in servers)
    lag1 = [await asyncio.to_thread(broadcast_lag, o) for o in owners]
    await asyncio.sleep(2 * TICK_SECONDS)  # frames of the last recorded tick still arriving

    receipts.closing = True
    for ws in gms:
        await ws.send(json.dumps({"type": "gm.end"}))
        await ws.close()
    for t in (*tasks, *gm_tasks):
        t.cancel()
    await asyncio.gather(*tasks, *gm_tasks, return_exceptions=True)

    # Complete ticks only: every player of the session received it.
    # Complete ticks only (every player of the session received it): the window's edges cut
    # one tick short at each end.
    groups = {k: v for k, v in receipts.times.items() if len(v) >= per}
    for o, a, b in zip(owners, lag0, lag1, strict=True):
        if a[3] != b[3]:
            print(f"   {o.name}'s scheduler fell a period behind and started over", flush=True)
    # Each process gives out its own phases, in the order its sessions were hosted.
    rank: list[int] = []
    for s, o in enumerate(owner_of):
        rank.append(owner_of[:s].count(o))
    offsets = {
        s: lag0[o][3] + (rank[s] % TICK_SLOTS) * TICK_SECONDS / TICK_SLOTS
        for s, o in enumerate(owner_of)
    }
    lat, spreads, skipped = schedule_latencies(groups, offsets)
    ticks_seen = sum(b[1] - a[1] for a, b in zip(lag0, lag1, strict=True))
    within = sum(b[2].get("0.1", 0) - a[2].get("0.1", 0) for a, b in zip(lag0, lag1, strict=True))
    return Run(
        layer="",
        sessions=len(codes),
        players=players,
        latencies=lat,
        spreads=spreads,
        skipped=skipped,
        frames_per_s=receipts.frames / window,
        bytes_per_frame=receipts.bytes / max(1, receipts.frames),
        server_cores=server_cpu / window,
        server_rss=rss,
        client_cores=client_cpu / window,
        lag_mean=sum(b[0] - a[0] for a, b in zip(lag0, lag1, strict=True)) / max(1.0, ticks_seen),
        lag_within_100ms=f"{within:.0f}/{ticks_seen:.0f}",
        join_seconds=join_seconds,
        errors=receipts.errors,
    )


def schedule_latencies(
    groups: dict[tuple[int, int], list[float]], offsets: dict[int, float]
) -> tuple[list[float], list[float], int]:
    """Per session and tick: its last player's receipt - that session's deadline; first → last
    spread; ticks not seen.

    Sessions tick in phases of the period (games.runtime.TICK_SLOTS), given out by each process
    in the order its sessions were hosted (the runtime puts each new session in the phase with
    the fewest), so session ``s`` ticks at ``offsets[s] + n * period``, where ``offsets[s]`` is
    its process's anchor plus ``(rank % TICK_SLOTS) * period / TICK_SLOTS``.
    """
    if not groups:
        return [], [], 0
    p = TICK_SECONDS
    lat: list[float] = []
    spreads: list[float] = []
    seen: dict[int, set[int]] = defaultdict(set)
    for (session, _tick), v in groups.items():
        offset = offsets[session]
        n = math.floor((min(v) - offset) / p + 1e-9)
        seen[session].add(n)
        lat.append(max(v) - (offset + n * p))
        spreads.append(max(v) - min(v))
    spans = [max(ns) - min(ns) + 1 for ns in seen.values()]
    missed = sum(span - len(ns) for span, ns in zip(spans, seen.values(), strict=True))
    if sum(len(ns) for ns in seen.values()) < 0.9 * sum(spans):
        # Ticks more than a period late: the scheduler resets its deadlines, so no one phase
        # fits and only the spread and the server's own hand-over lag mean anything.
        return [], spreads, missed
    return lat, spreads, missed


# --- one configuration -------------------------------------------------------------------------


def run_one(layer: str, sessions: int, players: int, ticks: int, keep: bool) -> Run:
    redis = layer != "memory"
    data_dir = Path(tempfile.mkdtemp(prefix="pw-fanout-"))
    prefix = f"pwfan{secrets.token_hex(3)}"
    env = stack_env(data_dir, redis, prefix)
    if redis:
        harness.flush_redis(REDIS_URL)
    servers: list[Server] = []
    try:
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        subprocess.run([PYTHON, "manage.py", "shell", "-c", SEED], cwd=ROOT, env=env, check=True)
        servers.append(start_server(f"{layer}-a", env, data_dir))
        if layer in ("redis-split", "proxy"):
            servers.append(start_server(f"{layer}-b", env, data_dir))
        for s in servers:
            s.wait_ready()
        cookie, csrf = login(servers[0])
        if layer == "proxy":
            # Sessions hosted on A and B in turn; every socket through the proxy, which
            # balances them over both, so about half reach a process that does not own
            # their session.
            owners, front = list(servers), start_proxy(servers, env, data_dir)
            servers.append(front)
            owner_of = [i % 2 for i in range(sessions)]
        else:
            owners, front = servers[:1], servers[-1]
            owner_of = [0] * sessions
        codes = [host_sessions(owners[o], cookie, csrf, 1)[0] for o in owner_of]
        result = asyncio.run(drive(owners, owner_of, front, codes, cookie, players, ticks))
        result.layer = layer
        return result
    finally:
        for s in servers:
            s.stop()
        if redis:
            harness.flush_redis(REDIS_URL)
        if keep:
            print(f"   (kept {data_dir})")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def report(runs: list[Run]) -> str:
    header = (
        "| layer | sessions x players | ticks | tick → last player p50 / p95 / p99 / max (ms) "
        "| first → last p99 (ms) | frames/s | bytes/frame | server CPU (cores) | server RSS (MiB) "
        "| scheduler hand-over mean (ms), ≤ 100 ms | client CPU (cores) |"
    )
    rows = [header, "|" + "---|" * 11]
    for r in runs:
        if r.failed:
            rows.append(
                f"| {r.layer} | {r.sessions} x {r.players // r.sessions} "
                f"| failed: {r.failed[:120]} |"
            )
            continue
        lat = r.latencies
        spr = r.spreads or [math.nan]
        skipped = f" ({r.skipped} missed)" if r.skipped else ""
        figures = (
            f"{fmt_ms(pct(lat, 0.5))} / {fmt_ms(pct(lat, 0.95))} / {fmt_ms(pct(lat, 0.99))} / "
            f"{fmt_ms(max(lat))}"
            if lat
            else "overloaded: ticks fall behind"
        )
        rows.append(
            f"| {r.layer} | {r.sessions} x {r.players // r.sessions} | {len(r.spreads)}{skipped} "
            f"| {figures} | {fmt_ms(pct(spr, 0.99))} | {r.frames_per_s:,.0f} "
            f"| {r.bytes_per_frame:,.0f} | {r.server_cores:.2f} | {r.server_rss:,.0f} "
            f"| {fmt_ms(r.lag_mean)}, {r.lag_within_100ms} | {r.client_cores:.2f} |"
        )
    return "\n".join(rows)


def failed_run(layer: str, sessions: int, players: int, why: str) -> Run:
    return Run(layer, sessions, players, [], [], 0, 0, 0, 0, 0, 0, 0, "", 0, [], why)


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--players", type=int, default=1000)
    ap.add_argument("--sessions", default="1,100", help="comma-separated session counts")
    ap.add_argument("--ticks", type=int, default=30)
    ap.add_argument(
        "--city",
        type=float,
        default=CITY["side"],
        help="metres: players stand at random spots in a square this wide (0: no positions)",
    )
    ap.add_argument("--layers", default="memory,redis,redis-split")
    ap.add_argument("--patience", type=float, default=3600, help="wait for other benchmarks")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data directories")
    args = ap.parse_args()
    CITY["side"] = args.city
    harness.raise_on_signal()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * args.players + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # inherited by the servers

    wait_for_other_benchmarks(args.patience)
    print(machine_info(), flush=True)
    runs = []
    for sessions in [int(x) for x in args.sessions.split(",")]:
        for layer in args.layers.split(","):
            print(f"== {layer}: {sessions} session(s), {args.players} players", flush=True)
            wait_for_other_benchmarks(args.patience)
            try:
                r = run_one(layer, sessions, args.players, args.ticks, args.keep)
            except Exception as exc:  # a server that gives up is a result too
                print(f"   failed: {exc!r}", flush=True)
                runs.append(failed_run(layer, sessions, args.players, repr(exc)))
                continue
            lat, spr = r.latencies, r.spreads or [math.nan]
            head = (
                f"tick → last: p50 {fmt_ms(pct(lat, 0.5))} ms, p99 {fmt_ms(pct(lat, 0.99))} ms, "
                f"max {fmt_ms(max(lat))} ms"
                if lat
                else "overloaded (ticks later than a period)"
            )
            print(
                f"   {head}; first → last p99 {fmt_ms(pct(spr, 0.99))} ms over {len(r.spreads)} "
                f"ticks ({r.skipped} missed); {r.frames_per_s:,.0f} frames/s "
                f"({r.frames_per_s / r.players:.2f} ticks/s delivered); "
                f"server {r.server_cores:.2f} cores, {r.server_rss:,.0f} MiB",
                flush=True,
            )
            if r.errors:
                print(f"   {len(r.errors)} socket errors, e.g. {r.errors[0][:200]}", flush=True)
            runs.append(r)
    print()
    print(report(runs))
    verdicts = [
        f"{r.layer} {r.sessions}x{r.players // r.sessions}: "
        + ("met" if r.latencies and pct(r.latencies, 0.99) <= TARGET_P99 else "missed")
        for r in runs
    ]
    print(f"\ntarget tick → last of {args.players} players p99 ≤ 100 ms: " + "; ".join(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
