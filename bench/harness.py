"""What every benchmark shares: the machine, ports, databases, servers, seeding, figures, report.

Benchmarks import this module and nothing of each other. Servers run in their own process
group on a free loopback port and log to a file; databases are created fresh on the shared
PostgreSQL and dropped by the benchmark that made them; percentiles are nearest-rank.
"""

from __future__ import annotations

import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
BENCHES = tuple(sorted(p.stem for p in Path(__file__).resolve().parent.glob("*_bench.py")))
CLK_TCK = os.sysconf("SC_CLK_TCK")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `python bench/x_bench.py` imports the project from the root


# --- the machine -------------------------------------------------------------------------------


def sh(*cmd: str) -> str:
    """A command's standard output, stripped ("" or a note if it cannot run)."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError as exc:
        return f"({cmd[0]}: {exc})"


def command_line() -> str:
    """How this benchmark was started, for its report."""
    return " ".join([Path(sys.executable).name, *sys.argv])


def machine_info(dists: Iterable[str] = ("django",), extra: Iterable[str] = ()) -> str:
    """Date, CPUs, memory and the versions of `dists` (one line each for `extra`)."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in sh("lscpu").splitlines() if "Model name" in ln),
        "?",
    )
    versions = []
    for dist in dists:
        try:
            versions.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            versions.append(f"{dist} -")
    return "\n".join(
        [
            f"date: {sh('date', '-Iseconds')}",
            f"nproc: {sh('nproc')}   cpu: {cpu}   kernel: {sh('uname', '-r')}",
            "free -h:",
            sh("free", "-h"),
            f"python {sys.version.split()[0]}; " + ", ".join(versions),
            *extra,
        ]
    )


def other_benchmarks() -> list[str]:
    """Command lines of the other benchmarks running on this (shared) machine."""
    others = [b for b in BENCHES if b != Path(sys.argv[0]).stem]
    out = sh("/usr/bin/pgrep", "-af", "bench/(" + "|".join(others) + r")\.py")
    return [line for line in out.splitlines() if line.strip()]


def wait_for_other_benchmarks(patience: float) -> list[str]:
    """Wait (up to `patience` s) until no other benchmark runs; return any still running."""
    deadline = time.monotonic() + patience
    running = other_benchmarks()
    while running and time.monotonic() < deadline:
        print(f"   (waiting for another benchmark: {running[0][:100]})", flush=True)
        time.sleep(10)
        running = other_benchmarks()
    return running


def raise_on_signal() -> None:
    """SIGTERM unwinds like Ctrl-C, so `finally` blocks stop servers and drop databases."""

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, terminate)


# --- ports and processes -----------------------------------------------------------------------


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int, *, children: bool = False) -> float:
    """Resident memory of a process (and of its direct children: gunicorn workers), MiB."""
    pids = [pid]
    if children:
        pids += [int(p) for p in sh("pgrep", "-P", str(pid)).split()]
    total_kib = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


# --- databases ---------------------------------------------------------------------------------


def recreate_database(name: str) -> str:
    """A fresh, empty PostgreSQL database `name`; returns its URL."""
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_SERVER}/{name}"


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_sessions(name: str) -> int:
    """Connections PostgreSQL has accepted for database `name` so far (pg_stat_database)."""
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        row = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", [name]
        ).fetchone()
    return int(row[0]) if row else 0


def flush_redis(url: str) -> None:
    """Empty the benchmark's own Redis database (never db 0 of anyone else)."""
    import redis

    redis.Redis.from_url(url).flushdb()


# The simulator benchmarks' compressed timers: sessions come and go for every end reason in seconds.
SIM_TIMERS = {
    "PLAYWAVE_HEARTBEAT_INTERVAL": "4",
    "PLAYWAVE_SESSION_TIMEOUT": "12",
    "PLAYWAVE_LAUNCHER_HEARTBEAT_INTERVAL": "4",
    "PLAYWAVE_LAUNCHER_TIMEOUT": "12",
    "PLAYWAVE_GRACE_PERIOD": "4",
    "PLAYWAVE_BILLING_UNIT": "2",
    "PLAYWAVE_OTT_TTL": "10",
}


