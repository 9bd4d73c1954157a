"""Join-code games: the server's memory per connected player, and whether it stays flat.

    .venv/bin/python bench/memory_bench.py [--players 1000] [--sessions 100] [--minutes 10]
                                           [--layer memory|redis] [--every 10]

One server as production runs it (`manage.py serve --no-reaper`, daphne, one process) on a
fresh SQLite database, with the fan-out bench's ruleset, sign-in, hosting and players
(bench/fanout_bench.py): `--sessions` sessions hosted and spectated by the GM console, then
`--players` players join over their own WebSockets (each sends one position, a random spot in
a 5 km city) and every session is started. The server's RSS is read from /proc:

- before anyone joins (the sessions hosted, their GM consoles connected) and after the last
  player's welcome, a few ticks later: the difference over the number of players is the
  memory per connected player;
- every `--every` seconds while the games tick for `--minutes`: a least-squares slope over the
  run (MiB per minute) and the growth from its first minute to its last say whether it is flat.

Frames received by the players are counted, so a run whose games stopped is seen as such. Not
part of the test suite; results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import fanout_bench as fan
from bench import harness
from bench.harness import ROOT, rss_mib

SETTLE_SECONDS = 5.0


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) samples, in MiB per minute."""
    if len(samples) < 2:
        return 0.0
    return 60 * statistics.linear_regression([t for t, _ in samples], [m for _, m in samples])[0]


async def run(server: harness.Server, codes: list[str], cookie: str, args: argparse.Namespace):
    receipts = fan.Receipts()
    receipts.recording = True
    header = f"sessionid={cookie}"
    gms = [await fan.gm_console(f"{server.ws}/ws/games/{c}/", server.url, header) for c in codes]
    gm_tasks = [asyncio.create_task(fan.drain(ws)) for ws in gms]
    await asyncio.sleep(SETTLE_SECONDS)
    empty = rss_mib(server.proc.pid)

    t0 = time.monotonic()
    tasks = await fan.join_players(server, codes, args.players, receipts)
    joined = time.monotonic() - t0
    for ws in gms:
        await ws.send(json.dumps({"type": "gm.start"}))
    await asyncio.sleep(SETTLE_SECONDS)
    full = rss_mib(server.proc.pid)
    print(
        f"   {args.players} players joined {len(codes)} sessions in {joined:.1f} s; RSS "
        f"{empty:,.1f} MiB before, {full:,.1f} MiB after: "
        f"{(full - empty) * 1024 / args.players:,.1f} KiB per player",
        flush=True,
    )

    samples: list[tuple[float, float]] = []
    frames0, w0 = receipts.frames, time.monotonic()
    end = w0 + args.minutes * 60
    while time.monotonic() < end:
        samples.append((time.monotonic() - w0, rss_mib(server.proc.pid)))
        t, m = samples[-1]
        if len(samples) % 6 == 1:
            print(
                f"   {t:6.0f} s  RSS {m:,.1f} MiB  frames {receipts.frames - frames0:,}", flush=True
            )
        await asyncio.sleep(args.every)
    samples.append((time.monotonic() - w0, rss_mib(server.proc.pid)))
    frames = receipts.frames - frames0
    receipts.closing = True
    for ws in gms:
        await ws.close()
    for task in (*tasks, *gm_tasks):
        task.cancel()
    await asyncio.gather(*tasks, *gm_tasks, return_exceptions=True)
    return empty, full, samples, frames, receipts.errors


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--players", type=int, default=1000)
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--every", type=float, default=10, help="seconds between RSS samples")
    ap.add_argument("--layer", choices=("memory", "redis"), default="memory")
    args = ap.parse_args()
    harness.raise_on_signal()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.players + 256)), hard))
    print(fan.machine_info(), flush=True)
    print(f"uptime: {harness.sh('uptime')}\ncommand: {harness.command_line()}", flush=True)

    redis = args.layer == "redis"
    data_dir = Path(tempfile.mkdtemp(prefix="pw-memory-"))
    env = fan.stack_env(data_dir, redis, f"pwmem{secrets.token_hex(3)}")
    if redis:
        harness.flush_redis(fan.REDIS_URL)
    server = None
    try:
        for script in (["migrate", "--noinput", "-v", "0"], ["shell", "-c", fan.SEED]):
            subprocess.run([fan.PYTHON, "manage.py", *script], cwd=ROOT, env=env, check=True)
        server = fan.start_server(f"{args.layer}-memory", env, data_dir)
        server.wait_ready()
        cookie, csrf = fan.login(server)
        codes = fan.host_sessions(server, cookie, csrf, args.sessions)
        empty, full, samples, frames, errors = asyncio.run(run(server, codes, cookie, args))
        alive = server.proc.poll() is None
    finally:
        if server is not None:
            server.stop()
        if redis:
            harness.flush_redis(fan.REDIS_URL)
        shutil.rmtree(data_dir, ignore_errors=True)

    minute = [m for t, m in samples if t <= 60]
    last = [m for t, m in samples if t >= samples[-1][0] - 60]
    growth = statistics.median(last) - statistics.median(minute)
    seconds = samples[-1][0]
    rows = [
        ["players, sessions", f"{args.players}, {args.sessions}"],
        ["RSS before anyone joined", f"{empty:,.1f} MiB"],
        ["RSS with every player joined", f"{full:,.1f} MiB"],
        ["memory per connected player", f"{(full - empty) * 1024 / args.players:,.1f} KiB"],
        [
            "RSS over the run: min / max",
            f"{min(m for _, m in samples):,.1f} / "
            f"{max(m for _, m in samples):,.1f} MiB ({len(samples)} samples)",
        ],
        ["slope over the run", f"{slope_per_minute(samples):+.2f} MiB/min"],
        ["first minute → last minute (medians)", f"{growth:+.1f} MiB over {seconds / 60:.1f} min"],
        [
            "frames received (players)",
            f"{frames:,} ({frames / args.players / seconds:.2f} per player-second)",
        ],
        ["socket errors", str(len(errors))],
    ]
    print("\n" + harness.fmt_table(rows, ["figure", "measured"]))
    print(f"uptime: {harness.sh('uptime')}")
    failures = [f"{len(errors)} socket errors, e.g. {errors[0][:200]}"] if errors else []
    if not alive:
        failures.append("the server died during the run")
    return harness.finish(failures)


if __name__ == "__main__":
    raise SystemExit(main())
