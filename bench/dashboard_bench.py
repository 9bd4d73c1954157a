"""The live dashboard with 10 000 live sessions: event → browser latency, and /metrics scrapes.

    .venv/bin/python bench/dashboard_bench.py [--live 10000] [--duration 30] [--rate 20]

Runs the stack as production would, on one fresh PostgreSQL database (dropped at the end) and
Redis db 12 (flushed first and last): `manage.py serve --no-reaper` (daphne, one process: the
dashboard and its WebSocket) and `gunicorn -c deploy/gunicorn.conf.py playwave.wsgi` with two
workers (the REST API), sharing one PROMETHEUS_MULTIPROC_DIR. It seeds `--live` ACTIVE sessions
in bulk (charged for their play so far, per the default 60 s billing unit; session and launcher
timeouts of a day, so nothing expires), logs an operator into `/admin/dashboard/` in headless
Chromium and installs a MutationObserver that stamps, with the page's wall clock, the moment a
`tr[data-session]` first appears and first carries `pw-ended`.

Then, for `--duration` seconds, over HTTP against gunicorn: heartbeats on the seeded sessions at
`--heartbeats` per second (default: `--live` / 120, what that many game servers beating every
120 s send), and `--rate` events per second: half of them verifies of new sessions (an OTT issued
through `sessions.launchers` here, then `POST /v1/game/session/verify`), half of them ends
(`DELETE /v1/game/session/end`) of those sessions `--end-after` seconds after their verify, so
they are still on page 1. Event → browser latency is the observer's stamp minus the moment the
verify or end response came back (both this machine's wall clock).

Also: `/metrics` scrape time and size against gunicorn and against daphne, and the time of the
queries a dashboard poll runs, with the seeded sessions in place.

Any event that never shows on the page makes the run exit 1. Waits first until no other
benchmark runs. Not part of the test suite. Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.harness import (
    BIN,
    ROOT,
    Server,
    drop_database,
    free_port,
    machine_info,
    other_benchmarks,
    pct,
    recreate_database,
    wait_for_other_benchmarks,
)
from tests.chromekit import ARGS, CHROMIUM  # one Chromium command line, resolving only loopback

REDIS_URL = "redis://127.0.0.1:6379/12"
PASSWORD = "dashboard-bench-pass-1"  # noqa: S105  (a throw-away operator on a throw-away database)
GAME_RATE = 10  # G-coin per billing unit, as the reaper bench seeds them
NEW_SESSIONS_CAFE_BALANCE = 10**12

# Stamps (epoch ms, the page's clock) of each session row's first appearance and first
# `pw-ended`. The table is re-rendered as a whole, so only the first sighting counts.
OBSERVER_JS = """
() => {
  const seen = (window.__pwSeen = { appeared: {}, ended: {} });
  const now = () => performance.timeOrigin + performance.now();
  const note = (tr, t) => {
    const id = tr.dataset.session;
    if (!(id in seen.appeared)) seen.appeared[id] = t;
    if (tr.classList.contains("pw-ended") && !(id in seen.ended)) seen.ended[id] = t;
  };
  new MutationObserver((records) => {
    const t = now();
    for (const r of records) {
      if (r.type === "attributes") {
        if (r.target.matches && r.target.matches("tr[data-session]")) note(r.target, t);
        continue;
      }
      for (const n of r.addedNodes) {
        if (n.nodeType !== 1) continue;
        if (n.matches("tr[data-session]")) note(n, t);
        for (const tr of n.querySelectorAll("tr[data-session]")) note(tr, t);
      }
    }
  }).observe(document.getElementById("pw-sessions"), {
    childList: true, subtree: true, attributes: true, attributeFilter: ["class"],
  });
  for (const tr of document.querySelectorAll("tr[data-session]")) note(tr, now());
  return Object.keys(seen.appeared).length;
}
"""


# What the page's socket did: every open, close and message (its type and number), stamped.
SOCKET_LOG_JS = """
(() => {
  const log = (window.__pwSocket = []);
  const now = () => performance.timeOrigin + performance.now();
  const Native = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    ws.addEventListener("open", () => log.push([now(), "open"]));
    ws.addEventListener("close", (e) => log.push([now(), "close", e.code]));
    ws.addEventListener("message", (e) => {
      const m = JSON.parse(e.data);
      log.push([now(), m.type, m.seq === undefined ? null : m.seq, (m.changed || []).length]);
    });
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, { OPEN: 1, CLOSED: 3, CONNECTING: 0, CLOSING: 2 });
})();
"""


def epoch_ms() -> float:
    return time.time() * 1000.0


# --- the shared machine ------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, str, int]]:
    """pid -> (parent pid, command name, CPU ticks so far) for every process."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        table[int(stat.parent.name)] = (int(fields[1]), comm, int(fields[11]) + int(fields[12]))
    return table


