"""Soak: the simulator for a long run on PostgreSQL + Redis with gunicorn, daphne and two reapers.

    .venv/bin/python bench/soak_bench.py [--minutes 30] [--wsgi-pcs 60] [--asgi-pcs 20]
                                         [--sample 60] [--workers N] [--record]

Creates the database `playwave_soak` (dropped at the end) and uses Redis db 9, migrates, starts
`gunicorn playwave.wsgi` (2 x nproc sync workers), `daphne playwave.asgi` and two `run_reaper`,
then runs two `manage.py simulate` side by side for `--minutes`: one against gunicorn with
`--wsgi-pcs` PCs, one against daphne with `--asgi-pcs` (20 PCs a cafe, one cafe of each short
of G-coin), with the compressed timers below so sessions come and go for every end reason.

Reports, with the command, for docs/reliability.md and docs/performance.md (`--record`):

- errors: the simulators' own count (transport errors, 5xx, unexpected answers; target 0) and
  ERROR lines or tracebacks in the servers' and reapers' logs;
- memory: RSS of gunicorn (master + workers), daphne and each reaper every `--sample` seconds,
  and `/healthz`'s answer time at each sample; flat means the last sample is within 10 % (or
  10 MiB) of the one after warm-up;
- drift between the simulators' records and the server's: per end reason, accepted heartbeats,
  sessions unknown to one side or not ended (target 0); no session left un-ENDED and the ledger
  invariant for every cafe, read from the database at the end.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.harness import BIN, ROOT, Server

DATABASE = "playwave_soak"
REDIS_URL = "redis://127.0.0.1:6379/9"
PCS_PER_CAFE = 20
# The simulator benches' timers with 16 s of slack instead of 8 before a session or launcher
# times out: on a shared 2-core host under load (averages of 9-13) the first 30-minute run saw
# launcher heartbeats late by more than 8 s, and the server rightly timed those launchers out.
TIMERS = {
    **harness.SIM_TIMERS,
    "PLAYWAVE_SESSION_TIMEOUT": "20",
    "PLAYWAVE_LAUNCHER_TIMEOUT": "20",
}
WARM_UP_SAMPLES = 3  # RSS samples before the baseline: imports, pools and caches fill up first


def environment() -> dict[str, str]:
    return {**harness.simulator_env(DATABASE, REDIS_URL), **TIMERS}


def simulate(url: str, pcs: int, seconds: float, seed: int, log: Path, env: dict[str, str]):  # type: ignore[no-untyped-def]
    cafes = max(1, pcs // PCS_PER_CAFE)
    argv = [
        str(BIN / "python"),
        *("manage.py", "simulate", "--url", url, "--cafes", str(cafes)),
        *("--pcs", str(PCS_PER_CAFE), "--poor-cafes", "1", "--duration", f"{seconds:g}"),
        *("--seed", str(seed), "--connections", "100", "--no-progress"),
    ]
    out = log.open("w")
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT), out


def healthz_ms(url: str) -> str:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as r:  # noqa: S310
            status = r.status
    except OSError as exc:
        return f"fail ({type(exc).__name__})"
    took = (time.monotonic() - started) * 1000
    return f"{took:.0f}" + ("" if status == 200 else f" ({status})")


def drift(table: str) -> tuple[int, list[str]]:
    """Differences between the simulator's column and the server's, and the lines that say so."""
    total = 0
    lines = []
    section = ""
    for line in table.splitlines():
        if not line.startswith("  "):
            section = line
        if section.startswith("sessions by end reason") and line.startswith("  "):
            parts = line.split()
            if len(parts) >= 3 and parts[-1].isdigit() and parts[-2].isdigit():
                total += abs(int(parts[-1]) - int(parts[-2])) if parts[0] != "total" else 0
        m = re.search(r"accepted \(OK\+EXHAUSTED\)\s+(\d+)\s+(\d+)", line)
        if m:
            total += abs(int(m.group(1)) - int(m.group(2)))
        if line.startswith(("MISMATCH", "NOT ENDED", "UNKNOWN", "LEDGER", "CHECK FAILED")):
            lines.append(line)
            if not line.startswith("CHECK FAILED"):
                total += 1
    return total, lines


def database_checks() -> tuple[int, list[int]]:
    """Sessions not ENDED, and cafes whose top-ups - charges != balance."""
    import psycopg

    with psycopg.connect(f"{harness.PG_SERVER}/{DATABASE}", autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM playsessions_gamesession WHERE state <> 'ENDED'"
        ).fetchone()
        open_sessions = int(row[0]) if row else -1
        broken = [
            int(r[0])
            for r in conn.execute(
                "SELECT c.id FROM playsessions_cafe c LEFT JOIN ("
                " SELECT cafe_id,"
                "  sum(CASE WHEN kind = 'topup' THEN amount ELSE 0 END)"
                "  - sum(CASE WHEN kind = 'charge' THEN amount ELSE 0 END) AS net"
                " FROM playsessions_balanceentry GROUP BY cafe_id) l ON l.cafe_id = c.id"
                " WHERE coalesce(l.net, 0) <> c.balance"
            ).fetchall()
        ]
    return open_sessions, broken


def log_errors(logdir: Path) -> dict[str, int]:
    found = {}
    for log in sorted(logdir.glob("*.log")):
        if log.name.startswith("simulate"):
            continue
        text = log.read_text(errors="replace")
        n = len(re.findall(r"^.*(?: ERROR |Traceback \(most recent call last\)).*$", text, re.M))
        found[log.stem] = n
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--wsgi-pcs", type=int, default=60, help="PCs on gunicorn (20 a cafe)")
    parser.add_argument("--asgi-pcs", type=int, default=20, help="PCs on daphne (20 a cafe)")
    parser.add_argument("--sample", type=float, default=60, help="seconds between RSS samples")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--record", action="store_true", help="append to docs/performance.md")
    args = parser.parse_args()
    harness.raise_on_signal()
    print(harness.machine_info(("django", "psycopg", "redis", "gunicorn", "daphne")), flush=True)
    seconds = args.minutes * 60

    env = environment()
    harness.recreate_database(DATABASE)
    harness.flush_redis(REDIS_URL)
    subprocess.run(
        [str(BIN / "python"), "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
    )
    logdir = Path(tempfile.mkdtemp(prefix="playwave-soak-"))
    servers: list[Server] = []
    sims: list[tuple[str, subprocess.Popen[bytes], object, Path]] = []
    samples: list[list[str]] = []
    rss: dict[str, list[float]] = {}
    failures: list[str] = []
    try:
        gunicorn = Server("gunicorn", lambda p: harness.gunicorn(p, args.workers), env, logdir)
        daphne = Server("daphne", harness.daphne, env, logdir)
        reapers = [Server(f"reaper{i}", harness.manage("run_reaper"), env, logdir) for i in (1, 2)]
        servers = [gunicorn, daphne, *reapers]
        gunicorn.wait_ready()
        daphne.wait_ready()
        started = time.monotonic()
        for name, server, pcs, seed in (
            ("wsgi", gunicorn, args.wsgi_pcs, 1),
            ("asgi", daphne, args.asgi_pcs, 2),
        ):
            if pcs:
                log = logdir / f"simulate-{name}.log"
                proc, out = simulate(server.url, pcs, seconds, seed, log, env)
                sims.append((name, proc, out, log))
                time.sleep(3)  # the second provisions its games after the first did
        next_sample = time.monotonic()
        while any(proc.poll() is None for _, proc, _, _ in sims):
            if time.monotonic() >= next_sample:
                next_sample += args.sample
                at = (time.monotonic() - started) / 60
                row = [f"{at:.1f}"]
                for server in servers:
                    mib = harness.rss_mib(server.proc.pid, children=server is gunicorn)
                    rss.setdefault(server.name, []).append(mib)
                    row.append(f"{mib:.0f}")
                row += [healthz_ms(gunicorn.url), healthz_ms(daphne.url)]
                samples.append(row)
                print("  sample " + "  ".join(row), flush=True)
            time.sleep(1)  # polling the simulators until they end
        wall = time.monotonic() - started
        open_sessions, broken_cafes = database_checks()
        errors_in_logs = log_errors(logdir)
    finally:
        for server in reversed(servers):
            server.stop()
        for _, proc, out, _ in sims:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)
            out.close()  # type: ignore[attr-defined]

    summary_lines = [
        f"- load: {args.wsgi_pcs} PCs on gunicorn ({args.workers} sync workers) and "
        f"{args.asgi_pcs} on daphne, {PCS_PER_CAFE} a cafe, one cafe of each short of G-coin; "
        f"timers " + " ".join(f"{k.removeprefix('PLAYWAVE_')}={v}" for k, v in TIMERS.items()),
        f"- traffic {args.minutes:g} min; whole run with wind-down {wall / 60:.1f} min",
    ]
    tables = []
    total_errors = 0
    total_drift = 0
    for name, proc, _, log in sims:
        table = log.read_text(errors="replace")
        errors = re.search(r"^errors\s+(\d+)", table, re.MULTILINE)
        rate = re.search(r"([\d.]+) heartbeats/s", table)
        n_errors = int(errors.group(1)) if errors else -1
        n_drift, drift_lines = drift(table)
        total_errors += max(n_errors, 0) if errors else 1
        total_drift += n_drift
        matched = "CHECK: the table matches" in table
        summary_lines.append(
            f"- {name}: errors {n_errors if errors else '?'}, drift {n_drift}, table matched the "
            f"database: {'yes' if matched else 'NO'}, "
            f"{rate.group(1) if rate else '?'} heartbeats/s (game + launcher), "
            f"exit {proc.returncode}"
        )
        if proc.returncode != 0 or not matched or n_errors != 0:
            failures.append(f"simulator {name}: exit {proc.returncode}; see its table")
        failures += [f"{name}: {line}" for line in drift_lines]
        tables.append(f"--- simulate against {name} ---\n" + table.strip())
    summary_lines.append(f"- ERROR lines in server and reaper logs: {errors_in_logs}")
    summary_lines.append(
        f"- at the end: {open_sessions} sessions not ENDED, ledger broken for "
        f"{len(broken_cafes)} cafes"
    )
    if open_sessions != 0:
        failures.append(f"{open_sessions} sessions not ENDED at the end")
    if broken_cafes:
        failures.append(f"ledger invariant broken for cafes {broken_cafes}")
    if any(errors_in_logs.values()):
        failures.append(f"errors logged: {errors_in_logs}")
    for name, values in rss.items():
        if len(values) > WARM_UP_SAMPLES:
            base, last = values[WARM_UP_SAMPLES - 1], values[-1]
            peak = max(values[WARM_UP_SAMPLES - 1 :])
            flat = last - base <= max(10.0, 0.1 * base)
            summary_lines.append(
                f"- RSS {name}: {values[0]:.0f} MiB at start, {base:.0f} after warm-up, "
                f"{last:.0f} at the end (peak {peak:.0f}): {'flat' if flat else 'GROWING'}"
            )
            if not flat:
                failures.append(f"RSS of {name} grew from {base:.0f} to {last:.0f} MiB")
    summary_lines.append(f"- totals: errors {total_errors}, drift {total_drift}")
    summary = "\n".join(summary_lines)
    header = [
        "minute",
        *(f"{s.name} MiB" for s in servers),
        "healthz gunicorn ms",
        "healthz daphne ms",
    ]
    table = harness.fmt_table(samples, header) + "\n\n" + "\n\n".join(tables)
    print("\n" + table + "\n\n" + summary, flush=True)
    if args.record:
        command = (
            "# the script sets these timers for the servers, the reapers and the simulators:\n# "
            + " ".join(f"{k}={v}" for k, v in TIMERS.items())
            + f"\n.venv/bin/python bench/soak_bench.py --minutes {args.minutes:g} "
            f"--wsgi-pcs {args.wsgi_pcs} --asgi-pcs {args.asgi_pcs} --sample {args.sample:g} "
            f"--workers {args.workers}"
        )
        intro = (
            "The traffic simulator for a long run against gunicorn (sync workers) and daphne "
            "side by side on PostgreSQL + Redis, with two `run_reaper`: errors, server memory "
            "over time and drift between the simulators' and the server's records "
            "(docs/reliability.md)."
        )
        harness.record("Soak", intro, command, summary, table)
    harness.drop_database(DATABASE)
    harness.flush_redis(REDIS_URL)
    shutil.rmtree(logdir, ignore_errors=True)
    return harness.finish(failures)


if __name__ == "__main__":
    sys.exit(main())
