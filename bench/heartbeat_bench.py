"""Heartbeat throughput and latency over HTTP, side by side with a bare Django view.

    .venv/bin/python bench/heartbeat_bench.py [--duration 10] [--connections 8] [--sessions 2000]

Creates a fresh PostgreSQL database (dropped at the end) and uses Redis db 14, migrates, seeds
game sessions through the domain functions (many cafes and PCs, one game, one API key), then
for each serving option (gunicorn 2 sync workers, uvicorn 2 workers, daphne 1 process) starts
the server on a free port and measures with wrk:

* `GET /bench/bare` — a Django JSON view with no database (from bench/bench_urls.py);
* `PATCH /v1/game/session/heartbeat` — real key auth, row locks, charging, cycling over the
  seeded sessions (bench/heartbeat.lua);
* the heartbeat at half of its saturation rate, with an open-loop fixed-rate client (latency
  counted from each request's scheduled send time), and with `wrk -c2` for comparison.

Any non-2xx heartbeat (or a heartbeat whose result is not "OK") makes the run fail loudly.
Not part of the test suite. Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.harness import Server, pct

LUA = Path(__file__).resolve().parent / "heartbeat.lua"
REDIS_URL = "redis://127.0.0.1:6379/14"
MONITOR_BASELINE_RPS = 140.0  # the heartbeat monitor's ping view (docs/performance.md, spec)
PCS_PER_CAFE = 20
HEARTBEAT_PATH = "/v1/game/session/heartbeat"


def machine_info() -> str:
    wrk = harness.sh("wrk", "--version").splitlines()[0] if shutil.which("wrk") else "wrk missing"
    return harness.machine_info(
        ("django", "gunicorn", "uvicorn", "daphne", "psycopg", "uvloop", "httptools"), [wrk]
    )


def bench_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.bench_settings",
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        # Nothing expires during the run; charging keeps its default 60 s billing unit.
        PLAYWAVE_SESSION_TIMEOUT="86400",
        PLAYWAVE_LAUNCHER_TIMEOUT="86400",
        PLAYWAVE_LOG_LEVEL="WARNING",
        DJANGO_DEBUG="0",
        PYTHONPATH=str(harness.ROOT),
    )
    env.update(extra)
    return env


@dataclass
class Seeded:
    api_key: str
    sessions: list[tuple[str, str]]  # (game_session_id, provider_user_id)
    seconds: float


def seed(n_sessions: int) -> Seeded:
    """Cafes of PCS_PER_CAFE PCs, each PC with a launcher and one verified game session."""
    t0 = time.perf_counter()
    game, raw_key = harness.seed_game("bench-obby", "Bench Obby", 10)
    sessions = harness.seed_verified(game, n_sessions, pcs_per_cafe=PCS_PER_CAFE)
    return Seeded(raw_key, sessions, time.perf_counter() - t0)


def analyze() -> None:
    """Planner statistics, as autovacuum keeps them on a live database: without them a session
    is looked up through the partial index of every ACTIVE row instead of its primary key."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


@dataclass
class DbState:
    active: int
    heartbeats: int
    charges: int
    ledger_ok: bool


def db_state() -> DbState:
    from django.db.models import Count, Q, Sum

    from sessions.models import BalanceEntry, GameSession

    agg = GameSession.objects.aggregate(
        hb=Sum("heartbeat_count"), active=Count("id", filter=Q(state="ACTIVE"))
    )
    return DbState(
        active=agg["active"] or 0,
        heartbeats=agg["hb"] or 0,
        charges=BalanceEntry.objects.filter(kind="charge").count(),
        ledger_ok=harness.ledger_holds(),
    )


# --- servers -------------------------------------------------------------------------------


SERVERS: dict[str, tuple[str, Callable[[int], list[str]]]] = {
    "gunicorn": ("gunicorn, 2 sync workers (WSGI)", lambda port: harness.gunicorn(port, 2)),
    "gunicorn4": (
        "gunicorn, 4 sync workers (WSGI; not a spec configuration, for comparison)",
        lambda port: harness.gunicorn(port, 4),
    ),
    "uvicorn": ("uvicorn[standard], 2 workers (ASGI)", lambda port: harness.uvicorn(port, 2)),
    "daphne": ("daphne, 1 process (ASGI)", harness.daphne),
}


