"""CSV exports of sessions, the ledger and settlements, streamed row by row.

A query is read in chunks through a server-side cursor (`iterator`) and written as it comes, so
an export of a million rows never holds more than one chunk in memory. Times are UTC ISO-8601.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from audit.log import record
from audit.models import Action
from sessions import billing

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


def _gs(pk: Any) -> str:
    return "" if pk is None else f"gs_{pk}"


def _blank(value: Any) -> Any:
    return "" if value is None else value


# Each export is a table of columns: (CSV header, field read, how its value is written; None
# writes it as it is read).
Column = tuple[str, str, Callable[[Any], Any] | None]

SESSION_COLUMNS: list[Column] = [
    ("game_session_id", "id", _gs),
    ("game", "game__slug", None),
    ("cafe_id", "cafe_id", None),
    ("cafe", "cafe__name", None),
    ("pc_hardware_id", "pc__hardware_id", None),
    ("pc_hostname", "pc__hostname", None),
    ("provider_user_id", "provider_user_id", None),
    ("state", "state", None),
    ("end_reason", "end_reason", None),
    ("started_at", "started_at", _utc),
    ("last_heartbeat_at", "last_heartbeat_at", _utc),
    ("ended_at", "ended_at", _utc),
    ("play_duration_sec", "play_duration_sec", None),
    ("client_play_duration_sec", "client_play_duration_sec", None),
    ("coins_charged", "coins_charged", None),
    ("heartbeat_count", "heartbeat_count", None),
]

LEDGER_COLUMNS: list[Column] = [
    ("entry_id", "id", None),
    ("created_at", "created_at", _utc),
    ("cafe_id", "cafe_id", None),
    ("cafe", "cafe__name", None),
    ("kind", "kind", None),
    ("amount", "amount", None),
    ("balance_after", "balance_after", None),
    ("game_session_id", "session_id", _gs),
    ("by", "created_by__username", _blank),
    ("note", "note", None),
]


def _audit(request: HttpRequest, kind: str, **details: Any) -> None:
    record(
        request.user, Action.EXPORT, ("export", kind, f"{kind} CSV"), now=timezone.now(), **details
    )


def _export(
    request: HttpRequest,
    queryset: QuerySet[Any],
    kind: str,
    columns: list[Column],
    order: tuple[str, ...],
) -> StreamingHttpResponse:
    """Audit the export of `queryset`, then stream its `columns` in `order`."""
    _audit(request, kind, note=str(queryset.query)[:300])
    values = queryset.order_by(*order).values_list(*(field for _, field, _ in columns))
    writes = [write for _, _, write in columns]

    def rows() -> Iterator[list[Any]]:
        for r in values.iterator(chunk_size=CHUNK):
            yield [v if w is None else w(v) for w, v in zip(writes, r, strict=True)]

    header = [name for name, _, _ in columns]
    return stream(f"{kind}-{_stamp()}.csv", header, rows(), asgi=_asgi(request))


def sessions_csv(request: HttpRequest, queryset: QuerySet[Any]) -> StreamingHttpResponse:
    return _export(request, queryset, "sessions", SESSION_COLUMNS, ("-started_at",))


def ledger_csv(request: HttpRequest, queryset: QuerySet[Any]) -> StreamingHttpResponse:
    return _export(request, queryset, "ledger", LEDGER_COLUMNS, ("-created_at", "-id"))


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
    _audit(request, "settlement", after={"start": start, "end": end, "cafe_id": cafe_id})
    rows = (
        [_utc(start), _utc(end), r.game, r.cafe_id, r.cafe, r.sessions, r.play_seconds, r.coins]
        for r in billing.settlement(start, end, cafe_id=cafe_id)
    )
    name = f"settlement-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    return stream(name, SETTLEMENT_COLUMNS, rows, asgi=_asgi(request))


def _asgi(request: HttpRequest) -> bool:
    return isinstance(request, ASGIRequest)