def simulator_env(database: str, redis_url: str) -> dict[str, str]:
    """Servers, reapers and simulators alike: SIM_TIMERS, the database, Redis, quiet logs."""
    env = dict(os.environ)
    env.update(SIM_TIMERS)
    env.update(
        {
            "DATABASE_URL": f"{PG_SERVER}/{database}",
            "REDIS_URL": redis_url,
            "DJANGO_SETTINGS_MODULE": "playwave.settings",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PLAYWAVE_LOG_LEVEL": "WARNING",
        }
    )
    return env


def setup_django(env: dict[str, str]) -> None:
    """Configure Django in this process from `env` (DATABASE_URL, REDIS_URL, settings …)."""
    os.environ.update(env)
    import django

    django.setup()


# --- servers -----------------------------------------------------------------------------------


def gunicorn(port: int, workers: int, *extra: str) -> list[str]:
    return [
        str(BIN / "gunicorn"),
        f"--workers={workers}",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
        *extra,
        "playwave.wsgi:application",
    ]


def uvicorn(port: int, workers: int) -> list[str]:
    return [
        str(BIN / "uvicorn"),
        f"--workers={workers}",
        "--host=127.0.0.1",
        f"--port={port}",
        "--no-access-log",
        "--log-level=warning",
        "--lifespan=off",
        "playwave.asgi:application",
    ]


def daphne(port: int) -> list[str]:
    return [
        str(BIN / "daphne"),
        *("-b", "127.0.0.1", "-p", str(port), "-v", "0"),
        "playwave.asgi:application",
    ]


def serve(port: int) -> list[str]:
    """`manage.py serve` without its in-process reaper (daphne: HTTP and WebSockets)."""
    return [sys.executable, "manage.py", "serve", "--no-reaper", "--port", str(port)]


def manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