def start_server(name: str, key: str, env: dict[str, str], logdir: Path) -> Server:
    """One of SERVERS on a free port, answering the bare view (bench/bench_urls.py)."""
    return Server(key, SERVERS[name][1], env, logdir).wait_ready("/bench/bare")


def busy_fraction(seconds: float = 1.0) -> float:
    """Share of the machine's CPU in use over `seconds` (other users of this shared box)."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields) - idle, sum(fields)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(1, total1 - total0)


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _cpu_ticks_of_others(own_groups: set[int]) -> dict[int, int]:
    """CPU ticks used so far by each process that is not this benchmark's (nor a database)."""
    ticks = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        if int(fields[2]) in own_groups or comm.startswith(("postgres", "redis", "py-spy")):
            continue
        ticks[int(stat.parent.name)] = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks


class OtherLoad:
    """Cores used by other work on this shared machine while a measurement ran."""

    def __init__(self, *extra_groups: int) -> None:
        self.groups = {os.getpgid(0), *extra_groups}
        self.cores = 0.0

    def __enter__(self) -> OtherLoad:
        self.t0 = time.monotonic()
        self.ticks0 = _cpu_ticks_of_others(self.groups)
        return self

    def __exit__(self, *exc: object) -> None:
        after = _cpu_ticks_of_others(self.groups)
        # Processes that ended meanwhile are not counted (an underestimate, never negative).
        ticks = sum(n - self.ticks0.get(pid, 0) for pid, n in after.items())
        self.cores = ticks / CLK_TCK / max(1e-9, time.monotonic() - self.t0)


def wait_quiet(threshold: float = 0.10, patience: float = 90.0) -> float:
    """Wait (up to `patience` s) until the machine is mostly idle; return the last busy share."""
    deadline = time.monotonic() + patience
    busy = busy_fraction()
    while busy > threshold and time.monotonic() < deadline:
        print(f"   (machine {busy:.0%} busy with other work; waiting)", flush=True)
        time.sleep(2)
        busy = busy_fraction()
    return busy


# --- load generators -----------------------------------------------------------------------


