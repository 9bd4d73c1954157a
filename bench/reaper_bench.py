"""The reaper on PostgreSQL: time to end 10 000 due sessions, idle cost, lag under 100 000 live.

    .venv/bin/python bench/reaper_bench.py [--due 10000] [--live 100000] [--batch 500]

Creates a fresh PostgreSQL database (dropped at the end) and seeds valid rows in bulk: cafes
with a ledger-consistent balance (one top-up, one charge per session), PCs, live launcher
sessions, consumed OTTs and ACTIVE game sessions whose charges match their play so far. Then:

1. `reap_once(now=..., batch=...)` in a loop until the due sessions are all ended: seconds and
   sessions/s; every session must be ENDED exactly once (counted from the "ended" events), with
   the expected reason and play time, and the ledger invariant must hold.
2. Idle cost: `Reaper.iterate()` back to back with nothing due — CPU per pass of this process
   and of its PostgreSQL backend, i.e. the share of a core at one pass per second.
3. With `--live` sessions alive: idle cost again, one timed pass over a few hundred due sessions,
   and the lag past deadline of sessions falling due while a real `Reaper` thread runs at 1 Hz.

Not part of the test suite. Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    PG_SERVER,
    command_line,
    drop_database,
    finish,
    flush_redis,
    ledger_holds,
    machine_info,
    pct,
    recreate_database,
    seed_bulk,
    setup_django,
)

REDIS_URL = "redis://127.0.0.1:6379/14"
RATE = 10


def proc_cpu_seconds(pid: int) -> float:
    """CPU time of a (single-threaded) process, in nanosecond resolution from schedstat."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


class EndedEvents:
    """Counts the "ended" events per session and keeps their lag past the due time.

    The event's own `lag` is the pass's clock minus the due time; `real_lags` adds the time the
    pass took to reach this session's commit (the event is delivered right after it).
    """

    def __init__(self) -> None:
        self.per_session: Counter[str] = Counter()
        self.lags: list[float] = []
        self.real_lags: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        if event.kind == "ended":
            with self.lock:
                self.per_session[event.session_id] += 1
                lag = float(event.data.get("lag", 0.0))
                self.lags.append(lag)
                self.real_lags.append((datetime.now(UTC) - event.at).total_seconds() + lag)

    def reset(self) -> None:
        with self.lock:
            self.per_session.clear()
            self.lags.clear()
            self.real_lags.clear()


def idle_cost(passes: int) -> dict[str, float]:
    """CPU of `passes` back-to-back idle Reaper.iterate() calls, here and in the DB backend."""
    from django.db import connection

    from sessions.reaper import Reaper

    reaper = Reaper()
    reaper.iterate()  # connect, warm up
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = int(cursor.fetchone()[0])
    wall0, cpu0, db0 = time.perf_counter(), time.process_time(), proc_cpu_seconds(backend)
    for _ in range(passes):
        more = reaper.iterate()
        assert not more and reaper.last_report.total == 0, reaper.last_report
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    db = proc_cpu_seconds(backend) - db0
    return {
        "passes": passes,
        "wall_ms": wall / passes * 1000,
        "cpu_ms": cpu / passes * 1000,
        "db_cpu_ms": db / passes * 1000,
        # At one pass per second, CPU ms per pass / 1000 ms = share of one core.
        "core_pct": (cpu + db) / passes * 1000 / 10,
    }


def seed(game: Any, n: int, **kwargs: Any) -> Any:
    return seed_bulk(game, n, pcs_per_cafe=100, topup=1_000_000, rate=RATE, **kwargs)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--due", type=int, default=10_000, help="due sessions to reap")
    parser.add_argument("--batch", type=int, default=None, help="reap batch (default: setting)")
    parser.add_argument("--live", type=int, default=100_000, help="live sessions (0: skip)")
    parser.add_argument("--falling-due", type=int, default=300, help="due among the live ones")
    parser.add_argument("--idle-passes", type=int, default=200)
    parser.add_argument("--database", default="playwave_reaper_bench")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return parser.parse_args()


