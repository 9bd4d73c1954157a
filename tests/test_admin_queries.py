"""Admin pages cost a fixed number of queries, however many rows they show (no N+1)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from personas import Clock, GameServer, GameWithKey, open_pc

from sessions import billing
from sessions.models import ApiKey, Cafe

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/playsessions/gamesession/",
    "/admin/playsessions/gamesession/?q=Cafe",
    "/admin/playsessions/balanceentry/",
    "/admin/playsessions/cafe/",
    "/admin/playsessions/pc/",
    "/admin/playsessions/launchersession/",
    "/admin/playsessions/game/",
    "/admin/playsessions/apikey/",
    "/admin/audit/auditentry/",
]
# The session list, filters and pager included, never needs more than this.
MOST = 12


def grow(server: GameServer, obby: GameWithKey, clock: Clock, cafes: int) -> None:
    """`cafes` more cafes, each with two PCs playing, one session ended, and a top-up."""
    start = Cafe.objects.count()
    for i in range(start, start + cafes):
        cafe = billing.create_cafe(f"Cafe {i}", ["10.0.0.0/24"], balance=500, now=clock.now)
        a, b = open_pc(cafe, f"A-{i}"), open_pc(cafe, f"B-{i}")
        server.end(server.start(a, obby, f"{i}0"))
        server.start(a, obby, f"{i}1")
        server.start(b, obby, f"{i}2")
        billing.topup(cafe.pk, 5, now=clock.now, note="cash")
        ApiKey.objects.issue(obby.game)


def count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize("url", PAGES)
def test_list_pages_cost_the_same_for_3_and_12_cafes(
    admin_op: Client, server: GameServer, obby: GameWithKey, clock: Clock, url: str
) -> None:
    grow(server, obby, clock, 3)
    few = count(admin_op, url)
    grow(server, obby, clock, 9)
    assert count(admin_op, url) == few <= MOST


def test_the_cafe_page_costs_the_same_for_2_and_20_pcs(
    admin_op: Client, server: GameServer, obby: GameWithKey, clock: Clock
) -> None:
    cafe = billing.create_cafe("Big", ["10.0.0.0/24"], balance=10**6, now=clock.now)
    url = f"/admin/playsessions/cafe/{cafe.pk}/overview/?start=2026-03-01&end=2026-03-31"

    def add(n: int) -> None:
        for i in range(n):
            seat = open_pc(cafe, f"S-{cafe.pcs.count()}-{i}")
            server.end(server.start(seat, obby, f"u{i}"))
            server.start(seat, obby, f"v{i}")

    add(2)
    few = count(admin_op, url)
    add(18)
    assert count(admin_op, url) == few <= 16
