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
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.harness import BIN, ROOT, Server

DATABASE = "playwave_simbench"
REDIS_URL = "redis://127.0.0.1:6379/13"
TIMERS = harness.SIM_TIMERS


def environment() -> dict[str, str]:
    return harness.simulator_env(DATABASE, REDIS_URL)


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
    harness.recreate_database(DATABASE)
    harness.flush_redis(REDIS_URL)
    python = str(BIN / "python")
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    logdir = Path(tempfile.mkdtemp(prefix="playwave-simbench-"))
    server = Server("gunicorn", lambda port: harness.gunicorn(port, args.workers), env, logdir)
    reaper = Server("reaper", harness.manage("run_reaper"), env, logdir)
    simulate = [
        python,
        "manage.py",
        "simulate",
        "--url",
        server.url,
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
        server.wait_ready("/v1/openapi.json", timeout=30)
        time.sleep(2)  # workers finish importing
        rss_before = harness.rss_mib(server.proc.pid, children=True)
        started = time.monotonic()
        result = subprocess.run(
            simulate, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        wall = time.monotonic() - started
        rss_after = harness.rss_mib(server.proc.pid, children=True)
    finally:
        reaper.stop()
        server.stop()
        harness.drop_database(DATABASE)
        shutil.rmtree(logdir, ignore_errors=True)

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
    intro = (
        "The traffic simulator (`manage.py simulate`) against gunicorn sync workers on "
        "PostgreSQL + Redis, with `run_reaper` beside them and compressed timers; the "
        "simulator runs on the same machine and shares its CPUs."
    )
    path = harness.record("Simulator", intro, command, summary, table)
    print(f"appended to {path} ({shlex.quote(str(path))})")


if __name__ == "__main__":
    sys.exit(main())