class CpuMeter:
    """Cores used over a span by each part of the stack, by this benchmark, and by others."""

    CLK_TCK = os.sysconf("SC_CLK_TCK")

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots  # part name -> pid of its process tree

    def _classify(self) -> tuple[Counter[str], Counter[str]]:
        table = _proc_table()
        me = os.getpid()
        ticks: Counter[str] = Counter()
        others: Counter[str] = Counter()
        for pid, (_, comm, n) in table.items():
            part = None
            if comm.startswith("postgres"):
                part = "postgres"
            elif comm.startswith("redis"):
                part = "redis"
            else:
                walk, hops = pid, 0
                while walk > 1 and hops < 64 and part is None:
                    for name, root in self.roots.items():
                        if walk == root:
                            part = name
                    if walk == me and part is None:
                        part = "bench client + chromium"
                    walk, hops = table.get(walk, (0, "", 0))[0], hops + 1
            ticks[part or "other work"] += n
            if part is None:
                others[f"{comm}[{pid}]"] += n
        return ticks, others

    def __enter__(self) -> CpuMeter:
        self.t0 = time.monotonic()
        self.ticks0, self.others0 = self._classify()
        return self

    def __exit__(self, *exc: object) -> None:
        after, others = self._classify()
        seconds = max(1e-9, time.monotonic() - self.t0)
        # Processes that ended meanwhile drop out (never a negative share).
        self.cores = {
            part: max(0, after[part] - self.ticks0.get(part, 0)) / self.CLK_TCK / seconds
            for part in after
        }
        self.other_top = [
            (name, (n - self.others0.get(name, 0)) / self.CLK_TCK / seconds)
            for name, n in others.most_common()
            if n - self.others0.get(name, 0) > 0
        ][:5]


# --- database and seed ---------------------------------------------------------------------


def stack_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "GUNICORN_CMD_ARGS"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="playwave.settings",
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        # Nothing expires during the run; charging keeps its default 60 s billing unit.
        PLAYWAVE_SESSION_TIMEOUT="86400",
        PLAYWAVE_LAUNCHER_TIMEOUT="86400",
        PLAYWAVE_DATA_DIR=str(data_dir),
        PROMETHEUS_MULTIPROC_DIR=str(data_dir / "prometheus"),
        PLAYWAVE_LOG_LEVEL="WARNING",
        DJANGO_DEBUG="0",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


@dataclass
class Seeded:
    api_key: str
    live: list[tuple[str, str]]  # (game_session_id, provider_user_id)
    launchers: list[Any]  # idle launcher sessions, one per PC, for the new sessions
    seconds: float