class Server:
    """A process of the stack, in its own process group, logging to `logdir/name.log`.

    `cmd` is a command line, or a function of the port (a free one unless `port` is given).
    """

    def __init__(
        self,
        name: str,
        cmd: Sequence[str] | Callable[[int], Sequence[str]],
        env: dict[str, str],
        logdir: Path,
        *,
        port: int | None = None,
    ) -> None:
        self.name = name
        self.port = port if port is not None else (free_port() if callable(cmd) else 0)
        argv = list(cmd(self.port) if callable(cmd) else cmd)
        first = argv[0]
        if first == sys.executable:
            first = ".venv/bin/python"
        elif first.startswith(str(BIN)):
            first = Path(first).name
        self.command = " ".join([first, *argv[1:]])
        self.log = (logdir / f"{name}.log").open("w")
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def wait_ready(self, path: str = "/healthz", timeout: float = 60.0) -> Server:
        """Poll (bounded) until `path` answers 200; a server that exits or stays mute fails."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited at start-up; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}{path}", timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)  # polling another process until it listens
        self.stop()
        raise SystemExit(f"{self.name} did not answer within {timeout} s; see {self.log.name}")

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group this benchmark started
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


# --- seeding -----------------------------------------------------------------------------------


def seed_game(slug: str, name: str, rate: int, label: str = "bench") -> tuple[Any, str]:
    """A game and a fresh API key for it: (Game, raw key)."""
    from sessions.models import ApiKey, Game

    game = Game.objects.create(slug=slug, name=name, coins_per_minute=rate)
    return game, ApiKey.objects.issue(game, label=label).raw_key


def seed_verified(game: Any, n: int, *, pcs_per_cafe: int = 20) -> list[tuple[str, str]]:
    """n sessions the real way (launcher start, OTT, verify): [(game_session_id, user)]."""
    from django.utils import timezone

    from sessions import billing, game_sessions, launchers

    sessions: list[tuple[str, str]] = []
    cafe = None
    for i in range(n):
        c, p = divmod(i, pcs_per_cafe)
        if p == 0:
            cafe = billing.create_cafe(
                f"Bench cafe {c}",
                [f"10.{c // 256}.{c % 256}.0/24"],
                balance=10**12,
                now=timezone.now(),
            )
        assert cafe is not None
        start = launchers.start_launcher_session(
            cafe,
            f"HW-{c}-{p}",
            now=timezone.now(),
            hostname=f"PC-{p:02d}",
            internal_ip=f"10.{c // 256}.{c % 256}.{p + 10}",
        )
        ott = launchers.issue_ott(start.session, game, now=timezone.now())
        user = str(1_000_000 + i)
        outcome = game_sessions.verify(game, ott.id, user, now=timezone.now())
        assert isinstance(outcome, game_sessions.Verified), outcome
        sessions.append((outcome.session_id, user))
    return sessions


@dataclass
class Bulk:
    session_ids: list[Any]
    cafe_ids: list[int]
    seconds: float


def seed_bulk(
    game: Any,
    n: int,
    *,
    prefix: str,
    started_ago: float,
    beat_ago: float | Callable[[int], float],  # seconds, or a function of the session's index
    pcs_per_cafe: int = 100,
    topup: int = 1_000_000,
    rate: int = 10,
) -> Bulk:
    """n ACTIVE sessions in bulk on fresh PCs with live launchers, charged for their play so far.

    Rows are written directly (bulk_create), as a day of verifies and heartbeats would have left
    them, with a ledger that balances: one opening top-up per cafe, then each session's charges.
    """
    from django.conf import settings
    from django.utils import timezone

    from sessions.lifecycle import State
    from sessions.models import (
        PC,
        BalanceEntry,
        Cafe,
        GameSession,
        LauncherSession,
        OneTimeToken,
        sha256_hex,
    )

    t0 = time.perf_counter()
    now = timezone.now()
    unit = settings.PLAYWAVE_BILLING_UNIT
    timeout = settings.PLAYWAVE_SESSION_TIMEOUT
    n_cafes = math.ceil(n / pcs_per_cafe)
    cafes = Cafe.objects.bulk_create(
        [
            Cafe(
                name=f"{prefix} cafe {c}",
                balance=topup,
                launcher_key_id=f"cafe_{secrets.token_hex(8)}",
                launcher_secret=secrets.token_urlsafe(32),
            )
            for c in range(n_cafes)
        ],
        batch_size=2000,
    )
    pcs = PC.objects.bulk_create(
        [
            PC(cafe=cafes[i // pcs_per_cafe], hardware_id=f"{prefix}-{i}", hostname=f"PC-{i}")
            for i in range(n)
        ],
        batch_size=5000,
    )
    started = [now - timedelta(seconds=started_ago)] * n
    beats = [
        now - timedelta(seconds=beat_ago(i) if callable(beat_ago) else beat_ago) for i in range(n)
    ]
    launchers = LauncherSession.objects.bulk_create(
        [
            LauncherSession(
                cafe=pc.cafe,
                pc=pc,
                token_digest=sha256_hex(secrets.token_urlsafe(16)),
                status=LauncherSession.Status.ACTIVE,
                started_at=started[i],
                last_heartbeat_at=now,  # alive: the launcher beats on its own schedule
            )
            for i, pc in enumerate(pcs)
        ],
        batch_size=5000,
    )
    users = [str(5_000_000 + i) for i in range(n)]
    otts = OneTimeToken.objects.bulk_create(
        [
            OneTimeToken(
                game=game,
                launcher_session=launcher,
                issued_at=started[i] - timedelta(seconds=2),
                expires_at=started[i] + timedelta(seconds=58),
                consumed_at=started[i],
                provider_user_id=users[i],
            )
            for i, launcher in enumerate(launchers)
        ],
        batch_size=5000,
    )
    charged = [
        rate * max(1, math.ceil((beats[i] - started[i]).total_seconds() / unit)) for i in range(n)
    ]
    sessions = GameSession.objects.bulk_create(
        [
            GameSession(
                game=game,
                cafe=pcs[i].cafe,
                pc=pcs[i],
                launcher_session=launchers[i],
                ott=otts[i],
                provider_user_id=users[i],
                state=State.ACTIVE,
                started_at=started[i],
                last_heartbeat_at=beats[i],
                heartbeat_count=int((beats[i] - started[i]).total_seconds() // 120),
                due_at=beats[i] + timedelta(seconds=timeout),
                rate=rate,
                coins_charged=charged[i],
            )
            for i in range(n)
        ],
        batch_size=5000,
    )
    entries = []
    balances = dict.fromkeys((c.pk for c in cafes), topup)
    for cafe in cafes:
        entries.append(
            BalanceEntry(
                cafe=cafe,
                kind=BalanceEntry.Kind.TOPUP,
                amount=topup,
                balance_after=topup,
                note="opening balance",
                created_at=now - timedelta(seconds=started_ago + 60),
            )
        )
    for i, session in enumerate(sessions):
        balances[session.cafe_id] -= charged[i]
        entries.append(
            BalanceEntry(
                cafe_id=session.cafe_id,
                kind=BalanceEntry.Kind.CHARGE,
                amount=charged[i],
                balance_after=balances[session.cafe_id],
                session=session,
                created_at=beats[i],
            )
        )
    BalanceEntry.objects.bulk_create(entries, batch_size=5000)
    for cafe_id, balance in balances.items():
        Cafe.objects.filter(pk=cafe_id).update(balance=balance)
    return Bulk([s.pk for s in sessions], [c.pk for c in cafes], time.perf_counter() - t0)


def ledger_holds(cafe_ids: list[int] | None = None) -> bool:
    """For every cafe (or those given): top-ups - charges = balance."""
    from django.db.models import Sum

    from sessions.models import BalanceEntry, Cafe

    entries = BalanceEntry.objects.all()
    cafes = Cafe.objects.all()
    if cafe_ids is not None:
        entries = entries.filter(cafe_id__in=cafe_ids)
        cafes = cafes.filter(pk__in=cafe_ids)
    sums = {
        (r["cafe_id"], r["kind"]): r["total"]
        for r in entries.values("cafe_id", "kind").annotate(total=Sum("amount"))
    }
    return all(
        sums.get((pk, "topup"), 0) - sums.get((pk, "charge"), 0) == balance
        for pk, balance in cafes.values_list("pk", "balance")
    )


# --- figures and the report --------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    """The nearest-rank `q` percentile (0 < q <= 1) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}" if seconds >= 0.01 else f"{seconds * 1000:.1f}"


def fmt_table(rows: list[list[str]], header: list[str]) -> str:
    """A Markdown table, as docs/performance.md keeps them."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def finish(failures: list[str]) -> int:
    """The benchmark's exit status; every failure is printed on stderr."""
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


def record(title: str, intro: str, command: str, summary: str, table: str) -> Path:
    """Append a dated section with the command, machine and results to docs/performance.md."""
    path = ROOT / "docs" / "performance.md"
    text = path.read_text() if path.exists() else ""
    section = "\n".join(
        [
            f"## {title}",
            "",
            intro,
            "",
            f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}",
            f"- nproc: {sh('nproc')}",
            "- command:",
            "",
            "```sh",
            command,
            "```",
            "",
            summary,
            "",
            "```",
            "$ free -h",
            sh("free", "-h") + "\n",
            "```",
            "",
            "```",
            table.strip(),
            "```",
            "",
        ]
    )
    with path.open("a") as out:
        out.write(("\n" if text and not text.endswith("\n\n") else "") + section)
    return path
