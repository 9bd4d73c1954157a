"""The simulator at scale against gunicorn + PostgreSQL + Redis, with compressed timers.

    .venv/bin/python bench/simulator_bench.py [--pcs 400] [--duration 60] [--workers N]

Creates the database `playwave_simbench` (dropped at the end) and uses Redis db 13, migrates,
starts `gunicorn playwave.wsgi` (2 x nproc sync workers by default) and one `run_reaper`, then
runs `manage.py simulate` with the same environment (so both sides share timers and database).
Reports sustained heartbeats/s (game + launcher), the simulator's error count (target 0), whether
its table matched the server's records, and the server's RSS (gunicorn master + workers) before
and after. Appends the result to docs/performance.md with `--record`. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
DATABASE = "playwave_simbench"
REDIS_URL = "redis://127.0.0.1:6379/13"
TIMERS = {
    "PLAYWAVE_HEARTBEAT_INTERVAL": "4",
    "PLAYWAVE_SESSION_TIMEOUT": "12",
    "PLAYWAVE_LAUNCHER_HEARTBEAT_INTERVAL": "4",
    "PLAYWAVE_LAUNCHER_TIMEOUT": "12",
    "PLAYWAVE_GRACE_PERIOD": "4",
    "PLAYWAVE_BILLING_UNIT": "2",
    "PLAYWAVE_OTT_TTL": "10",
}


def sh(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')


def drop_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(TIMERS)
    env.update(
        {
            "DATABASE_URL": f"{PG_SERVER}/{DATABASE}",
            "REDIS_URL": REDIS_URL,
            "DJANGO_SETTINGS_MODULE": "playwave.settings",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PLAYWAVE_LOG_LEVEL": "WARNING",
        }
    )
    return env


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (gunicorn master + workers), MiB."""
    pids = [pid, *(int(p) for p in sh("pgrep", "-P", str(pid)).split())]
    total_kib = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


def wait_until_up(url: str, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/v1/openapi.json", timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pcs", type=int, default=400, help="PCs in all (20 per cafe)")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--record", action="store_true", help="append to docs/performance.md")
    args = parser.parse_args()
    pcs_per_cafe = 20
    cafes = max(1, args.pcs // pcs_per_cafe)
    poor = max(1, cafes // 10)

    env = environment()
    recreate_database()
    flush_redis()
    python = str(BIN / "python")
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "playwave.wsgi:application",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    reaper = subprocess.Popen([python, "manage.py", "run_reaper"], cwd=ROOT, env=env)
    simulate = [
        python,
        "manage.py",
        "simulate",
        "--url",
        url,
        "--cafes",
        str(cafes),
        "--pcs",
        str(pcs_per_cafe),
        "--poor-cafes",
        str(poor),
        "--duration",
        str(args.duration),
        "--seed",
        str(args.seed),
        "--connections",
        "200",
        "--no-progress",
    ]
    try:
        wait_until_up(url)
        time.sleep(2)  # workers finish importing
        rss_before = rss_mib(server.pid)
        started = time.monotonic()
        result = subprocess.run(
            simulate, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        wall = time.monotonic() - started
        rss_after = rss_mib(server.pid)
    finally:
        stop(reaper)
        stop(server)
        drop_database()

    table = result.stdout
    rate = re.search(r"([\d.]+) heartbeats/s", table)
    errors = re.search(r"^errors\s+(\d+)", table, re.MULTILINE)
    accepted = re.search(r"accepted \(OK\+EXHAUSTED\)\s+(\d+)", table)
    launcher_beats = re.search(r"^  heartbeat\s+(\d+)", table, re.MULTILINE)
    matched = "CHECK: the table matches" in table
    print(table)
    if result.returncode != 0:
        print(result.stderr[-3000:], file=sys.stderr)
    command = (
        "# the script sets these timers for the server, the reaper and the simulator:\n# "
        + " ".join(f"{k}={v}" for k, v in TIMERS.items())
        + f"\n.venv/bin/python bench/simulator_bench.py --pcs {args.pcs} "
        f"--duration {args.duration:g} --workers {args.workers}"
    )
    game_rate = int(accepted.group(1)) / args.duration if accepted else 0.0
    launcher_rate = int(launcher_beats.group(1)) / args.duration if launcher_beats else 0.0
    summary = "\n".join(
        [
            f"- PCs: {cafes * pcs_per_cafe} ({cafes} cafes x {pcs_per_cafe}, {poor} short of "
            f"G-coin); traffic {args.duration:g} s, whole run with wind-down {wall:.0f} s",
            f"- sustained heartbeats/s (game + launcher): {rate.group(1) if rate else '?'} "
            f"(game accepted ≈ {game_rate:.0f}/s, launcher ≈ {launcher_rate:.0f}/s)",
            f"- errors: {errors.group(1) if errors else '?'}; table matched the database: "
            f"{'yes' if matched else 'NO'}; simulate exit code {result.returncode}",
            f"- server RSS (gunicorn master + {args.workers} workers): "
            f"{rss_before:.0f} MiB before, {rss_after:.0f} MiB after",
        ]
    )
    print(summary)
    if args.record:
        record(command, summary, table)
    return 0 if result.returncode == 0 else 1


def record(command: str, summary: str, table: str) -> None:
    path = ROOT / "docs" / "performance.md"
    text = path.read_text() if path.exists() else ""
    section = "\n".join(
        [
            "## Simulator",
            "",
            "The traffic simulator (`manage.py simulate`) against gunicorn sync workers on "
            "PostgreSQL + Redis, with `run_reaper` beside them and compressed timers; the "
            "simulator runs on the same machine and shares its CPUs.",
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
            subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout,
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
    print(f"appended to {path} ({shlex.quote(str(path))})")


if __name__ == "__main__":
    sys.exit(main())