@dataclass
class Result:
    server: str
    endpoint: str
    method: str  # how the load was generated
    rps: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    not_ok: int = 0
    errors: int = 0
    ok_responses: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def run_wrk(
    server: Server,
    mode: str,
    *,
    connections: int,
    duration: float,
    ids_file: Path,
    api_key: str,
    logdir: Path,
    measure: bool = True,
    path: str | None = None,
) -> Result:
    """wrk at `connections`; `path` sends the mode's requests elsewhere (a ceiling endpoint)."""
    if path is None:
        path = {"heartbeat": HEARTBEAT_PATH, "bare": "/bench/bare"}.get(mode, "/")
    background = wait_quiet() if measure else 0.0
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration:g}s",
        "--latency",
        "--timeout=5s",
        "-s",
        str(LUA),
        f"{server.url}{path}",
    ]
    env = dict(
        os.environ,
        BENCH_MODE=mode,
        BENCH_IDS_FILE=str(ids_file),
        BENCH_API_KEY=api_key,
        BENCH_PATH=path,
    )
    with OtherLoad(server.proc.pid) as other:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    slug = path.strip("/").replace("/", "-")
    (logdir / f"wrk-{server.name}-{slug}-c{connections}-{time.time():.0f}.txt").write_text(
        out.stdout + out.stderr
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    data = json.loads(line.removeprefix("BENCH_RESULT "))
    errors = sum(data["errors"][k] for k in ("connect", "read", "write", "timeout"))
    ok = sum(n for status, n in data["statuses"].items() if 200 <= int(status) < 300)
    return Result(
        server=server.name,
        endpoint=mode,
        method=f"wrk -t1 -c{connections} -d{duration:g}s",
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        non2xx=data["non2xx"],
        not_ok=data["not_ok"],
        errors=errors,
        ok_responses=ok - data["not_ok"],
        extra={
            "statuses": data["statuses"],
            "max_ms": data["max_us"] / 1000,
            "background": background,
            "other_cores": other.cores,
        },
    )


def heartbeat_request(port: int, api_key: str, gs: str, user: str) -> bytes:
    body = json.dumps({"game_session_id": gs, "provider_user_id": user}).encode()
    head = (
        f"PATCH {HEARTBEAT_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"X-Api-Key: {api_key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _open_loop(
    port: int, requests: list[bytes], rate: float, duration: float
) -> dict[str, Any]:
    """Send requests at a fixed rate whatever the answers do (open loop, no coordinated omission).

    Latency is counted from each request's scheduled send time. Idle keep-alive connections
    are reused; a new one is opened when none is idle (sync gunicorn closes after each answer).
    """
    clock = time.perf_counter  # uvloop's loop.time() only has millisecond resolution
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    not_ok = 0
    in_flight = asyncio.Semaphore(512)

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        # A numeric address on a ready socket: no resolver thread on the request path.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        return await asyncio.open_connection(sock=sock)

    async def exchange(
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], req: bytes
    ) -> tuple[int, bytes, bool]:
        reader, writer = conn
        writer.write(req)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)
        }
        body = await reader.readexactly(int(headers["content-length"]))
        closes = headers.get("connection", "").lower() == "close"
        return status, body, closes

    async def one(req: bytes, scheduled: float) -> None:
        nonlocal not_ok
        async with in_flight:
            for attempt in (0, 1):
                reused = bool(idle)
                conn = idle.pop() if reused else await connect()
                try:
                    status, body, closes = await exchange(conn, req)
                except (OSError, asyncio.IncompleteReadError):
                    conn[1].close()
                    if reused and attempt == 0:
                        continue  # the server dropped an idle keep-alive connection; retry once
                    statuses["error"] += 1
                    return
                break
            latencies.append(clock() - scheduled)
            statuses[str(status)] += 1
            if 200 <= status < 300 and b'"result": "OK"' not in body:
                not_ok += 1
            if closes:
                conn[1].close()
            else:
                idle.append(conn)

    n = int(rate * duration)
    interval = 1.0 / rate
    tasks = []
    cpu0 = time.process_time()
    start = clock() + 0.05
    for i in range(n):
        scheduled = start + i * interval
        delay = scheduled - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(requests[i % len(requests)], scheduled)))
    await asyncio.gather(*tasks)
    elapsed = clock() - start
    cpu = time.process_time() - cpu0
    for _, writer in idle:
        writer.close()
    return {
        "sent": n,
        "elapsed": elapsed,
        "statuses": dict(statuses),
        "not_ok": not_ok,
        "p50_ms": pct(latencies, 0.50) * 1000,
        "p99_ms": pct(latencies, 0.99) * 1000,
        "p999_ms": pct(latencies, 0.999) * 1000,
        "max_ms": max(latencies) * 1000,
        "client_cpu_s": cpu,
    }


def run_open_loop(server: Server, requests: list[bytes], rate: float, duration: float) -> Result:
    background = wait_quiet()
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner, OtherLoad(server.proc.pid) as other:
        data = runner.run(_open_loop(server.port, requests, rate, duration))
    ok = sum(n for s, n in data["statuses"].items() if s.isdigit() and 200 <= int(s) < 300)
    non2xx = sum(n for s, n in data["statuses"].items() if s.isdigit() and not 200 <= int(s) < 300)
    return Result(
        server=server.name,
        endpoint="heartbeat",
        method=f"open loop {rate:.0f} req/s, {duration:g}s",
        rps=data["sent"] / data["elapsed"],
        p50_ms=data["p50_ms"],
        p99_ms=data["p99_ms"],
        non2xx=non2xx,
        not_ok=data["not_ok"],
        errors=data["statuses"].get("error", 0),
        ok_responses=ok - data["not_ok"],
        extra={
            **{k: data[k] for k in ("p999_ms", "max_ms", "client_cpu_s", "statuses")},
            "background": background,
            "other_cores": other.cores,
        },
    )


