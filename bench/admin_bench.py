"""The operator admin at scale: list pages and the cafe page with 200 000 sessions, 300 cafes.

    .venv/bin/python bench/admin_bench.py [--sessions 200000] [--cafes 300] [--repeat 7]

Creates a fresh PostgreSQL database (`--database`, dropped at the end unless `--keep`), migrates
it, and seeds in SQL (generate_series): `--cafes` cafes of `--pcs` PCs (hostnames `seat-NN`,
repeated across cafes as in real cafes), a launcher session per PC, `--sessions` game sessions
over the last 30 days (the newest `--live` of them ACTIVE, one per PC at most), one charge per
session and a top-up per cafe in the ledger, and an audit row per top-up. Then it signs in a
superuser and times each page through Django's test client in this process (the same code path
as a request to a server, without the network or the test environment's template
instrumentation): `--repeat` requests per page after one warm-up,
the median and the worst, and the number of queries each page ran. Exits 1 if a page's median is
over `--limit` ms (300 by default, the target of the issue).

Not part of the test suite. Record results in docs/performance.md ("Admin at scale").
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import drop_database, machine_info, recreate_database  # noqa: E402
from bench.heartbeat_bench import busy_fraction, wait_quiet  # noqa: E402

SEED_SQL = """
INSERT INTO playsessions_game (slug, name, coins_per_minute, is_active, featured, created_at)
SELECT 'game-' || g, 'Game ' || g, 5 + g, true, g = 1, now() FROM generate_series(1, 5) g;

INSERT INTO playsessions_cafe (name, status, balance, launcher_key_id, launcher_secret, created_at)
SELECT 'PC Bang ' || lpad(c::text, 3, '0') || ' ' || (ARRAY['Seoul','Busan','Incheon','Daegu',
       'Gwangju'])[1 + c %% 5], 'active', 1000000000, 'cafe_bench' || c, 'secret' || c, now()
FROM generate_series(1, %(cafes)s) c;

INSERT INTO playsessions_cafenetwork (cafe_id, cidr)
SELECT id, '10.' || (id %% 250) || '.0.0/16' FROM playsessions_cafe;

INSERT INTO playsessions_pc (cafe_id, hardware_id, hostname, internal_ip, created_at)
SELECT c.id, 'HW-' || c.id || '-' || p, 'seat-' || lpad(p::text, 2, '0'),
       ('10.' || (c.id %% 250) || '.0.' || p)::inet, now()
FROM playsessions_cafe c, generate_series(1, %(pcs)s) p;

INSERT INTO playsessions_launchersession (id, cafe_id, pc_id, token_digest, launcher_version,
       status, started_at, last_heartbeat_at)
SELECT gen_random_uuid(), cafe_id, id, md5('t' || id) || md5('u' || id), '2.1.' || (id %% 4),
       CASE WHEN id %% 7 = 0 THEN 'timed_out' ELSE 'active' END, now() - interval '2 hours',
       now() - ((id %% 50) || ' seconds')::interval
FROM playsessions_pc;

CREATE TEMP TABLE pcs AS
SELECT (row_number() OVER (ORDER BY id)) - 1 AS k, id FROM playsessions_pc;

CREATE TEMP TABLE plan AS
SELECT s.n, gen_random_uuid() AS sid, gen_random_uuid() AS oid, pcs.id AS pc_id,
       1 + s.n %% 5 AS game_id,
       now() - ((s.n * (30 * 86400.0 / %(sessions)s)) || ' seconds')::interval AS started_at,
       s.n <= %(live)s AS live
FROM generate_series(1, %(sessions)s) s(n)
JOIN pcs ON pcs.k = s.n %% (SELECT count(*) FROM pcs);

INSERT INTO playsessions_onetimetoken (id, game_id, launcher_session_id, issued_at, expires_at,
       consumed_at, provider_user_id)
SELECT p.oid, p.game_id, l.id, p.started_at, p.started_at + interval '60 seconds', p.started_at,
       (100000000 + p.n %% 50000)::text
FROM plan p JOIN playsessions_launchersession l ON l.pc_id = p.pc_id;

INSERT INTO playsessions_gamesession (id, game_id, cafe_id, pc_id, launcher_session_id, ott_id,
       provider_user_id, state, started_at, last_heartbeat_at, heartbeat_count, due_at, rate,
       coins_charged, end_reason, ended_at, play_until, play_duration_sec, updated_at)
SELECT p.sid, p.game_id, pc.cafe_id, p.pc_id, l.id, p.oid, (100000000 + p.n %% 50000)::text,
       CASE WHEN p.live THEN 'ACTIVE' ELSE 'ENDED' END, p.started_at,
       p.started_at + interval '20 minutes', 10,
       p.started_at + interval '24 minutes', 5 + p.game_id, 21 * (5 + p.game_id),
       CASE WHEN p.live THEN '' ELSE (ARRAY['normal','heartbeat_timeout','session_replace',
            'launcher_closed','operator'])[1 + p.n %% 5] END,
       CASE WHEN p.live THEN NULL ELSE p.started_at + interval '21 minutes' END,
       CASE WHEN p.live THEN NULL ELSE p.started_at + interval '21 minutes' END,
       CASE WHEN p.live THEN NULL ELSE 1260 END,
       p.started_at + interval '21 minutes'
FROM plan p JOIN playsessions_pc pc ON pc.id = p.pc_id
JOIN playsessions_launchersession l ON l.pc_id = p.pc_id;

INSERT INTO playsessions_balanceentry (cafe_id, kind, amount, balance_after, note, created_at)
SELECT id, 'topup', 1000000000, 1000000000, 'opening balance', now() - interval '31 days'
FROM playsessions_cafe;