def seed(n_live: int, n_new: int) -> Seeded:
    from django.contrib.auth import get_user_model
    from django.db.models import F
    from django.utils import timezone

    from sessions import billing
    from sessions.lifecycle import State
    from sessions.models import PC, ApiKey, Game, GameSession, LauncherSession, sha256_hex

    t0 = time.perf_counter()
    get_user_model().objects.create_superuser("operator", "operator@example.com", PASSWORD)
    game = Game.objects.create(slug="bench-obby", name="Bench Obby", coins_per_minute=GAME_RATE)
    raw_key = ApiKey.objects.issue(game, label="dashboard bench").raw_key
    # Started half an hour ago; last beats spread over the 120 s interval, as in real traffic.
    harness.seed_bulk(
        game, n_live, prefix="live", started_ago=1800, beat_ago=lambda i: i % 120, rate=GAME_RATE
    )
    # Their last write was their last heartbeat, not this seed: the hub's first look back
    # (5 s) must not find 10 000 rows written "just now".
    GameSession.objects.update(updated_at=F("last_heartbeat_at"))
    live = [
        (f"gs_{pk}", user)
        for pk, user in GameSession.objects.filter(state=State.ACTIVE).values_list(
            "id", "provider_user_id"
        )
    ]
    now = timezone.now()
    cafe = billing.create_cafe(
        "Dashboard bench cafe", ["10.99.0.0/16"], balance=NEW_SESSIONS_CAFE_BALANCE, now=now
    )
    pcs = PC.objects.bulk_create(
        [PC(cafe=cafe, hardware_id=f"new-{i}", hostname=f"NEW-{i}") for i in range(n_new)],
        batch_size=5000,
    )
    launchers = LauncherSession.objects.bulk_create(
        [
            LauncherSession(
                cafe=cafe,
                pc=pc,
                token_digest=sha256_hex(secrets.token_urlsafe(16)),
                status=LauncherSession.Status.ACTIVE,
                started_at=now,
                last_heartbeat_at=now,
            )
            for pc in pcs
        ],
        batch_size=5000,
    )
    return Seeded(raw_key, live, launchers, time.perf_counter() - t0)


# --- servers -----------------------------------------------------------------------------------


# --- the stream --------------------------------------------------------------------------------


@dataclass
class Event:
    kind: str  # "verify" or "end"
    session: str
    answered_ms: float
    seen_ms: float | None = None

    @property
    def latency_ms(self) -> float | None:
        return None if self.seen_ms is None else self.seen_ms - self.answered_ms


@dataclass
class Stream:
    events: list[Event] = field(default_factory=list)
    heartbeats: Counter[str] = field(default_factory=Counter)  # result or status -> count
    failures: list[str] = field(default_factory=list)
    verify_ms: list[float] = field(default_factory=list)
    end_ms: list[float] = field(default_factory=list)
    heartbeat_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    socket_log: list[list[Any]] = field(default_factory=list)
    other_top: list[tuple[str, float]] = field(default_factory=list)
    ended_at: datetime | None = None


