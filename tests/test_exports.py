"""CSV exports of sessions, the ledger and settlements: the list's filters, streamed, UTC times."""

from __future__ import annotations

import csv
import io

import pytest
from asgiref.sync import async_to_sync
from django.http import StreamingHttpResponse
from django.test import AsyncClient, Client
from personas import CafePC, Clock, GameServer, GameWithKey

from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def rows_of(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)  # written as read, never built whole
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def played(server: GameServer, pc: CafePC, pc2: CafePC, obby: GameWithKey, clock: Clock):  # type: ignore[no-untyped-def]
    """One session ended after 90 s on PC-01 (user 1001), one live on PC-02 (user 2)."""
    ended = server.start(pc, obby)
    live = server.start(pc2, obby, "2")
    clock.at(90)
    server.end(ended)
    return ended, live


def test_sessions_csv_has_every_column_in_utc(finance: Client, played) -> None:  # type: ignore[no-untyped-def]
    ended, live = played
    rows = {
        r["game_session_id"]: r
        for r in rows_of(finance.get("/admin/playsessions/gamesession/export/"))
    }
    assert set(rows) == {ended, live}
    row = rows[ended]
    assert row["game"] == "obby" and row["cafe"] == "Sunny PC Bang"
    assert row["pc_hardware_id"] == "PC-01" and row["provider_user_id"] == "1001"
    assert (row["state"], row["end_reason"]) == ("ENDED", "normal")
    assert row["started_at"] == "2026-03-06T12:00:00Z"
    assert row["ended_at"] == "2026-03-06T12:01:30Z"
    assert (row["play_duration_sec"], row["coins_charged"]) == ("90", "20")


def test_sessions_csv_follows_the_lists_filters_and_search(finance: Client, played) -> None:  # type: ignore[no-untyped-def]
    ended, live = played
    url = "/admin/playsessions/gamesession/export/"
    assert [
        r["game_session_id"] for r in rows_of(finance.get(url, {"state__exact": "ACTIVE"}))
    ] == [live]
    assert [r["game_session_id"] for r in rows_of(finance.get(url, {"q": ended[:12]}))] == [ended]
    listing = finance.get("/admin/playsessions/gamesession/", {"state__exact": "ACTIVE"})
    assert "export/?state__exact=ACTIVE" in listing.content.decode()


def test_ledger_csv(finance: Client, played, pc: CafePC) -> None:  # type: ignore[no-untyped-def]
    ended, _ = played
    rows = rows_of(finance.get("/admin/playsessions/balanceentry/export/"))
    topups = [r for r in rows if r["kind"] == "topup"]
    assert [(r["amount"], r["note"]) for r in topups] == [("1000", "opening balance")]
    charges = [r for r in rows if r["game_session_id"] == ended]
    assert sum(int(r["amount"]) for r in charges) == 20
    assert all(r["created_at"].endswith("Z") for r in rows)
    assert int(rows[0]["balance_after"]) == pc.refresh().cafe.balance  # newest first


def test_settlement_page_and_its_csv(finance: Client, played) -> None:  # type: ignore[no-untyped-def]
    query = {"start": "2026-03-01", "end": "2026-03-31"}
    page = finance.get("/admin/playsessions/cafe/settlement/", query)
    (row,) = page.context["rows"]
    assert (row.game, row.cafe, row.sessions, row.play_seconds, row.coins) == (
        "obby",
        "Sunny PC Bang",
        1,
        90,
        20,
    )
    rows = rows_of(finance.get("/admin/playsessions/cafe/settlement/", {**query, "format": "csv"}))
    assert rows == [
        {
            "period_start": "2026-03-01T00:00:00Z",
            "period_end": "2026-04-01T00:00:00Z",
            "game": "obby",
            "cafe_id": str(row.cafe_id),
            "cafe": "Sunny PC Bang",
            "sessions": "1",
            "play_seconds": "90",
            "coins": "20",
        }
    ]


def test_a_bad_period_is_refused_with_a_message(finance: Client, played) -> None:  # type: ignore[no-untyped-def]
    page = finance.get(
        "/admin/playsessions/cafe/settlement/", {"start": "2026-03-09", "end": "2026-03-01"}
    )
    assert page.status_code == 200 and "the period ends before it starts" in page.content.decode()
    assert page.context["rows"] is None


def test_exports_are_audited(finance: Client, played) -> None:  # type: ignore[no-untyped-def]
    rows_of(finance.get("/admin/playsessions/gamesession/export/"))
    (entry,) = AuditEntry.objects.filter(action="export")
    assert entry.actor_name == "fay" and entry.target_id == "sessions"


def test_export_under_asgi_streams_in_batches(played, db: None) -> None:  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import User

    user = User.objects.create_superuser("root", password="x")
    client = AsyncClient()

    async def body():  # type: ignore[no-untyped-def]
        await client.aforce_login(user)
        response = await client.get("/admin/playsessions/gamesession/export/")
        assert response.is_async  # an async iterator: Django does not read it into a list first
        return b"".join([chunk async for chunk in response.streaming_content]).decode()

    text = async_to_sync(body)()
    assert len(list(csv.DictReader(io.StringIO(text)))) == 2
