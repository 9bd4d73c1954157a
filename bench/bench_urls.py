"""The production URLconf plus the benchmarks' yardsticks, served only by bench.bench_settings.

* `bench/bare` — a JSON view with no database;
* `bench/charge` — the minimal durable charge for a seeded session in raw SQL: one
  conditional session update, one cafe update and one ledger insert, as one statement;
* `bench/launcher-beat` — the launcher heartbeat's floor: the HMAC check, the nonce remembered
  in the store the service uses (`sessions.nonces`, one upsert), one update of the launcher
  session.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sessions import nonces
from sessions.models import Cafe, sha256_hex
from sessions.signing import sign, signature_matches
from sessions.sql import prepared_cursor

OK = {"success": True, "data": {"result": "OK"}}


def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse(OK)


_CHARGE = """
WITH s AS (
    UPDATE playsessions_gamesession SET coins_charged = coins_charged + rate,
        last_heartbeat_at = now(), heartbeat_count = heartbeat_count + 1, updated_at = now()
    WHERE id = %s AND state = 'ACTIVE'
    RETURNING id, cafe_id, rate
), c AS (
    UPDATE playsessions_cafe AS cafe SET balance = cafe.balance - s.rate
    FROM s WHERE cafe.id = s.cafe_id
    RETURNING cafe.id, cafe.balance, s.rate
), e AS (
    INSERT INTO playsessions_balanceentry (cafe_id, kind, amount, balance_after, session_id,
        note, created_at, created_by_id, idempotency_key)
    SELECT c.id, 'charge', c.rate, c.balance, s.id, '', now(), NULL, NULL FROM s, c
    RETURNING id
)
SELECT count(*) FROM e
"""


@csrf_exempt
def charge(request: HttpRequest) -> JsonResponse:
    body = json.loads(request.body)
    with prepared_cursor() as cursor:
        cursor.execute(_CHARGE, [body["game_session_id"][3:]])
        (n,) = cursor.fetchone()
    if n != 1:
        return JsonResponse({"success": False}, status=404)
    return JsonResponse(OK)


_cafes: dict[str, Cafe] = {}


@csrf_exempt
def launcher_beat(request: HttpRequest) -> JsonResponse:
    key_id = request.headers["X-PW-Key"]
    timestamp, nonce = request.headers["X-PW-Timestamp"], request.headers["X-PW-Nonce"]
    if key_id not in _cafes:  # looked up once per process: the floor has no cafe read
        _cafes[key_id] = Cafe.objects.get(launcher_key_id=key_id)
    cafe = _cafes[key_id]
    expected = sign(
        cafe.launcher_secret, request.method or "", request.path, timestamp, nonce, request.body
    )
    if not signature_matches(expected, request.headers["X-PW-Signature"]):
        return JsonResponse({"success": False}, status=401)
    if not nonces.remember(cafe, nonce, now=timezone.now(), ttl=600):
        return JsonResponse({"success": False}, status=401)
    token = request.headers["Authorization"].partition(" ")[2]
    with prepared_cursor() as cursor:
        cursor.execute(
            "UPDATE playsessions_launchersession SET last_heartbeat_at = now() "
            "WHERE token_digest = %s AND status = 'active'",
            [sha256_hex(token)],
        )
        n = cursor.rowcount
    if n != 1:
        return JsonResponse({"success": False}, status=404)
    return JsonResponse(OK)


urlpatterns = [
    path("bench/bare", bare, name="bench-bare"),
    path("bench/charge", charge, name="bench-charge"),
    path("bench/launcher-beat", launcher_beat, name="bench-launcher-beat"),
    path("", include("playwave.urls")),
]