async def drive(
    api: Any,
    seeded: Seeded,
    *,
    duration: float,
    heartbeat_rate: float,
    event_rate: float,
    end_after: float,
) -> Stream:
    """Heartbeats and verify/end pairs at fixed rates (open loop) for `duration` seconds."""
    from django.db import close_old_connections
    from django.utils import timezone

    from sessions import launchers as launcher_domain
    from sessions.models import Game

    stream = Stream()
    orm = ThreadPoolExecutor(max_workers=1, thread_name_prefix="orm")
    loop = asyncio.get_running_loop()
    game = await loop.run_in_executor(orm, lambda: Game.objects.get(slug="bench-obby"))
    launchers = iter(seeded.launchers)
    live = list(seeded.live)
    random.Random(6).shuffle(live)
    tasks: list[asyncio.Task[None]] = []

    def issue_ott(launcher: Any) -> str:
        close_old_connections()
        return f"playwave_{launcher_domain.issue_ott(launcher, game, now=timezone.now()).id}"

    async def heartbeat(gs: str, user: str) -> None:
        t = time.perf_counter()
        try:
            r = await api.patch(
                "/v1/game/session/heartbeat", json={"game_session_id": gs, "provider_user_id": user}
            )
        except Exception as exc:  # counted, and the run fails
            stream.heartbeats[type(exc).__name__] += 1
            return
        stream.heartbeat_ms.append((time.perf_counter() - t) * 1000)
        result = r.json().get("data", {}).get("result") if r.status_code == 200 else None
        stream.heartbeats[result or str(r.status_code)] += 1

    async def session_life(n: int) -> None:
        launcher = next(launchers)
        user = str(9_000_000 + n)
        try:
            ott = await loop.run_in_executor(orm, issue_ott, launcher)
            t = time.perf_counter()
            r = await api.post(
                "/v1/game/session/verify", json={"ott": ott, "provider_user_id": user}
            )
            answered = epoch_ms()
            stream.verify_ms.append((time.perf_counter() - t) * 1000)
            data = r.json().get("data") or {}
            if r.status_code != 200 or not data.get("is_valid"):
                stream.failures.append(f"verify {r.status_code}: {r.text[:200]}")
                return
            gs = data["game_session_id"]
            stream.events.append(Event("verify", gs, answered))
            await asyncio.sleep(end_after)
            t = time.perf_counter()
            r = await api.request("DELETE", "/v1/game/session/end", json={"game_session_id": gs})
            answered = epoch_ms()
            stream.end_ms.append((time.perf_counter() - t) * 1000)
            if r.status_code != 200:
                stream.failures.append(f"end {r.status_code}: {r.text[:200]}")
                return
            stream.events.append(Event("end", gs, answered))
        except Exception as exc:  # recorded; the run fails
            stream.failures.append(f"session {n}: {type(exc).__name__}: {exc}")

    async def schedule(rate: float, start: Callable[[int], Any]) -> None:
        if rate <= 0:
            return
        t0 = time.perf_counter()
        n = 0
        while (due := t0 + n / rate) < t0 + duration:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(start(n)))
            n += 1

    t0 = time.perf_counter()
    await asyncio.gather(
        schedule(heartbeat_rate, lambda n: heartbeat(*live[n % len(live)])),
        schedule(event_rate / 2, session_life),
    )
    await asyncio.gather(*tasks)
    stream.seconds = time.perf_counter() - t0
    stream.ended_at = datetime.now(UTC)
    await loop.run_in_executor(orm, close_connection)
    orm.shutdown()
    return stream


def close_connection() -> None:
    from django.db import connection

    connection.close()


async def wait_for_page(page: Any, stream: Stream, settle: float) -> None:
    """Give the page up to `settle` s to show the last events, then read its stamps."""
    deadline = time.monotonic() + settle
    while True:
        seen = await page.evaluate("() => window.__pwSeen")
        for e in stream.events:
            e.seen_ms = (seen["appeared"] if e.kind == "verify" else seen["ended"]).get(e.session)
        if all(e.seen_ms is not None for e in stream.events) or time.monotonic() > deadline:
            return
        await asyncio.sleep(0.5)


# --- side measurements ---------------------------------------------------------------------


