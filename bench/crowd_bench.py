"""One big game: the cost of every viewer's `world` per tick, as the live layer builds them.

One session of N players (default 1 000) spread evenly over a square city (default 5 km a side)
walking about; every tick it steps the engine once and builds every player's and the GM's
snapshot as JSON, three ways side by side in one run, interleaved tick by tick:

- `per-viewer`: each viewer's snapshot built and then encoded whole (json.dumps of the dict,
  every other player's entry encoded again for every viewer), with every player listed — how
  frames were built before player entries were shared;
- `shared`: `snapshot_json` with no view radius: every player listed, each entry encoded once
  per tick and reused by every frame;
- `radius`: `snapshot_json` with the view radius (default 1 000 m, GAMES_VIEW_RADIUS).

Reports, per way, the time to build one tick's frames (median and p99 over the ticks), the
mean frame size, and the ratio to `per-viewer`. Pure engine, one core, no servers:

    .venv/bin/python bench/crowd_bench.py [--players 1000] [--side 5000] [--radius 1000]
                                          [--ticks 20]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.fanout_bench import RULESET
from games.engine import GM, Input, World, new_world, snapshot, snapshot_json, step
from games.engine.geometry import Frame
from games.engine.ruleset import load_ruleset_text

ORIGIN = (52.3702, 4.8952)


def crowd(players: int, side: float, seed: int = 1) -> tuple[World, list[str], list[tuple]]:
    rs = load_ruleset_text(RULESET)
    w = new_world(rs, seed=seed)
    w, evs = step(w, 0.0, [Input("join", None, {"name": f"P{i}"}) for i in range(players)])
    ids = [e.data["playerId"] for e in evs if e.type == "joined"]
    rng = random.Random(seed)
    homes = [(rng.uniform(0, side), rng.uniform(0, side), rng.uniform(0, 6.3)) for _ in ids]
    w, _ = step(w, 0.0, [*moves(ids, homes, 0.0), Input("gm.start", GM, {})])
    assert w.status == "started", w.status
    return w, ids, homes


def moves(ids: list[str], homes: list[tuple], t: float) -> list[Input]:
    frame = Frame(*ORIGIN)
    out = []
    for pid, (x, y, phase) in zip(ids, homes, strict=True):
        lat, lng = frame.to_latlng(x + 40 * math.cos(t / 30 + phase), y + 40 * math.sin(t / 30))
        out.append(Input("location", pid, {"lat": lat, "lng": lng, "ts": int(t) + 1}))
    return out


def per_viewer(w: World, ids: list[str], radius: float) -> list[str]:
    frames = [json.dumps(snapshot(w, pid), separators=(",", ":")) for pid in ids]
    return [*frames, json.dumps(snapshot(w, GM), separators=(",", ":"))]


def shared(w: World, ids: list[str], radius: float) -> list[str]:
    return [*(snapshot_json(w, pid) for pid in ids), snapshot_json(w, GM)]


def bounded(w: World, ids: list[str], radius: float) -> list[str]:
    return [*(snapshot_json(w, pid, radius) for pid in ids), snapshot_json(w, GM, radius)]


WAYS = {"per-viewer": per_viewer, "shared": shared, "radius": bounded}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--players", type=int, default=1000)
    ap.add_argument("--side", type=float, default=5000.0, help="metres; the city is a square")
    ap.add_argument("--radius", type=float, default=1000.0, help="view radius, metres")
    ap.add_argument("--ticks", type=int, default=20)
    args = ap.parse_args()
    print(harness.machine_info(("pydantic",)))
    print(f"command: {harness.command_line()}\n")
    w, ids, homes = crowd(args.players, args.side)
    seconds: dict[str, list[float]] = {k: [] for k in WAYS}
    sizes: dict[str, list[int]] = {k: [] for k in WAYS}
    step_seconds = []
    for tick in range(1, args.ticks + 1):
        t0 = time.perf_counter()
        step(w, float(tick), moves(ids, homes, float(tick)))
        step_seconds.append(time.perf_counter() - t0)
        order = list(WAYS) if tick % 2 else list(reversed(WAYS))
        for name in order:
            saved = dict(w.cache)  # each way starts from the tick's cold caches
            t0 = time.perf_counter()
            frames = WAYS[name](w, ids, args.radius)
            seconds[name].append(time.perf_counter() - t0)
            sizes[name].append(sum(map(len, frames)) // len(frames))
            w.cache.clear()
            w.cache.update({k: v for k, v in saved.items() if k == "map" or k == "map_json"})
    print(
        f"one session of {args.players} players over {args.side / 1000:g} km x "
        f"{args.side / 1000:g} km, view radius {args.radius:g} m, {args.ticks} ticks; "
        f"engine step alone: median {statistics.median(step_seconds) * 1000:.1f} ms per tick\n"
    )
    base = statistics.median(seconds["per-viewer"])
    print(
        "| way | frames per tick | build per tick: median / p99 (ms) | mean frame (bytes) "
        "| time ÷ per-viewer |"
    )
    print("|---|---|---|---|---|")
    for name in WAYS:
        med = statistics.median(seconds[name])
        p99 = harness.pct(seconds[name], 0.99)
        size = statistics.mean(sizes[name])
        print(
            f"| {name} | {len(ids) + 1} | {med * 1000:,.1f} / {p99 * 1000:,.1f} | "
            f"{size:,.0f} | {med / base:.3f} |"
        )


if __name__ == "__main__":
    main()
