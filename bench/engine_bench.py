"""Engine throughput: player-ticks per second on one core, snapshots as JSON included.

Many sessions of 10 players (humans walking about plus bots following their trees) tick at
1 Hz of game time; every tick each session builds every viewer's snapshot (each player and
the GM) and serialises it to JSON, as the live layer would before broadcasting. Run:

    .venv/bin/python bench/engine_bench.py [--sessions N] [--ticks T] [--game ID]

Both the wall-clock rate and the rate per second of this process's CPU time are printed: on a
shared, loaded machine the wall clock counts the time spent waiting for a core, the CPU time
much less so, so compare two versions of the engine by running them alternately and reading
the ratio of the same figure.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from games.engine import (
    GM,
    Input,
    World,
    builtin_rulesets,
    new_world,
    snapshots_json,
    step,
)
from games.engine.geometry import Frame

ORIGIN = (52.3702, 4.8952)
HUMANS = 7
BOTS = 3


def setup(game: str, seed: int) -> tuple[World, list[str]]:
    rs = builtin_rulesets()[game]
    frame = Frame(*ORIGIN)
    w = new_world(rs, seed=seed)
    lat, lng = frame.to_latlng(0, 0)
    w, _ = step(w, 0.0, [Input("gm.place", GM, {"origin": {"lat": lat, "lng": lng}})])
    w, evs = step(w, 0.0, [Input("join", None, {"name": f"P{i}"}) for i in range(HUMANS)])
    ids = [e.data["playerId"] for e in evs if e.type == "joined"]
    bot_class = next(iter(rs.bots))
    w, _ = step(w, 0.0, [Input("gm.bots", GM, {"classId": bot_class, "count": BOTS})])
    rng = random.Random(seed)
    moves = []
    for pid in ids:
        lat, lng = frame.to_latlng(rng.uniform(-30, 30), rng.uniform(-30, 30))
        moves.append(Input("location", pid, {"lat": lat, "lng": lng}))
    w, evs = step(w, 0.0, [*moves, Input("gm.start", GM, {})])
    assert w.status == "started", [e.data for e in evs if e.type in ("preflight", "error")]
    return w, ids


def walk(t: float, k: int, frame: Frame) -> dict[str, float]:
    """A player strolling around a circle, so zones and proximity keep changing."""
    ang = t / 20.0 + k
    lat, lng = frame.to_latlng(25 * math.cos(ang), 25 * math.sin(ang))
    return {"lat": lat, "lng": lng}


def run(game: str, sessions: int, ticks: int) -> tuple[float, float, int, int]:
    frame = Frame(*ORIGIN)
    worlds = [setup(game, seed) for seed in range(sessions)]
    player_ticks = 0
    json_bytes = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for tick in range(1, ticks + 1):
        now = float(tick)
        for w, ids in worlds:
            if w.status != "started":
                continue
            inputs = [Input("location", pid, walk(now, k, frame)) for k, pid in enumerate(ids)]
            step(w, now, inputs)
            for text in snapshots_json(w).values():
                json_bytes += len(text)
            player_ticks += len(w.active())
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    return player_ticks / elapsed, player_ticks / cpu, player_ticks, json_bytes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--ticks", type=int, default=60)
    ap.add_argument("--game", default="all", help="a ruleset id, or all for the whole catalog")
    args = ap.parse_args()
    games = sorted(builtin_rulesets()) if args.game == "all" else [args.game]
    print(harness.machine_info(("pydantic",)))
    print(f"command: {harness.command_line()}\n")
    print(
        f"engine bench: {args.sessions} sessions x {args.ticks} ticks, {HUMANS} humans + "
        f"{BOTS} bots each, JSON snapshots for every viewer; pid {os.getpid()}"
    )
    total_pt = 0
    total_time = total_cpu = 0.0
    for g in games:
        rate, cpu_rate, pt, nbytes = run(g, args.sessions, args.ticks)
        total_pt += pt
        total_time += pt / rate
        total_cpu += pt / cpu_rate
        print(
            f"  {g:<18} {rate:>10,.0f} player-ticks/s   ({cpu_rate:,.0f} per CPU second; "
            f"{pt:,} player-ticks, {nbytes / pt:,.0f} JSON bytes per player-tick)"
        )
    print(f"overall            {total_pt / total_time:>10,.0f} player-ticks/s on one core")
    print(f"overall (CPU time) {total_pt / total_cpu:>10,.0f} player-ticks per CPU second")


if __name__ == "__main__":
    main()
