"""Launcher nonces in the database: each one accepted once within its window, pruned after it.

One statement per signed request: an insert that, on a clash, only takes over a row whose window
is over (a nonce may come back once nobody could replay the request that first carried it, as
its timestamp is then out of the signature window too). Concurrent requests with one nonce are
serialised by the unique constraint: exactly one gets the row back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection

from sessions.models import Cafe, LauncherNonce
from sessions.sql import prepared_cursor

# The same statement on PostgreSQL and SQLite (3.35+: upsert with RETURNING).
UPSERT = (
    'INSERT INTO "playsessions_launchernonce" ("cafe_id", "nonce", "expires_at") '
    "VALUES (%s, %s, %s) "
    'ON CONFLICT ("cafe_id", "nonce") DO UPDATE SET "expires_at" = excluded."expires_at" '
    'WHERE "playsessions_launchernonce"."expires_at" <= %s '
    'RETURNING "id"'
)


def remember(cafe: Cafe, nonce: str, *, now: datetime, ttl: float) -> bool:
    """Record `nonce` for `cafe` until now + ttl; False when it is already held (a replay)."""
    adapt = connection.ops.adapt_datetimefield_value
    with prepared_cursor() as cursor:
        cursor.execute(UPSERT, [cafe.pk, nonce, adapt(now + timedelta(seconds=ttl)), adapt(now)])
        return cursor.fetchone() is not None


def prune(now: datetime) -> int:
    """Forget the nonces whose window is over; the number forgotten."""
    deleted, _ = LauncherNonce.objects.filter(expires_at__lte=now).delete()
    return deleted