class Run:
    """The phases of one run, each reporting its line and adding what went wrong to `failures`."""

    def __init__(self, args: argparse.Namespace, game: Any, ended: EndedEvents) -> None:
        from django.conf import settings

        self.args = args
        self.game = game
        self.ended = ended
        self.batch = args.batch or settings.PLAYWAVE_REAPER_BATCH
        self.timeout = settings.PLAYWAVE_SESSION_TIMEOUT
        self.interval = settings.PLAYWAVE_REAPER_INTERVAL
        self.lines: list[str] = []
        self.failures: list[str] = []

    def report(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)

    def reap_due(self) -> None:
        """1. End `--due` due sessions: each once, as heartbeat_timeout, charging nothing."""
        from django.utils import timezone

        from sessions import reaper
        from sessions.lifecycle import EndReason, State
        from sessions.models import BalanceEntry, GameSession

        args, ended = self.args, self.ended
        seeded = seed(self.game, args.due, prefix="due", started_ago=400, beat_ago=250)
        print(f"seeded {args.due} due sessions in {seeded.seconds:.1f} s", flush=True)
        assert ledger_holds()
        charges_before = BalanceEntry.objects.filter(kind="charge").count()
        passes = 0
        reaped = 0
        t0 = time.perf_counter()
        while True:
            r = reaper.reap_once(now=timezone.now(), batch=self.batch)
            passes += 1
            reaped += r.ended
            if r.total == 0:
                break
        seconds = time.perf_counter() - t0
        self.report(
            f"reap {args.due} due sessions (batch {self.batch}): {seconds:.2f} s, "
            f"{reaped / seconds:,.0f} sessions/s, {passes} passes (the last one empty)"
        )
        rows = GameSession.objects.filter(pk__in=seeded.session_ids)
        states = Counter(rows.values_list("state", "end_reason", "play_duration_sec"))
        expected = (State.ENDED.value, EndReason.HEARTBEAT_TIMEOUT.value, 150)
        once = sum(1 for n in ended.per_session.values() if n == 1)
        twice = sum(1 for n in ended.per_session.values() if n > 1)
        ok_ledger = ledger_holds()
        extra_charges = BalanceEntry.objects.filter(kind="charge").count() - charges_before
        self.report(
            f"  check: {states.get(expected, 0)}/{args.due} ENDED as heartbeat_timeout with 150 s "
            f"of play; 'ended' announced once for {once}, more than once for {twice}; "
            f"reap reports {reaped} ended; extra charges {extra_charges} (none owed); "
            f"ledger invariant {'holds' if ok_ledger else 'BROKEN'}"
        )
        if states.get(expected, 0) != args.due or reaped != args.due:
            self.failures.append(f"not every due session ended as expected: {dict(states)}")
        if once != args.due or twice:
            self.failures.append(f"ended events: {once} once, {twice} more than once")
        if not ok_ledger or extra_charges:
            self.failures.append("ledger invariant broken or unexpected charges")

    def idle(self, what: str) -> None:
        """2. CPU of idle passes (here and in PostgreSQL) with what the table holds now."""
        idle = idle_cost(self.args.idle_passes)
        self.report(
            f"idle pass, {what}: {idle['wall_ms']:.2f} ms wall, "
            f"{idle['cpu_ms']:.2f} ms CPU here + {idle['db_cpu_ms']:.2f} ms in PostgreSQL "
            f"per pass ({self.args.idle_passes} passes) => {idle['core_pct']:.2f} % of a core "
            "at 1 Hz"
        )

    def seed_live(self) -> None:
        """3. `--live` sessions alive (due in ~4 minutes)."""
        from django.db import connections

        t0 = time.perf_counter()
        chunk = 20_000
        for start in range(0, self.args.live, chunk):
            n = min(chunk, self.args.live - start)
            seed(self.game, n, prefix=f"live{start}", started_ago=100, beat_ago=10)
        print(f"seeded {self.args.live} live sessions in {time.perf_counter() - t0:.1f} s")
        with connections["default"].cursor() as cursor:
            cursor.execute("ANALYZE")

    def one_pass(self) -> None:
        """One pass over `--falling-due` sessions already due among the live ones."""
        from django.utils import timezone

        from sessions import reaper

        args = self.args
        self.ended.reset()
        due_now = seed(self.game, args.falling_due, prefix="duenow", started_ago=300, beat_ago=245)
        t0 = time.perf_counter()
        r = reaper.reap_once(now=timezone.now(), batch=self.batch)
        seconds = time.perf_counter() - t0
        self.report(
            f"one pass with {args.live} live, {args.falling_due} due: {seconds * 1000:.0f} ms "
            f"({r.ended} ended)"
        )
        if r.ended != args.falling_due:
            self.failures.append(f"one pass ended {r.ended} of {args.falling_due} due sessions")
        assert ledger_holds(due_now.cafe_ids)

    def lag(self) -> None:
        """Sessions fall due over the next seconds while a real Reaper runs at 1 Hz."""
        from sessions.reaper import Reaper

        self.ended.reset()
        spread = 4.0
        k = self.args.falling_due
        lead = 3.0  # seeding takes a moment; the first falls due after it
        timeout = self.timeout
        soon = seed(
            self.game,
            k,
            prefix="soon",
            started_ago=timeout + 30,
            beat_ago=lambda i: timeout - lead - spread * i / k,
        )
        durations: list[float] = []

        class TimedReaper(Reaper):
            def iterate(self) -> bool:
                t = time.perf_counter()
                try:
                    return super().iterate()
                finally:
                    durations.append(time.perf_counter() - t)

        reaper = TimedReaper(interval=self.interval)
        thread = reaper.start_thread()
        deadline = time.monotonic() + lead + spread + 15
        while len(self.ended.lags) < k and time.monotonic() < deadline:
            time.sleep(0.2)  # polling the reaper thread's announcements, with a deadline
        reaper.stop()
        thread.join(10)
        lags = list(self.ended.real_lags)
        self.report(
            f"lag past deadline (due time -> end committed), {k} sessions falling due "
            f"over {spread:g} s among "
            f"{self.args.live} live, reaper every {self.interval} s: "
            f"p50 {pct(lags, 0.5):.2f} s, p99 {pct(lags, 0.99):.2f} s, "
            f"max {max(lags):.2f} s ({len(lags)}/{k} ended); passes: {len(durations)}, "
            f"median {statistics.median(durations) * 1000:.0f} ms, "
            f"max {max(durations) * 1000:.0f} ms"
            if lags
            else f"lag: no session ended within the wait ({k} expected)"
        )
        if len(lags) != k:
            self.failures.append(f"only {len(lags)} of {k} sessions ended during the lag run")
        if not ledger_holds(soon.cafe_ids):
            self.failures.append("ledger invariant broken after the lag run")