# --- the run -------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections at saturation")
    parser.add_argument("--sessions", type=int, default=2000, help="game sessions to seed")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per run")
    parser.add_argument(
        "--servers",
        default="gunicorn,uvicorn,daphne,gunicorn4",
        help="comma-separated subset of: " + ", ".join(SERVERS),
    )
    parser.add_argument(
        "--no-charge-every-beat",
        action="store_true",
        help="skip the extra gunicorn run with a 1 s billing unit (every heartbeat charges)",
    )
    parser.add_argument(
        "--max-other-load",
        type=float,
        default=0.15,
        help="cores other work may use during a measurement before it is repeated",
    )
    parser.add_argument("--retries", type=int, default=2, help="repeats of a disturbed run")
    parser.add_argument("--database", default="playwave_bench")
    parser.add_argument("--keep", action="store_true", help="keep the database and logs")
    parser.add_argument(
        "--ceilings",
        action="store_true",
        help="instead: the charging, fast-path and launcher heartbeats against their raw-SQL "
        "ceilings, gunicorn 2 sync workers, interleaved rounds (see --rounds)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (--ceilings)")
    parser.add_argument("--launchers", type=int, default=200, help="launchers (--ceilings)")
    args = parser.parse_args()
    args.server_list = [s.strip() for s in args.servers.split(",") if s.strip()]
    for s in args.server_list:
        if s not in SERVERS:
            raise SystemExit(f"unknown server {s!r}; choose from {', '.join(SERVERS)}")
    return args


@dataclass
class Plan:
    """One server run: which server, its row name, label and environment; all measurements?"""

    server: str
    key: str
    label: str
    env: dict[str, str]
    full: bool


def plan(args: argparse.Namespace) -> list[Plan]:
    runs = [Plan(s, s, SERVERS[s][0], {}, True) for s in args.server_list]
    if not args.no_charge_every_beat and "gunicorn" in args.server_list:
        runs.append(
            Plan(
                "gunicorn",
                "gunicorn+charge",
                "gunicorn, 2 sync workers, 1 s billing unit (every beat charges)",
                {"PLAYWAVE_BILLING_UNIT": "1"},
                False,
            )
        )
    return runs


class Bench:
    """The measurements of one run: every attempt, the one kept per row, the OK heartbeats."""

    def __init__(
        self, args: argparse.Namespace, database_url: str, seeded: Seeded, logdir: Path
    ) -> None:
        self.args = args
        self.database_url = database_url
        self.seeded = seeded
        self.logdir = logdir
        rng = random.Random(42)
        self.pairs = list(seeded.sessions)
        rng.shuffle(self.pairs)  # concurrent beats land on different cafes, as in real traffic
        self.ids_file = logdir / "sessions.txt"
        self.ids_file.write_text("".join(f"{gs} {user}\n" for gs, user in self.pairs))
        self.results: list[Result] = []  # the measurement kept for each row
        self.attempts: list[Result] = []  # every measurement, for the correctness checks
        self.ok_heartbeats = 0
        self.saturation: dict[str, float] = {}

    def wrk(
        self, server: Server, mode: str, conns: int, duration: float, measure: bool = True
    ) -> Result:
        r = run_wrk(
            server,
            mode,
            connections=conns,
            duration=duration,
            ids_file=self.ids_file,
            api_key=self.seeded.api_key,
            logdir=self.logdir,
            measure=measure,
        )
        if mode == "heartbeat":
            self.ok_heartbeats += r.ok_responses
        return r

    def quiet(self, label: str, key: str, fn: Callable[[], Result]) -> Result:
        """Measure; again (up to --retries) if other work shared the CPU; keep the calmest."""
        best: Result | None = None
        for _ in range(self.args.retries + 1):
            r = fn()
            r.server = key
            self.attempts.append(r)
            if best is None or r.extra["other_cores"] < best.extra["other_cores"]:
                best = r
            if r.extra["other_cores"] <= self.args.max_other_load:
                break
            print(
                f"   ({label}: other work used {r.extra['other_cores']:.2f} cores "
                "meanwhile; measuring again)",
                flush=True,
            )
        assert best is not None
        self.results.append(best)
        print(
            f"   {label:10s}{best.rps:8.0f} req/s  p50 {best.p50_ms:.1f} ms  "
            f"p99 {best.p99_ms:.1f} ms  (other load {best.extra['other_cores']:.2f})",
            flush=True,
        )
        return best

    def run(self, p: Plan) -> None:
        args = self.args
        print(f"\n== {p.label}", flush=True)
        server = start_server(p.server, p.key, bench_env(self.database_url, **p.env), self.logdir)
        opened = harness.pg_sessions(args.database)
        try:
            print(f"   started: {server.command}", flush=True)
            conns, duration = args.connections, args.duration
            if p.full:
                self.wrk(server, "bare", conns, args.warmup, measure=False)
                self.quiet("bare", p.key, lambda: self.wrk(server, "bare", conns, duration))
            self.wrk(server, "heartbeat", conns, args.warmup, measure=False)
            r = self.quiet(
                "heartbeat", p.key, lambda: self.wrk(server, "heartbeat", conns, duration)
            )
            self.saturation[p.key] = r.rps
            if not p.full:
                return
            self.quiet("hb -c2", p.key, lambda: self.wrk(server, "heartbeat", 2, duration))
            reqs = [
                heartbeat_request(server.port, self.seeded.api_key, gs, u) for gs, u in self.pairs
            ]

            def half() -> Result:
                r = run_open_loop(server, reqs, self.saturation[p.key] / 2, duration)
                self.ok_heartbeats += r.ok_responses
                return r

            self.quiet("hb half", p.key, half)
        finally:
            server.stop()
            print(
                f"   PostgreSQL connections opened meanwhile: "
                f"{harness.pg_sessions(args.database) - opened}",
                flush=True,
            )


