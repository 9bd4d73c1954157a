"""Per-minute figures for the dashboard's charts, counted whether or not anyone is watching.

Heartbeats leave no per-minute trace in the database, so every process counts them as they are
announced (after commit) into one cache counter per minute — Redis in production, shared by all
processes; the local-memory cache under the embedded single-process server. A process adds its
count to the cache at most once every FLUSH_SECONDS (one cache call a second, not one per
heartbeat), and before it reads the charts itself. Starts and ends are read from the database,
the record of every session.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import TruncMinute

from sessions.events import SessionEvent
from sessions.lifecycle import EndReason, State
from sessions.models import GameSession

logger = logging.getLogger(__name__)

MINUTES = 60
KEEP_SECONDS = 2 * 3600
PREFIX = "playwave:dashboard:heartbeats:"
FLUSH_SECONDS = 1.0  # the longest a heartbeat waits in this process before the cache has it


def minute_of(t: datetime) -> int:
    return int(t.timestamp() // 60)


def first_minute(now: datetime) -> datetime:
    """The start of the oldest of the last MINUTES minutes (the current one included)."""
    return datetime.fromtimestamp((minute_of(now) - MINUTES + 1) * 60, tz=UTC)


class _Counts:
    """This process's heartbeats per minute not yet in the cache; a timer adds them."""

    def __init__(self, timer: type[threading.Timer] = threading.Timer) -> None:
        self._pending: Counter[int] = Counter()
        self._lock = threading.Lock()
        self._make_timer = timer
        self._timer: threading.Timer | None = None

    def add(self, minute: int) -> None:
        with self._lock:
            self._pending[minute] += 1
            if self._timer is None:
                self._timer = self._make_timer(FLUSH_SECONDS, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, Counter()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        for minute, n in pending.items():
            _add(f"{PREFIX}{minute}", n)


def _add(key: str, n: int) -> None:
    try:
        try:
            cache.incr(key, n)
        except ValueError:  # the minute's first heartbeat in this cache
            if not cache.add(key, n, KEEP_SECONDS):
                cache.incr(key, n)
    except Exception:
        # A chart may miss beats; a heartbeat must never fail because the cache is away.
        logger.debug("heartbeats not counted for the dashboard", exc_info=True)


pending = _Counts()


def count_event(event: SessionEvent) -> None:
    """Session-event listener: one more heartbeat in the minute it was received."""
    if event.kind == "heartbeat":
        pending.add(minute_of(event.at))


def heartbeats(now: datetime) -> list[int]:
    """Heartbeats received in each of the last MINUTES minutes, oldest first."""
    last = minute_of(now)
    keys = [f"{PREFIX}{m}" for m in range(last - MINUTES + 1, last + 1)]
    pending.flush()  # this process's own latest beats are in the chart it draws
    try:
        found = cache.get_many(keys)
    except Exception:
        logger.warning("dashboard heartbeat counts unavailable", exc_info=True)
        found = {}
    return [int(found.get(k) or 0) for k in keys]


def _series(rows: list[tuple[datetime, int]], start: datetime) -> list[int]:
    series = [0] * MINUTES
    for minute, n in rows:
        index = int((minute - start).total_seconds() // 60)
        if 0 <= index < MINUTES:
            series[index] += n
    return series


def starts(now: datetime) -> list[int]:
    """Sessions started in each of the last MINUTES minutes, oldest first."""
    start = first_minute(now)
    rows = (
        GameSession.objects.filter(started_at__gte=start)
        .annotate(minute=TruncMinute("started_at"))
        .values_list("minute")
        .annotate(n=Count("id"))
        .order_by()
    )
    return _series(list(rows), start)


def ends(now: datetime) -> dict[str, list[int]]:
    """Ends by reason in each of the last MINUTES minutes (oldest first), aggregated in SQL."""
    start = first_minute(now)
    by_reason: dict[str, list[tuple[datetime, int]]] = {r.value: [] for r in EndReason}
    rows = (
        GameSession.objects.filter(state=State.ENDED, ended_at__gte=start)
        .annotate(minute=TruncMinute("ended_at"))
        .values_list("end_reason", "minute")
        .annotate(n=Count("id"))
        .order_by()
    )
    for reason, minute, n in rows:
        if reason in by_reason:
            by_reason[reason].append((minute, n))
    return {reason: _series(found, start) for reason, found in by_reason.items()}


def charts(now: datetime) -> dict[str, object]:
    """Everything the charts draw: per-minute series and the minute the first value is for."""
    return {
        "start": first_minute(now).isoformat().replace("+00:00", "Z"),
        "minutes": MINUTES,
        "heartbeats": heartbeats(now),
        "starts": starts(now),
        "ends": ends(now),
    }


def window(now: datetime) -> tuple[datetime, datetime]:
    start = first_minute(now)
    return start, start + timedelta(minutes=MINUTES)
