"""Launcher nonces in PostgreSQL against the former Redis-only store: the cost per signed request.

    .venv/bin/python bench/nonce_bench.py [--calls 5000] [--backlog 100000] [--record]

Creates the database `playwave_noncebench` (dropped at the end) and uses Redis db 10. In this
process, one connection each (no server, no HTTP), with a cafe and its launcher secret:

1. The store alone, `--calls` fresh nonces each: `sessions.nonces.remember` (one upsert in
   PostgreSQL, autocommit) against `cache.add` on Redis (what the launcher API did before).
2. The whole `verify_signature` of a signed request built with Django's RequestFactory (cafe
   look-up, HMAC, nonce), once with each store.
3. The rate limits every /v1 call passes (two counted hits and a peek, in Redis), for scale.
4. The same upsert with `--backlog` live nonces already in the table (a big deployment's window),
   and the reaper's prune of that many expired rows in one DELETE.

Not part of the test suite; figures go to docs/performance.md with --record.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

DATABASE = "playwave_noncebench"
REDIS_URL = "redis://127.0.0.1:6379/10"


def timed(calls: int, work: Callable[[int], object]) -> list[float]:
    """Seconds per call of work(i), for i in range(calls), after a short warm-up."""
    for i in range(min(50, calls)):
        work(-1 - i)
    out = []
    for i in range(calls):
        t0 = time.perf_counter()
        work(i)
        out.append(time.perf_counter() - t0)
    return out


def row(name: str, samples: list[float]) -> list[str]:
    us = [s * 1e6 for s in samples]
    return [
        name,
        f"{statistics.fmean(us):.0f}",
        f"{harness.pct(us, 0.5):.0f}",
        f"{harness.pct(us, 0.99):.0f}",
        str(len(us)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--record", action="store_true", help="append to docs/performance.md")
    args = parser.parse_args()
    print(harness.machine_info(("django", "psycopg", "redis")), flush=True)

    url = harness.recreate_database(DATABASE)
    harness.flush_redis(REDIS_URL)
    harness.setup_django(
        {
            "DJANGO_SETTINGS_MODULE": "playwave.settings",
            "DATABASE_URL": url,
            "REDIS_URL": REDIS_URL,
            "PLAYWAVE_LOG_LEVEL": "WARNING",
        }
    )
    from datetime import timedelta

    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connections
    from django.test import RequestFactory
    from django.utils import timezone

    from playwave_client.signing import sign
    from sessions import billing, nonces
    from sessions.api import launcher_auth
    from sessions.models import LauncherNonce

    failures: list[str] = []
    rows: list[list[str]] = []
    lines: list[str] = []
    try:
        call_command("migrate", verbosity=0)
        cafe = billing.create_cafe("Bench cafe", ["10.0.0.0/8"], balance=0, now=timezone.now())
        ttl = 600
        run = secrets.token_hex(4)

        def db_store(tag: str) -> Callable[[int], object]:
            def work(i: int) -> object:
                ok = nonces.remember(cafe, f"{run}-{tag}-{i:012d}", now=timezone.now(), ttl=ttl)
                if not ok:
                    failures.append(f"fresh nonce {tag} {i} refused by the database store")
                return ok

            return work

        def cache_store(i: int) -> object:
            key = f"pw:nonce:{cafe.launcher_key_id}:{run}-cache-{i:012d}"
            return cache.add(key, 1, timeout=ttl)

        rows.append(row("store: PostgreSQL upsert (now)", timed(args.calls, db_store("db"))))
        rows.append(row("store: Redis cache.add (before)", timed(args.calls, cache_store)))

        factory = RequestFactory()
        body = b"{}"

        def request(nonce: str) -> object:
            stamp = str(int(time.time()))
            path = "/v1/launcher/session/heartbeat"
            return factory.generic(
                "PATCH",
                path,
                body,
                content_type="application/json",
                headers={
                    "X-PW-Key": cafe.launcher_key_id,
                    "X-PW-Timestamp": stamp,
                    "X-PW-Nonce": nonce,
                    "X-PW-Signature": sign(cafe.launcher_secret, "PATCH", path, stamp, nonce, body),
                },
            )

        def verify_db(i: int) -> object:
            return launcher_auth.verify_signature(request(f"{run}-vdb-{i:012d}"))  # type: ignore[arg-type]

        class CacheNonces:
            @staticmethod
            def remember(cafe: object, nonce: str, *, now: object, ttl: float) -> bool:
                key = f"pw:nonce:{getattr(cafe, 'launcher_key_id', '')}:{nonce}"
                return bool(cache.add(key, 1, timeout=ttl))

        def verify_cache(i: int) -> object:
            return launcher_auth.verify_signature(request(f"{run}-vc-{i:012d}"))  # type: ignore[arg-type]

        rows.append(row("verify_signature, PostgreSQL nonces", timed(args.calls, verify_db)))
        real = launcher_auth.nonces
        launcher_auth.nonces = CacheNonces  # type: ignore[assignment]
        try:
            rows.append(row("verify_signature, Redis nonces", timed(args.calls, verify_cache)))
        finally:
            launcher_auth.nonces = real

        import ratelimits

        def limits(i: int) -> object:
            # What the /v1 decorators add to a launcher call: per IP, the auth gate, per cafe key.
            ratelimits.hit("bench-ip", "127.0.0.1", "100000000/minute")
            ratelimits.peek("bench-auth", "127.0.0.1", "60/minute")
            return ratelimits.hit("bench-key", cafe.launcher_key_id, "100000000/minute")

        rows.append(row("rate limits of a call (Redis: 2 hits, 1 peek)", timed(args.calls, limits)))

        replayed = request(f"{run}-vdb-{0:012d}")
        try:
            launcher_auth.verify_signature(replayed)  # type: ignore[arg-type]
            failures.append("a replayed nonce was accepted")
        except launcher_auth.ApiError:
            pass

        if args.backlog:
            now = timezone.now()
            LauncherNonce.objects.bulk_create(
                [
                    LauncherNonce(
                        cafe=cafe, nonce=f"backlog-{i:09d}", expires_at=now + timedelta(seconds=ttl)
                    )
                    for i in range(args.backlog)
                ],
                batch_size=10_000,
            )
            with connections["default"].cursor() as cursor:
                cursor.execute("ANALYZE playsessions_launchernonce")
            rows.append(
                row(
                    f"store: upsert with {args.backlog:,} live",
                    timed(args.calls, db_store("backlog")),
                )
            )
            held = LauncherNonce.objects.count()
            t0 = time.perf_counter()
            pruned = nonces.prune(timezone.now() + timedelta(seconds=ttl + 1))
            seconds = time.perf_counter() - t0
            lines.append(
                f"- prune (one DELETE) of {pruned:,} expired rows: {seconds * 1000:,.0f} ms "
                f"({seconds / max(pruned, 1) * 1e6:.1f} µs a row)"
            )
            if pruned != held:
                failures.append(f"pruned {pruned} of {held} expired nonces")
    finally:
        connections.close_all()
        harness.drop_database(DATABASE)
        harness.flush_redis(REDIS_URL)

    table = harness.fmt_table(rows, ["operation", "mean µs", "p50 µs", "p99 µs", "calls"])
    print("\n" + table)
    if lines:
        print("\n".join(lines))
    if args.record:
        harness.record(
            "Launcher nonces: PostgreSQL against Redis",
            "The cost of keeping launcher nonces in PostgreSQL (a unique row per cafe and nonce, "
            "inserted with one upsert) instead of Redis only, per signed request, in one process "
            "on one connection each; both servers on this machine (loopback).",
            f".venv/bin/python bench/nonce_bench.py --calls {args.calls} --backlog {args.backlog}",
            "\n".join(lines),
            table,
        )
    return harness.finish(failures)


if __name__ == "__main__":
    sys.exit(main())