def failures_of(bench: Bench, before: DbState, after: DbState) -> list[str]:
    """Every answer that was not a 2xx OK, and every way the database disagrees with them."""
    failures = []
    for r in bench.attempts:
        if r.endpoint == "heartbeat" and (r.non2xx or r.not_ok or r.errors):
            failures.append(
                f"{r.server} {r.method}: {r.non2xx} non-2xx, {r.not_ok} not OK, "
                f"{r.errors} socket errors/timeouts; statuses {r.extra.get('statuses')}"
            )
        if r.endpoint == "bare" and (r.non2xx or r.errors):
            failures.append(f"{r.server} bare: {r.non2xx} non-2xx, {r.errors} errors")
    new_beats = after.heartbeats - before.heartbeats
    if new_beats < bench.ok_heartbeats:
        failures.append(
            f"only {new_beats} heartbeats recorded for {bench.ok_heartbeats} OK answers"
        )
    if not after.ledger_ok:
        failures.append("ledger invariant broken: top-ups - charges != balance")
    if after.active != before.active:
        failures.append(f"{before.active - after.active} sessions stopped being ACTIVE")
    return failures


def report(bench: Bench, before: DbState, after: DbState) -> str:
    """The results table (docs/performance.md) and what the database recorded meanwhile."""
    bare = {r.server: r for r in bench.results if r.endpoint == "bare"}
    saturation = f"-c{bench.args.connections}"
    sat = {
        r.server: r for r in bench.results if r.endpoint == "heartbeat" and saturation in r.method
    }
    rows = []
    for r in bench.results:
        ratio_bare = ""
        ratio_base = ""
        if r.endpoint == "heartbeat" and r is sat.get(r.server):
            base = bare.get(r.server) or bare.get(r.server.split("+")[0])
            ratio_bare = f"{r.rps / base.rps:.2f}" if base else ""
            ratio_base = f"{r.rps / MONITOR_BASELINE_RPS:.1f}x"
        rows.append(
            [
                r.server,
                r.endpoint,
                r.method,
                f"{r.rps:,.0f}",
                f"{r.p50_ms:.1f}",
                f"{r.p99_ms:.1f}",
                str(r.non2xx + r.not_ok + r.errors),
                ratio_bare,
                ratio_base,
                f"{r.extra.get('other_cores', 0):.2f}",
            ]
        )
    header = [
        "server",
        "endpoint",
        "load",
        "req/s",
        "p50 ms",
        "p99 ms",
        "non-2xx/errors",
        "hb ÷ bare",
        "hb ÷ 140",
        "other load (cores)",
    ]
    new_beats = after.heartbeats - before.heartbeats
    new_charges = after.charges - before.charges
    return (
        harness.fmt_table(rows, header)
        + f"\n\nheartbeats answered OK: {bench.ok_heartbeats}; heartbeat_count grew by "
        f"{new_beats}; charges written during the run: {new_charges} "
        f"({new_charges / max(1, new_beats):.1%} of heartbeats charged); "
        f"sessions still ACTIVE: {after.active}/{before.active}; "
        f"ledger invariant {'holds' if after.ledger_ok else 'BROKEN'}"
    )


