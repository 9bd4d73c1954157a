"""CSV exports of sessions, the ledger and settlements, streamed row by row.

A query is read in chunks through a server-side cursor (`iterator`) and written as it comes, so
an export of a million rows never holds more than one chunk in memory. Times are UTC ISO-8601.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from audit.log import record
from audit.models import Action
from sessions import services

CHUNK = 2000


class _Line:
    """A file-like object that hands back what csv.writer writes."""

    def write(self, value: str) -> str:
        return value


def _utc(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _take(lines: Iterator[str], n: int) -> list[str]:
    return list(itertools.islice(lines, n))


async def _async_lines(lines: Iterator[str]) -> AsyncIterator[str]:
    # Each batch is read in the one thread that serves this request's sync code, so the
    # server-side cursor stays on its own connection.
    while batch := await sync_to_async(_take, thread_sensitive=True)(lines, 500):
        yield "".join(batch)


def stream(
    filename: str, header: list[str], rows: Iterable[Iterable[Any]], *, asgi: bool = False
) -> StreamingHttpResponse:
    """A CSV response written as `rows` are read.

    Under ASGI Django would read a plain iterator into a list before sending it, so there the
    lines are handed over through an async iterator, a batch at a time.
    """
    writer = csv.writer(_Line())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    content: Iterator[str] | AsyncIterator[str] = _async_lines(lines()) if asgi else lines()
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _stamp() -> str:
    return timezone.now().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


SESSION_COLUMNS = [
    "game_session_id",
    "game",
    "cafe_id",
    "cafe",
    "pc_hardware_id",
    "pc_hostname",
    "provider_user_id",
    "state",
    "end_reason",
    "started_at",
    "last_heartbeat_at",
    "ended_at",
    "play_duration_sec",
    "client_play_duration_sec",
    "coins_charged",
    "heartbeat_count",
]


def sessions_csv(request: HttpRequest, queryset: QuerySet[Any]) -> StreamingHttpResponse:
    record(
        request.user,
        Action.EXPORT,
        ("export", "sessions", "sessions CSV"),
        now=timezone.now(),
        note=str(queryset.query)[:300],
    )
    values = queryset.order_by("-started_at").values_list(
        "id",
        "game__slug",
        "cafe_id",
        "cafe__name",
        "pc__hardware_id",
        "pc__hostname",
        "provider_user_id",
        "state",
        "end_reason",
        "started_at",
        "last_heartbeat_at",
        "ended_at",
        "play_duration_sec",
        "client_play_duration_sec",
        "coins_charged",
        "heartbeat_count",
    )

    def rows() -> Iterator[list[Any]]:
        for r in values.iterator(chunk_size=CHUNK):
            yield [f"gs_{r[0]}", *r[1:9], _utc(r[9]), _utc(r[10]), _utc(r[11]), *r[12:]]

    return stream(f"sessions-{_stamp()}.csv", SESSION_COLUMNS, rows(), asgi=_asgi(request))


LEDGER_COLUMNS = [
    "entry_id",
    "created_at",
    "cafe_id",
    "cafe",
    "kind",
    "amount",
    "balance_after",
    "game_session_id",
    "by",
    "note",
]


def ledger_csv(request: HttpRequest, queryset: QuerySet[Any]) -> StreamingHttpResponse:
    record(
        request.user,
        Action.EXPORT,
        ("export", "ledger", "ledger CSV"),
        now=timezone.now(),
        note=str(queryset.query)[:300],
    )
    values = queryset.order_by("-created_at", "-id").values_list(
        "id",
        "created_at",
        "cafe_id",
        "cafe__name",
        "kind",
        "amount",
        "balance_after",
        "session_id",
        "created_by__username",
        "note",
    )

    def rows() -> Iterator[list[Any]]:
        for r in values.iterator(chunk_size=CHUNK):
            yield [r[0], _utc(r[1]), *r[2:7], f"gs_{r[7]}" if r[7] else "", r[8] or "", r[9]]

    return stream(f"ledger-{_stamp()}.csv", LEDGER_COLUMNS, rows(), asgi=_asgi(request))


SETTLEMENT_COLUMNS = [
    "period_start",
    "period_end",
    "game",
    "cafe_id",
    "cafe",
    "sessions",
    "play_seconds",
    "coins",
]


def settlement_csv(
    request: HttpRequest, start: datetime, end: datetime, *, cafe_id: int | None = None
) -> StreamingHttpResponse:
    record(
        request.user,
        Action.EXPORT,
        ("export", "settlement", "settlement CSV"),
        now=timezone.now(),
        after={"start": start, "end": end, "cafe_id": cafe_id},
    )
    rows = (
        [_utc(start), _utc(end), r.game, r.cafe_id, r.cafe, r.sessions, r.play_seconds, r.coins]
        for r in services.settlement(start, end, cafe_id=cafe_id)
    )
    name = f"settlement-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    return stream(name, SETTLEMENT_COLUMNS, rows, asgi=_asgi(request))


def _asgi(request: HttpRequest) -> bool:
    return isinstance(request, ASGIRequest)
