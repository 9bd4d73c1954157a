"""Faults mid-traffic on a real stack (gunicorn, daphne, two reapers; PostgreSQL + Redis): Redis
killed then back, PostgreSQL unreachable then back, every PostgreSQL connection terminated.

After each: no session lost or stuck, the ledger invariant for every cafe, and clean answers
within a second of recovery. (A reaper killed with SIGKILL mid-batch: test_concurrency.py.)
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from faultkit import (
    STACK_APPLICATION,
    Answer,
    RedisServer,
    Seat,
    ServiceStack,
    TcpProxy,
    Traffic,
    figures,
    service_stack,
    signed,
    stack_env,
    wait_for,
)
from personas import ledger_balanced, make_game, open_pc

from sessions import billing, game_sessions, launchers
from sessions.models import BalanceEntry, Cafe, GameSession

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SEATS = 12
RECOVERY = 1.0  # seconds after the fault ends by which every answer is clean again
# After a PostgreSQL outage each process's pool reconnects with psycopg_pool's exponential
# back-off (not configurable through Django), so a worker may answer 503 for a few seconds
# more; docs/reliability.md states this promise.
PG_RECOVERY = 8.0
POOL_TIMEOUT = 2  # DATABASE_POOL_TIMEOUT of the stack under test: a shorter outage will do


@pytest.fixture
def seats() -> tuple[str, list[Seat]]:
    """A game's key and SEATS PCs with a live launcher and a verified game session each."""
    game = make_game("fault-obby", "Fault Obby", 10)
    cafe = billing.create_cafe("Fault Cafe", ["127.0.0.0/8"], balance=1_000_000, now=timezone.now())
    out = []
    for i in range(SEATS):
        pc = open_pc(cafe, f"F-{i}")
        ott = launchers.issue_ott(pc.launcher, game.game, now=timezone.now())
        verified = game_sessions.verify(game.game, ott.id, str(5000 + i), now=timezone.now())
        assert isinstance(verified, game_sessions.Verified)
        out.append(
            Seat(
                cafe.launcher_key_id,
                cafe.launcher_secret,
                pc.token,
                verified.session_id,
                str(5000 + i),
            )
        )
    return game.key, out


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def healthz(url: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    r = httpx.get(f"{url}/healthz", timeout=5)
    return r.status_code, r.json(), time.monotonic() - started


def clean(answers: list[Answer]) -> bool:
    return all(a.status == 200 for a in answers)


def summary(answers: list[Answer]) -> Counter[str]:
    return Counter(f"{a.target}:{a.call}:{a.status}:{a.code}" for a in answers)


def assert_nothing_lost(api_key: str, seats: list[Seat], stack: ServiceStack) -> None:
    """Every session is still there and ends cleanly, and every cafe's ledger holds."""
    assert all(p.alive() for p in stack.procs), [p.name for p in stack.procs if not p.alive()]
    with httpx.Client(timeout=10) as client:
        for seat in seats:
            r = client.request(
                "DELETE",
                f"{stack.gunicorn.url}/v1/game/session/end",
                json={"game_session_id": seat.game_session_id},
                headers={"X-Api-Key": api_key},
            )
            assert r.status_code == 200, r.text
    ids = [s.game_session_id.removeprefix("gs_") for s in seats]
    rows = list(GameSession.objects.filter(pk__in=ids))
    assert len(rows) == len(seats)
    assert {(r.state, r.end_reason) for r in rows} == {("ENDED", "normal")}
    for row in rows:
        charged = BalanceEntry.objects.filter(session=row).aggregate(s=Sum("amount"))["s"]
        assert charged == row.coins_charged > 0
    assert not GameSession.objects.exclude(state="ENDED").exists()
    assert all(ledger_balanced(c) for c in Cafe.objects.all())


def test_redis_killed_mid_traffic_then_back(
    seats: tuple[str, list[Seat]], own_redis: RedisServer, tmp_path: Path
) -> None:
    api_key, seated = seats
    env = stack_env(tmp_path, redis_url=own_redis.url)
    with service_stack(env, tmp_path) as stack:
        targets = {"gunicorn": stack.gunicorn.url, "daphne": stack.daphne.url}
        # A launcher request as sent before the outage, to replay once Redis is back empty.
        seat = seated[0]
        path = "/v1/launcher/session/heartbeat"
        captured = signed(seat, "PATCH", path, b"{}")
        assert (
            httpx.patch(f"{stack.gunicorn.url}{path}", content=b"{}", headers=captured).status_code
            == 200
        )
        with Traffic(api_key, seated, targets) as traffic:
            before = traffic.wait_answers(time.monotonic(), 30)
            assert clean(before), summary(before)

            own_redis.stop()
            down = time.monotonic()
            traffic.wait_answers(down, 60)
            for url in targets.values():
                status, body, took = healthz(url)
                assert (status, body["status"], body["database"]) == (200, "degraded", "ok"), body
                assert took < 1.0, took
                print(f"redis down: /healthz {status} {body['status']} in {took * 1000:.0f} ms")
            during = traffic.since(down)

            own_redis.start()
            back = time.monotonic()
            after = traffic.wait_answers(back + RECOVERY, 30)
            for url in targets.values():
                wait_for(lambda u=url: healthz(u)[1]["status"] == "ok", "healthz ok again", 10)
        figures("redis down", during, down)
        figures("redis back", traffic.since(back), back)
        # Redis is not on the path of any /v1 call: nothing failed, not even during the outage.
        assert clean(during), summary(during)
        assert {a.call for a in during} == {"game", "launcher"}
        assert clean(after), summary(after)
        assert max(a.took for a in during + after) < 2.0
        replay = httpx.patch(f"{stack.gunicorn.url}{path}", content=b"{}", headers=captured)
        assert replay.status_code == 401, "a Redis restart must not let a nonce come back"
        assert_nothing_lost(api_key, seated, stack)


def test_postgresql_unreachable_mid_traffic_then_back(
    seats: tuple[str, list[Seat]], tmp_path: Path
) -> None:
    api_key, seated = seats
    db_port = int(settings.DATABASES["default"].get("PORT") or 5432)
    proxy = TcpProxy(db_port)
    proxy.up()
    env = stack_env(tmp_path, database_port=proxy.port, redis_url=settings.REDIS_URL)
    env["DATABASE_POOL_TIMEOUT"] = str(POOL_TIMEOUT)
    try:
        with service_stack(env, tmp_path) as stack:
            targets = {"gunicorn": stack.gunicorn.url, "daphne": stack.daphne.url}
            with Traffic(api_key, seated, targets) as traffic:
                before = traffic.wait_answers(time.monotonic(), 30)
                assert clean(before), summary(before)

                proxy.down()  # PostgreSQL gone: every connection reset, new ones refused
                down = time.monotonic()
                traffic.wait_answers(down + 3, 4, timeout=60)
                for url in targets.values():
                    status, body, took = healthz(url)
                    assert (status, body["status"]) == (503, "error"), body
                    assert took < 1.0, took
                    print(f"postgresql down: /healthz {status} in {took * 1000:.0f} ms")
                # daphne now sits idle until PostgreSQL is back: its pool keeps dead connections.
                traffic.enabled = {"gunicorn"}
                during = traffic.since(down)

                proxy.up()
                back = time.monotonic()
                wait_for(lambda: healthz(stack.gunicorn.url)[0] == 200, "gunicorn healthy", 10)
                after = traffic.wait_answers(back + PG_RECOVERY, 30)
                traffic.enabled = {"gunicorn", "daphne"}
                idle_daphne = [
                    a for a in traffic.wait_answers(time.monotonic(), 12) if a.target == "daphne"
                ]
            figures("postgresql down", during, down)
            figures("postgresql back", traffic.since(back), back)
            figures("idle daphne after", idle_daphne, idle_daphne[0].sent if idle_daphne else 0)
            # During the outage every call got an answer, fast: 503 in the envelope, Retry-After.
            late = [a for a in during if a.sent > down + 0.5]
            assert late and {(a.status, a.code) for a in late} == {(503, "SERVICE_UNAVAILABLE")}, (
                summary(late)
            )
            assert {a.retry_after for a in late} == {"5"}
            assert max(a.took for a in during) < POOL_TIMEOUT + 1
            assert clean(after), summary(after)
            assert idle_daphne and clean(idle_daphne), summary(idle_daphne)
            assert_nothing_lost(api_key, seated, stack)
    finally:
        proxy.down()


def test_every_postgresql_connection_terminated_mid_traffic(
    seats: tuple[str, list[Seat]], tmp_path: Path
) -> None:
    api_key, seated = seats
    env = stack_env(tmp_path, redis_url=settings.REDIS_URL)
    with service_stack(env, tmp_path) as stack:
        targets = {"gunicorn": stack.gunicorn.url, "daphne": stack.daphne.url}
        with Traffic(api_key, seated, targets) as traffic:
            before = traffic.wait_answers(time.monotonic(), 30)
            assert clean(before), summary(before)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = %s",
                    [STACK_APPLICATION],
                )
                (killed,) = cursor.fetchone()
            killed_at = time.monotonic()
            after = traffic.wait_answers(killed_at + RECOVERY, 40)
        figures(f"{killed} connections terminated", traffic.since(killed_at), killed_at)
        assert killed >= 3  # both reapers and the servers' pooled connections
        at_the_kill = traffic.since(killed_at)
        assert {a.status for a in at_the_kill} <= {200, 503}, summary(at_the_kill)
        assert clean(after), summary(after)
        # The reapers lived through it and still reap: a session long silent is ended.
        past = timezone.now() - timedelta(seconds=3600)
        game = GameSession.objects.get(pk=seated[0].game_session_id.removeprefix("gs_")).game
        late_pc = open_pc(Cafe.objects.get(), "F-late")
        ott = launchers.issue_ott(late_pc.launcher, game, now=past)
        silent = game_sessions.verify(game, ott.id, "9999", now=past)
        assert isinstance(silent, game_sessions.Verified)
        pk = silent.session_id.removeprefix("gs_")
        wait_for(lambda: GameSession.objects.get(pk=pk).state == "ENDED", "the reapers end it", 15)
        assert GameSession.objects.get(pk=pk).end_reason in {
            "heartbeat_timeout",
            "launcher_timeout",
        }
        assert_nothing_lost(api_key, seated, stack)