# --- the heartbeats against their ceilings (issue 14) ---------------------------------------

LAUNCHER_PATH = "/v1/launcher/session/heartbeat"
LAUNCHER_CEILING = "/bench/launcher-beat"
CHARGE_CEILING = "/bench/charge"


@dataclass
class Launchers:
    """Signed-in launchers of cafes on 127.0.0.0/8: (key id, secret, bearer token) each."""

    rows: list[tuple[str, str, str]]


def seed_launchers(n: int) -> Launchers:
    from django.utils import timezone

    from sessions import billing, launchers

    rows = []
    for c in range(math.ceil(n / PCS_PER_CAFE)):
        cafe = billing.create_cafe(f"Loopback cafe {c}", ["127.0.0.0/8"], now=timezone.now())
        for p in range(min(PCS_PER_CAFE, n - c * PCS_PER_CAFE)):
            start = launchers.start_launcher_session(
                cafe, f"LB-{c}-{p}", now=timezone.now(), internal_ip="127.0.0.1"
            )
            rows.append((cafe.launcher_key_id, cafe.launcher_secret, start.token))
    return Launchers(rows)


def signed_requests(launchers: Launchers, path: str, count: int, into: Path) -> Path:
    """`count` launcher heartbeats to `path`, signed now, each with its own nonce."""
    from playwave_client.signing import sign

    timestamp = str(int(time.time()))
    lines = []
    for i in range(count):
        key_id, secret, token = launchers.rows[i % len(launchers.rows)]
        nonce = f"{i:08d}{os.urandom(8).hex()}"
        signature = sign(secret, "PATCH", path, timestamp, nonce, b"{}")
        lines.append(f"{path} {token} {key_id} {timestamp} {nonce} {signature}\n")
    into.write_text("".join(lines))
    return into


@dataclass
class Endpoint:
    """One column of the interleaved rounds: which server, which load, which path."""

    name: str
    server: str  # key of the server it runs on
    mode: str  # wrk script mode
    path: str
    ids: str  # "charging", "ceiling" or "signed" (a fresh file per measurement)


ENDPOINTS = [
    Endpoint("charge ceiling (raw SQL)", "charging", "heartbeat", CHARGE_CEILING, "ceiling"),
    Endpoint("heartbeat, every beat charges", "charging", "heartbeat", HEARTBEAT_PATH, "hb"),
    Endpoint("heartbeat, fast path", "fast", "heartbeat", HEARTBEAT_PATH, "hb"),
    Endpoint("launcher ceiling (HMAC+nonce+update)", "charging", "signed", LAUNCHER_CEILING, ""),
    Endpoint("launcher heartbeat", "charging", "signed", LAUNCHER_PATH, ""),
]


def no_double_charge() -> bool:
    """Every session's coins_charged is the sum of its ledger charges."""
    from django.db.models import Sum

    from sessions.models import BalanceEntry, GameSession

    charged = dict(
        BalanceEntry.objects.filter(kind="charge")
        .values("session_id")
        .annotate(total=Sum("amount"))
        .values_list("session_id", "total")
    )
    return all(
        charged.get(pk, 0) == coins
        for pk, coins in GameSession.objects.values_list("pk", "coins_charged")
    )