def main() -> int:
    args = parse_args()
    print(machine_info(), flush=True)
    print(f"command: {command_line()}\n", flush=True)
    database_url = recreate_database(args.database)
    assert database_url.startswith(PG_SERVER)
    setup_django(
        {
            "DJANGO_SETTINGS_MODULE": "bench.bench_settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "PLAYWAVE_LOG_LEVEL": "WARNING",
        }
    )
    from django.core.management import call_command
    from django.db import connections

    from sessions import events
    from sessions.models import Game

    ended = EndedEvents()
    events.subscribe(ended)
    try:
        call_command("migrate", verbosity=0)
        game = Game.objects.create(slug="bench-reaper", name="Bench Reaper", coins_per_minute=RATE)
        run = Run(args, game, ended)
        run.reap_due()
        run.idle(f"{args.due} ENDED rows, nothing live")
        if args.live:
            run.seed_live()
            run.idle(f"{args.live} live sessions")
            run.one_pass()
            run.lag()
    finally:
        events.unsubscribe(ended)
        connections.close_all()
        if not args.keep:
            drop_database(args.database)
            flush_redis(REDIS_URL)

    print("\nsummary:\n  " + "\n  ".join(run.lines))
    return finish(run.failures)


if __name__ == "__main__":
    sys.exit(main())