INSERT INTO playsessions_balanceentry (cafe_id, kind, amount, balance_after, session_id,
       note, created_at)
SELECT cafe_id, 'charge', coins_charged, 1000000000 - coins_charged, id, '',
       started_at + interval '21 minutes'
FROM playsessions_gamesession;

INSERT INTO audit_auditentry (at, actor_name, action, target_type, target_id, target_repr,
       before, after, note)
SELECT now() - interval '31 days', 'operator', 'topup', 'cafe', id::text, name,
       '{"balance": 0}', '{"balance": 1000000000}', 'opening balance'
FROM playsessions_cafe;
"""


def seed(args: argparse.Namespace) -> float:
    from django.db import connection

    t0 = time.perf_counter()
    live = min(args.live, args.cafes * args.pcs)
    with connection.cursor() as cur:
        for statement in SEED_SQL.split(";\n"):
            if statement.strip():
                cur.execute(
                    statement,
                    {"cafes": args.cafes, "pcs": args.pcs, "sessions": args.sessions, "live": live},
                )
        # As autovacuum would have by then: index-only scans need the visibility map.
        cur.execute("VACUUM ANALYZE")
    return time.perf_counter() - t0


def pages() -> list[tuple[str, str]]:
    from sessions.models import Cafe, GameSession

    cafe = Cafe.objects.order_by("pk")[Cafe.objects.count() // 2]
    some = GameSession.objects.order_by("-started_at").values_list("id", flat=True)[1000]
    user = GameSession.objects.values_list("provider_user_id", flat=True).first()
    return [
        ("sessions list", "/admin/playsessions/gamesession/"),
        ("sessions: live only", "/admin/playsessions/gamesession/?state__exact=ACTIVE"),
        ("sessions: search gs_ prefix", f"/admin/playsessions/gamesession/?q=gs_{str(some)[:8]}"),
        ("sessions: search gs_ id", f"/admin/playsessions/gamesession/?q=gs_{some}"),
        ("sessions: search user id", f"/admin/playsessions/gamesession/?q={user}"),
        ("sessions: search hostname", "/admin/playsessions/gamesession/?q=seat-04"),
        ("sessions: search cafe name", "/admin/playsessions/gamesession/?q=Busan"),
        ("sessions: one cafe", f"/admin/playsessions/gamesession/?cafe__id__exact={cafe.pk}"),
        ("sessions: page 100", "/admin/playsessions/gamesession/?p=100"),
        ("ledger list", "/admin/playsessions/balanceentry/"),
        ("ledger: search gs_ id", f"/admin/playsessions/balanceentry/?q=gs_{some}"),
        ("ledger: one cafe", f"/admin/playsessions/balanceentry/?cafe__id__exact={cafe.pk}"),
        ("cafe list", "/admin/playsessions/cafe/"),
        ("PC list", "/admin/playsessions/pc/"),
        ("launcher sessions list", "/admin/playsessions/launchersession/"),
        ("audit log", "/admin/audit/auditentry/"),
        ("cafe page", f"/admin/playsessions/cafe/{cafe.pk}/overview/"),
        (
            "cafe page + month settlement",
            f"/admin/playsessions/cafe/{cafe.pk}/overview/?start=2026-01-01&end=2026-12-31",
        ),
        (
            "settlement, all cafes, a year",
            "/admin/playsessions/cafe/settlement/?start=2026-01-01&end=2026-12-31",
        ),
    ]


def time_pages(repeat: int) -> list[tuple[str, float, float, int, int]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user = get_user_model().objects.create_superuser("bench", "b@example.com", "bench-only")
    client = Client()
    client.force_login(user)
    results = []
    for name, url in pages():
        response = client.get(url)  # warm-up: templates, caches, the planner
        if response.status_code != 200:
            raise SystemExit(f"{name}: {url} answered {response.status_code}")
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        results.append(
            (name, statistics.median(times), max(times), len(queries), len(response.content))
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=200_000)
    parser.add_argument("--cafes", type=int, default=300)
    parser.add_argument("--pcs", type=int, default=20, help="PCs per cafe")
    parser.add_argument("--live", type=int, default=3000, help="ACTIVE sessions (newest)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--limit", type=float, default=300.0, help="ms, median per page")
    parser.add_argument("--database", default="playwave_admin_bench")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--patience", type=float, default=120.0, help="s to wait for the machine to go quiet"
    )
    args = parser.parse_args()

    url = recreate_database(args.database)
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="bench.bench_settings",
        DJANGO_DEBUG="0",
        PLAYWAVE_LOG_LEVEL="WARNING",
    )
    os.environ.pop("REDIS_URL", None)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        # No setup_test_environment(): its template instrumentation would be timed too.
        call_command("migrate", verbosity=0)
        seconds = seed(args)
        print(machine_info())
        print(
            f"seeded {args.sessions} sessions, {args.cafes} cafes x {args.pcs} PCs, "
            f"{args.live} live, in {seconds:.1f} s (PostgreSQL)"
        )
        busy = wait_quiet(patience=args.patience)
        print(f"machine busy with other work before timing: {busy:.0%}; load {os.getloadavg()}")
        results = time_pages(args.repeat)
        print(f"machine busy after timing: {busy_fraction():.0%}; load {os.getloadavg()}")
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(args.database)
    print(f"\n{'page':<34}{'median ms':>10}{'worst ms':>10}{'queries':>9}{'KiB':>7}")
    slow = []
    for name, median, worst, queries, size in results:
        flag = "" if median <= args.limit else "   <-- over the limit"
        print(f"{name:<34}{median:>10.1f}{worst:>10.1f}{queries:>9}{size / 1024:>7.0f}{flag}")
        if median > args.limit:
            slow.append(name)
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