def ceilings_main(args: argparse.Namespace) -> int:
    """Interleaved rounds A B C … of every ENDPOINTS row, medians of --rounds, then p99 at half."""
    import statistics

    harness.raise_on_signal()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    print(machine_info(), flush=True)
    print(f"uptime: {harness.sh('uptime')}", flush=True)
    print(f"command: {harness.command_line()}\n", flush=True)
    logdir = Path(tempfile.mkdtemp(prefix="playwave-bench-"))
    database_url = harness.recreate_database(args.database)
    harness.flush_redis(REDIS_URL)
    harness.setup_django(bench_env(database_url))
    from django.core.management import call_command
    from django.db import connections

    servers: dict[str, Server] = {}
    results: dict[str, list[Result]] = {e.name: [] for e in ENDPOINTS}
    failures: list[str] = []
    try:
        call_command("migrate", verbosity=0)
        seeded = seed(args.sessions)
        game = harness.seed_game("bench-ceiling", "Bench Ceiling", 10)[0]
        ceiling = harness.seed_bulk(game, args.sessions, prefix="ceil", started_ago=60, beat_ago=0)
        signed_in = seed_launchers(args.launchers)
        analyze()
        print(
            f"seeded {len(seeded.sessions)} + {len(ceiling.session_ids)} sessions, "
            f"{len(signed_in.rows)} launchers",
            flush=True,
        )
        rng = random.Random(42)
        pairs = list(seeded.sessions)
        rng.shuffle(pairs)
        files = {
            "hb": logdir / "sessions.txt",
            "ceiling": logdir / "ceiling.txt",
        }
        files["hb"].write_text("".join(f"{gs} {u}\n" for gs, u in pairs))
        files["ceiling"].write_text("".join(f"gs_{pk} x\n" for pk in ceiling.session_ids))
        connections.close_all()
        for key, unit in (("charging", "1"), ("fast", "60")):
            env = bench_env(database_url, PLAYWAVE_BILLING_UNIT=unit)
            servers[key] = Server(key, lambda port: harness.gunicorn(port, 2), env, logdir)
            servers[key].wait_ready("/bench/bare")
            print(f"   {key}: {servers[key].command} (PLAYWAVE_BILLING_UNIT={unit})", flush=True)
        conns, duration = args.connections, args.duration

        def measure(e: Endpoint, seconds: float) -> Result:
            ids = files.get(e.ids)
            if e.mode == "signed":
                count = int(seconds * 4000) + 1000  # more than any server here answers
                ids = signed_requests(signed_in, e.path, count, logdir / "signed.txt")
            assert ids is not None
            return run_wrk(
                servers[e.server],
                e.mode,
                connections=conns,
                duration=seconds,
                ids_file=ids,
                api_key=seeded.api_key,
                logdir=logdir,
                measure=False,
                path=e.path,
            )

        for e in ENDPOINTS:
            measure(e, args.warmup)  # warm-up, not kept
        for r in range(args.rounds):
            for e in ENDPOINTS:
                res = measure(e, duration)
                results[e.name].append(res)
                print(
                    f"   round {r + 1} {e.name:38s}{res.rps:8.0f} req/s  "
                    f"p99 {res.p99_ms:.1f} ms  other load {res.extra['other_cores']:.2f}",
                    flush=True,
                )
        median = {name: statistics.median(x.rps for x in rs) for name, rs in results.items()}
        charging = ENDPOINTS[1].name
        pairs_by_port = [(gs, u) for gs, u in pairs]
        reqs = [
            heartbeat_request(servers["charging"].port, seeded.api_key, gs, u)
            for gs, u in pairs_by_port
        ]
        half = run_open_loop(servers["charging"], reqs, median[charging] / 2, duration)
        for rs in results.values():
            for x in rs:
                if x.non2xx or x.not_ok or x.errors:
                    failures.append(
                        f"{x.endpoint} {x.method}: {x.non2xx} non-2xx, "
                        f"{x.not_ok} not OK, {x.errors} errors {x.extra['statuses']}"
                    )
        if half.non2xx or half.not_ok or half.errors:
            failures.append(f"half saturation: {half.extra['statuses']}")
        ledger, exact = harness.ledger_holds(), no_double_charge()
        if not ledger:
            failures.append("ledger invariant broken: top-ups - charges != balance")
        if not exact:
            failures.append("a session's coins_charged differs from its ledger charges")
    finally:
        for server in servers.values():
            server.stop()
        connections.close_all()
        if not args.keep:
            harness.drop_database(args.database)
            harness.flush_redis(REDIS_URL)

    rows = [
        [
            name,
            " ".join(f"{x.rps:.0f}" for x in results[name]),
            f"{median[name]:,.0f}",
            f"{statistics.median(x.p99_ms for x in results[name]):.1f}",
        ]
        for name in results
    ]
    print(
        "\n"
        + harness.fmt_table(rows, ["endpoint", "req/s per round", "median req/s", "median p99 ms"])
    )

    def ratio(num: Endpoint, den: Endpoint) -> tuple[float, str]:
        """The median of the per-round ratios (a round's endpoints ran back to back, so drift
        between rounds cancels), and the per-round ratios themselves."""
        per_round = [
            a.rps / b.rps for a, b in zip(results[num.name], results[den.name], strict=True)
        ]
        return statistics.median(per_round), " ".join(f"{x:.2f}" for x in per_round)

    ratios = [
        ("charging heartbeat ÷ raw-SQL ceiling", ratio(ENDPOINTS[1], ENDPOINTS[0]), "≥ 0.8"),
        ("fast-path heartbeat ÷ the same ceiling", ratio(ENDPOINTS[2], ENDPOINTS[0]), "≥ 1.0"),
        ("launcher heartbeat ÷ its ceiling", ratio(ENDPOINTS[4], ENDPOINTS[3]), "≥ 0.8"),
    ]
    figures = [
        [f"{name} (per round: {rounds})", f"{value:.2f}", target]
        for name, (value, rounds), target in ratios
    ] + [
        [
            f"p99 at half saturation, charging ({half.rps:.0f} req/s open loop)",
            f"{half.p99_ms:.1f} ms",
            "≤ 10 ms",
        ],
    ]
    print("\n" + harness.fmt_table(figures, ["figure", "measured", "target"]))
    print(
        f"\nledger invariant {'holds' if ledger else 'BROKEN'}; coins_charged = ledger "
        f"charges for every session: {'yes' if exact else 'NO'}"
    )
    print(f"uptime: {harness.sh('uptime')}")
    if not args.keep:
        shutil.rmtree(logdir, ignore_errors=True)
    return harness.finish(failures)