def time_calls(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    """Median and max wall time of `n` calls, in ms."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times)


def poll_queries(n: int, now: datetime) -> dict[str, tuple[float, float]]:
    """What one dashboard poll and one snapshot cost in queries, as of `now` (the stream's end)."""
    from dashboard import minutes
    from dashboard import queries as dashboard
    from sessions.metrics import LiveStateCollector

    since = now - timedelta(seconds=5.5)
    written = dashboard.written_since(since)
    ids = [pk for pk, _ in written]
    rows = dashboard.rows_for(ids[: dashboard.MAX_CHANGES])
    collector = LiveStateCollector()
    return {
        f"written_since (last 5.5 s: {len(written)} ids)": time_calls(
            lambda: dashboard.written_since(since), n
        ),
        f"rows_for ({len(rows)} rows)": time_calls(
            lambda: dashboard.rows_for(ids[: dashboard.MAX_CHANGES]), n
        ),
        "row() for those rows": time_calls(lambda: [dashboard.row(s, now) for s in rows], n),
        "totals() (every update)": time_calls(lambda: dashboard.totals(now), n),
        "charts() (per-minute figures)": time_calls(lambda: minutes.charts(now), n),
        "table() page 1 (snapshots)": time_calls(
            lambda: dashboard.table(dashboard.TableQuery(), now), n
        ),
        "/metrics database gauges": time_calls(lambda: list(collector.collect()), n),
    }


def scrape(url: str, n: int) -> tuple[float, float, int]:
    """Median and max time (ms) of `n` GET /metrics, and the body size in bytes."""
    import httpx

    times, size = [], 0
    with httpx.Client(timeout=30) as client:
        client.get(f"{url}/metrics")  # the first scrape after start-up pays imports
        for _ in range(n):
            t = time.perf_counter()
            r = client.get(f"{url}/metrics")
            times.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
            size = len(r.content)
    return statistics.median(times), max(times), size


# --- the run -----------------------------------------------------------------------------------


async def measure(
    args: argparse.Namespace, seeded: Seeded, daphne_url: str, api_url: str, roots: dict[str, int]
) -> tuple[Stream, dict[str, float], float]:
    import httpx
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page()
            await page.add_init_script(SOCKET_LOG_JS)
            await page.goto(f"{daphne_url}/admin/login/?next=/admin/dashboard/")
            await page.fill("#id_username", "operator")
            await page.fill("#id_password", PASSWORD)
            await page.click("input[type=submit]")
            await page.wait_for_selector("#pw-conn.pw-up", timeout=30_000)
            await page.wait_for_selector("tr[data-session]", timeout=30_000)
            rows = await page.evaluate(OBSERVER_JS)
            skew = await page.evaluate("() => performance.timeOrigin + performance.now()")
            skew -= epoch_ms()
            print(
                f"dashboard open and live ({rows} rows on page 1); page clock - bench clock: "
                f"{skew:+.1f} ms",
                flush=True,
            )
            limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
            async with httpx.AsyncClient(
                base_url=api_url,
                headers={"X-Api-Key": seeded.api_key},
                timeout=30,
                limits=limits,
            ) as api:
                with CpuMeter(roots) as cpu:
                    stream = await drive(
                        api,
                        seeded,
                        duration=args.duration,
                        heartbeat_rate=args.heartbeats,
                        event_rate=args.rate,
                        end_after=args.end_after,
                    )
            await wait_for_page(page, stream, args.settle)
            stream.socket_log = await page.evaluate("() => window.__pwSocket")
            if await page.locator("#pw-conn.pw-up").count() != 1:
                stream.failures.append("the dashboard was not connected at the end of the run")
            seq = await page.inner_text("#pw-seq")
            print(f"dashboard at the end: {seq}", flush=True)
        finally:
            await browser.close()
    stream.other_top = cpu.other_top
    return stream, cpu.cores, skew


def report_socket(stream: Stream) -> list[str]:
    """Opens, closes, snapshots and the longest silence of the page's socket."""
    log = stream.socket_log
    kinds = Counter(entry[1] for entry in log)
    closes = Counter(entry[2] for entry in log if entry[1] == "close")
    messages = [entry[0] for entry in log if entry[1] in ("update", "snapshot", "table")]
    gaps = [b - a for a, b in itertools.pairwise(messages)]
    changed = [entry[3] for entry in log if entry[1] == "update"]
    return [
        f"page socket: {kinds['open']} open(s), {kinds['close']} close(s) {dict(closes)}, "
        f"{kinds['snapshot']} snapshot(s), {kinds['update']} update(s) "
        f"(rows per update: median {statistics.median(changed) if changed else 0:.0f}, "
        f"max {max(changed, default=0)}), longest silence {max(gaps, default=0) / 1000:.1f} s"
    ]


def report_latency(stream: Stream) -> list[str]:
    lines = []
    for kind in ("verify", "end", "all"):
        events = [e for e in stream.events if kind in ("all", e.kind)]
        shown = [e.latency_ms for e in events if e.latency_ms is not None]
        missing = len(events) - len(shown)
        if not shown:
            lines.append(f"| {kind} | {len(events)} | - | - | - | - | {missing} |")
            continue
        lines.append(
            f"| {kind} | {len(events)} | {pct(shown, 0.50):.0f} | {pct(shown, 0.95):.0f} | "
            f"{pct(shown, 0.99):.0f} | {max(shown):.0f} | {missing} |"
        )
    # A hub that keeps up has a flat latency; one that falls behind, a growing one.
    events = sorted(stream.events, key=lambda e: e.answered_ms)
    thirds = []
    for k in range(3):
        part = events[k * len(events) // 3 : (k + 1) * len(events) // 3]
        shown = [e.latency_ms for e in part if e.latency_ms is not None]
        missing = len(part) - len(shown)
        thirds.append(
            f"{pct(shown, 0.5):.0f} ms ({missing} never shown)" if shown else f"- ({missing})"
        )
    return [
        "| events | count | p50 ms | p95 ms | p99 ms | max ms | never shown |",
        "|---|---|---|---|---|---|---|",
        *lines,
        "p50 by thirds of the stream: " + ", ".join(thirds),
    ]


def print_stream(
    args: argparse.Namespace, stream: Stream, cores: dict[str, float], others: list[str]
) -> None:
    """Event → browser latency, the page's socket, API latency and who used the CPU."""
    print("\n== Event → browser (ms)")
    print(
        f"{args.duration:g} s stream: {len(stream.heartbeat_ms)} heartbeats "
        f"({len(stream.heartbeat_ms) / stream.seconds:.0f}/s), "
        f"{len(stream.events)} events ({len(stream.events) / stream.seconds:.1f}/s)"
    )
    print("\n".join(report_latency(stream)))
    print("\n".join(report_socket(stream)))
    for name, values in (
        ("heartbeat", stream.heartbeat_ms),
        ("verify", stream.verify_ms),
        ("end", stream.end_ms),
    ):
        if values:
            print(f"API {name}: p50 {pct(values, 0.5):.1f} ms, p99 {pct(values, 0.99):.1f} ms")
    print(f"heartbeat results: {dict(stream.heartbeats)}")
    print(
        "cores used during the stream: "
        + ", ".join(f"{k} {v:.2f}" for k, v in sorted(cores.items(), key=lambda kv: -kv[1]))
    )
    if stream.other_top:
        print(
            "busiest other processes: "
            + ", ".join(f"{name} {c:.2f}" for name, c in stream.other_top)
        )
    if others:
        print(f"other benchmarks during the run: {others}")


def print_side_measurements(
    args: argparse.Namespace, stream: Stream, servers: dict[str, str]
) -> None:
    """/metrics scrapes against each server, and the queries of one dashboard poll."""
    print("\n== /metrics with the seeded sessions live (idle stream)")
    for name, url in servers.items():
        med, worst, size = scrape(url, args.scrapes)
        print(
            f"{name:8s} {args.scrapes} scrapes: median {med:.1f} ms, max {worst:.1f} ms, "
            f"{size} bytes"
        )
    print("\n== Queries of one dashboard poll at the stream's end (here; median / max of 20, ms)")
    assert stream.ended_at is not None
    for name, (med, worst) in poll_queries(20, stream.ended_at).items():
        print(f"{name:45s} {med:7.1f} {worst:7.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--live", type=int, default=10_000, help="live sessions to seed")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of steady stream")
    parser.add_argument("--rate", type=float, default=20.0, help="verify + end events per second")
    parser.add_argument(
        "--heartbeats",
        type=float,
        default=None,
        help="heartbeats per second on the seeded sessions (default: --live / 120)",
    )
    parser.add_argument(
        "--end-after", type=float, default=2.0, help="seconds from a verify to its end"
    )
    parser.add_argument("--settle", type=float, default=10.0, help="seconds to wait for stragglers")
    parser.add_argument("--scrapes", type=int, default=20, help="/metrics scrapes per server")
    parser.add_argument("--patience", type=float, default=1800, help="max wait for other benches")
    parser.add_argument("--database", default="playwave_dashbench")
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    args = parser.parse_args()
    if args.heartbeats is None:
        args.heartbeats = args.live / 120
    harness.raise_on_signal()
    if not shutil.which(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install -y chromium")

    still = wait_for_other_benchmarks(args.patience)
    print(machine_info(), flush=True)
    print(f"command: {harness.command_line()}", flush=True)
    if still:
        print(f"NOTE: other benchmarks still running: {still}", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="playwave-dashbench-"))
    (tmp / "prometheus").mkdir()
    database_url = recreate_database(args.database)
    harness.flush_redis(REDIS_URL)
    env = stack_env(database_url, tmp)
    harness.setup_django(env)
    from django.core.management import call_command
    from django.db import connections

    services: list[Server] = []
    failures: list[str] = []
    try:
        call_command("migrate", verbosity=0)
        n_new = math.ceil(args.duration * args.rate / 2) + 10
        seeded = seed(args.live, n_new)
        print(
            f"seeded {len(seeded.live)} live sessions (+{n_new} idle launchers for new "
            f"sessions) in {seeded.seconds:.1f} s",
            flush=True,
        )
        connections.close_all()

        api_port, ws_port = free_port(), free_port()
        gunicorn = Server(
            "gunicorn",
            [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "playwave.wsgi"],
            dict(env, GUNICORN_BIND=f"127.0.0.1:{api_port}", GUNICORN_WORKERS="2"),
            tmp,
            port=api_port,
        )
        daphne = Server("daphne", harness.serve, env, tmp, port=ws_port)
        services += [gunicorn, daphne]
        api_url, daphne_url = gunicorn.url, daphne.url
        gunicorn.wait_ready()
        daphne.wait_ready()
        print(f"started: {gunicorn.command} (GUNICORN_BIND, GUNICORN_WORKERS=2)", flush=True)
        print(f"started: {daphne.command}", flush=True)

        running = other_benchmarks()
        if running:
            print(f"NOTE: another benchmark started meanwhile: {running}", flush=True)
        roots = {"daphne (dashboard hub)": daphne.proc.pid, "gunicorn (API)": gunicorn.proc.pid}
        stream, cores, skew = asyncio.run(measure(args, seeded, daphne_url, api_url, roots))
        running_after = other_benchmarks()

        print_stream(args, stream, cores, running or running_after)
        if args.keep:
            (tmp / "socket-log.json").write_text(json.dumps(stream.socket_log))
        print_side_measurements(args, stream, {"gunicorn": api_url, "daphne": daphne_url})

        missing = [e for e in stream.events if e.seen_ms is None]
        if missing:
            failures.append(
                f"{len(missing)} of {len(stream.events)} events never showed on the dashboard "
                f"(first: {missing[0].kind} {missing[0].session})"
            )
        failures += stream.failures
        bad_beats = {k: n for k, n in stream.heartbeats.items() if k != "OK"}
        if bad_beats:
            failures.append(f"heartbeats not OK: {bad_beats}")
        if abs(skew) > 50:
            failures.append(f"page clock and bench clock differ by {skew:.0f} ms")
    finally:
        for service in services:
            service.stop()
        connections.close_all()
        if not args.keep:
            drop_database(args.database)
            harness.flush_redis(REDIS_URL)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept database {args.database} and logs in {tmp}")
    return harness.finish(failures)


if __name__ == "__main__":
    sys.exit(main())
