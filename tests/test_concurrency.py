"""Real concurrency on PostgreSQL: racing verifies, heartbeats, ends and reapers.

These run in the PostgreSQL + Redis tier only (SQLite serialises every writer anyway).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone
from personas import CafePC, GameServer, GameWithKey, ledger_balanced, open_pc, session_row

from sessions import billing, game_sessions, launchers, lifecycle, reaper
from sessions.lifecycle import units_owed
from sessions.models import BalanceEntry, Cafe, GameSession

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent


def race(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in n threads released at the same instant; each uses its own connection."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # the assertion below shows what went wrong
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_twenty_concurrent_verifies_of_one_ott_make_exactly_one_session(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    ott = pc.ott(obby)
    results = race(20, lambda i: GameServer(server.key).verify(ott, "1001").json()["data"])
    assert all(r["is_valid"] for r in results), results
    assert len({r["game_session_id"] for r in results}) == 1
    assert GameSession.objects.count() == 1
    assert pc.refresh().cafe.balance == 990
    assert ledger_balanced(pc.cafe)


def test_concurrent_verifies_by_different_users_have_one_winner(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    ott = pc.ott(obby)
    results = race(20, lambda i: GameServer(server.key).verify(ott, str(i)).json()["data"])
    outcomes = Counter("valid" if r["is_valid"] else r["reason"] for r in results)
    assert outcomes == {"valid": 1, "OTT_ALREADY_USED": 19}
    assert GameSession.objects.count() == 1


def test_heartbeats_end_and_two_reapers_racing_end_the_session_once(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    start = timezone.now() - timedelta(seconds=200)
    ott = launchers.issue_ott(pc.launcher, obby.game, now=start)
    launchers.heartbeat_launcher(pc.launcher, now=start)
    verified = game_sessions.verify(obby.game, ott.id, "1001", now=start)
    assert isinstance(verified, game_sessions.Verified)
    gs = verified.session_id
    launchers.heartbeat_launcher(pc.launcher, now=timezone.now())
    # Due at start + 240 s: the reapers and the end race with heartbeats around that moment.
    due = start + timedelta(seconds=240)

    def work(i: int) -> Any:
        if i < 2:
            return reaper.reap_once(now=due + timedelta(seconds=1), batch=100).ended
        if i == 2:
            return GameServer(server.key).end(gs).status_code
        return GameServer(server.key).heartbeat(gs).status_code

    results = race(12, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    row = session_row(gs)
    assert row.state == "ENDED"
    charges = BalanceEntry.objects.filter(session=row, kind="charge")
    assert sum(c.amount for c in charges) == row.coins_charged
    played = timedelta(seconds=row.play_duration_sec or 0)
    assert row.coins_charged == 10 * units_owed(start, start + played, 60)
    assert ledger_balanced(pc.cafe)


def test_many_sessions_of_one_cafe_charging_at_once_keep_the_ledger_exact(
    server: GameServer, obby: GameWithKey
) -> None:
    now = timezone.now()
    cafe = billing.create_cafe("Busy Cafe", ["10.2.0.0/16"], balance=150, now=now)
    pcs = [open_pc(cafe, f"B-{i}") for i in range(12)]
    sessions = [server.start(p, obby, user=str(i)) for i, p in enumerate(pcs)]  # 120 of 150

    # The verifies ran on the real clock: a second minute is owed by all of them only from 60 s
    # after the last one started (on a loaded machine that is seconds after `now`).
    last_start = max(session_row(s).started_at for s in sessions)
    later = last_start + timedelta(seconds=61)

    def beat(i: int) -> Any:
        launchers.heartbeat_launcher(pcs[i].launcher, now=later)
        return game_sessions.touch_session(
            obby.game,
            session_row(sessions[i]).id,
            str(i),
            now=later,
            why=lifecycle.Touch.HEARTBEAT,
        ).exhausted

    results = race(12, beat)
    cafe.refresh_from_db()
    assert cafe.balance == 0
    assert Counter(results) == {False: 3, True: 9}  # 30 coins pay three second minutes
    assert ledger_balanced(cafe)


def test_reaper_killed_mid_batch_loses_and_corrupts_nothing(obby: GameWithKey) -> None:
    # Real time on both sides: the reaper runs in another process with the real clock.
    past = timezone.now() - timedelta(seconds=3600)
    cafe = billing.create_cafe("Crash Cafe", ["10.3.0.0/16"], balance=100_000, now=past)
    for i in range(400):
        seat = open_pc(cafe, f"K-{i}")
        ott = launchers.issue_ott(seat.launcher, obby.game, now=past)
        game_sessions.verify(obby.game, ott.id, str(i), now=past)
    assert GameSession.objects.filter(state="ACTIVE").count() == 400

    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "PLAYWAVE_REAPER_BATCH": "50"}
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run_reaper"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while GameSession.objects.exclude(state="ACTIVE").count() < 40:
            assert time.monotonic() < deadline, "the reaper process made no progress"
            time.sleep(0.01)  # polling another process's progress, not waiting on a timer
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    killed_at = GameSession.objects.filter(state="ENDED").count()
    assert 0 < killed_at < 400, "kill the reaper mid-batch"

    while reaper.reap_once(now=timezone.now(), batch=500).total:
        pass
    connection.close()
    assert GameSession.objects.filter(state="ENDED").count() == 400
    assert not GameSession.objects.exclude(
        end_reason__in=["heartbeat_timeout", "launcher_timeout"]
    ).exists()
    for row in GameSession.objects.all():
        charged = sum(BalanceEntry.objects.filter(session=row).values_list("amount", flat=True))
        assert charged == row.coins_charged == 10
    assert ledger_balanced(Cafe.objects.get(pk=cafe.pk))