def main() -> int:
    args = parse_args()
    if args.ceilings:
        return ceilings_main(args)
    harness.raise_on_signal()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    print(machine_info(), flush=True)
    print(f"command: {harness.command_line()}\n", flush=True)

    logdir = Path(tempfile.mkdtemp(prefix="playwave-bench-"))
    database_url = harness.recreate_database(args.database)
    harness.flush_redis(REDIS_URL)
    harness.setup_django(bench_env(database_url))
    from django.core.management import call_command
    from django.db import connections

    try:
        call_command("migrate", verbosity=0)
        seeded = seed(args.sessions)
        analyze()
        print(
            f"seeded {len(seeded.sessions)} sessions in {seeded.seconds:.1f} s "
            f"({len(seeded.sessions) / seeded.seconds:.0f}/s: launcher start + OTT + verify)",
            flush=True,
        )
        bench = Bench(args, database_url, seeded, logdir)
        before = db_state()
        connections.close_all()
        for p in plan(args):
            bench.run(p)
        after = db_state()
    finally:
        connections.close_all()
        if not args.keep:
            harness.drop_database(args.database)
            harness.flush_redis(REDIS_URL)

    print("\n" + machine_info().splitlines()[0])
    print(report(bench, before, after))
    print(f"logs: {logdir}" if args.keep else "", end="")
    if not args.keep:
        shutil.rmtree(logdir, ignore_errors=True)
    return harness.finish(failures_of(bench, before, after))


if __name__ == "__main__":
    sys.exit(main())
