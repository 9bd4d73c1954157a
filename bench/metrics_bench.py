"""What one /metrics scrape costs with many live sessions: the database gauges and the whole page.

    .venv/bin/python bench/metrics_bench.py [--live 10000] [--games 20] [--scrapes 50]

On a fresh PostgreSQL database (dropped at the end) it seeds `--live` ACTIVE sessions (100 PCs
per cafe, as bench/reaper_bench.py does) spread over `--games` games, then times, in this
process, `LiveStateCollector.collect()` (the three scrape-time queries) and a whole `GET /metrics`
through the Django test client (every family, the per-game series of every game). Prints the
median and max of `--scrapes` runs, the page size and the number of series. Not part of the test
suite; results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import drop_database, machine_info, recreate_database  # noqa: E402


def time_calls(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    """Median and max wall time of `n` calls, in ms."""
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--live", type=int, default=10_000, help="live sessions to seed")
    parser.add_argument("--games", type=int, default=20, help="games they are spread over")
    parser.add_argument("--scrapes", type=int, default=50, help="timed runs of each")
    parser.add_argument("--database", default="playwave_metricsbench")
    args = parser.parse_args()

    print(machine_info(), flush=True)
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}", flush=True)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="playwave.settings",
        DATABASE_URL=recreate_database(args.database),
        PLAYWAVE_SESSION_TIMEOUT="86400",
        PLAYWAVE_LAUNCHER_TIMEOUT="86400",
        PLAYWAVE_LOG_LEVEL="WARNING",
    )
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client

    from bench.reaper_bench import seed
    from sessions.metrics import LiveStateCollector
    from sessions.models import Game

    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        per_game = args.live // args.games
        for g in range(args.games):
            game = Game.objects.create(slug=f"bench-{g}", name=f"Bench {g}", coins_per_minute=10)
            seed(game, per_game, prefix=f"g{g}", started_ago=600, beat_ago=lambda i: i % 120)
        print(
            f"seeded {per_game * args.games} live sessions over {args.games} games in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        collector = LiveStateCollector()
        list(collector.collect())  # first run pays imports and plans
        median, worst = time_calls(lambda: list(collector.collect()), args.scrapes)
        print(f"database gauges (3 queries): median {median:.1f} ms, max {worst:.1f} ms")
        client = Client()
        page = client.get("/metrics").content
        median, worst = time_calls(lambda: client.get("/metrics"), args.scrapes)
        series = sum(1 for line in page.splitlines() if line and not line.startswith(b"#"))
        print(
            f"GET /metrics: median {median:.1f} ms, max {worst:.1f} ms; "
            f"{len(page)} bytes, {series} series"
        )
    finally:
        connections.close_all()
        drop_database(args.database)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
