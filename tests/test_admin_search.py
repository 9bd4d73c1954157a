"""One search in the admin: what the lists show is what finds a session, an entry or a PC."""

from __future__ import annotations

import pytest
from django.test import Client
from personas import CafePC, GameServer, GameWithKey, open_pc

from sessions import billing
from sessions.models import PC, Cafe

pytestmark = pytest.mark.django_db

SESSIONS = "/admin/playsessions/gamesession/"


def found(client: Client, url: str, term: str) -> str:
    response = client.get(url, {"q": term})
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def two(server: GameServer, pc: CafePC, obby: GameWithKey, clock) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A session at Sunny PC Bang (PC-01, 10.0.0.11, user 1001) and one at another cafe."""
    other_cafe = billing.create_cafe(
        "Moonlight Arcade", ["10.9.0.0/24"], balance=500, now=clock.now
    )
    other = open_pc(other_cafe, "MOON-7")
    PC.objects.filter(pk=other.launcher.pc_id).update(hostname="seat-04", internal_ip="10.9.0.4")
    return server.start(pc, obby, "1001"), server.start(other, obby, "777777")


@pytest.mark.parametrize(
    "term",
    [
        lambda gs: gs,  # the gs_ id as shown on screen
        lambda gs: gs[:11],  # its start
        lambda gs: gs[3:],  # the bare UUID
        lambda gs: gs[3:].upper(),
        lambda gs: gs[3:].replace("-", ""),
        lambda gs: "777777",  # the provider user id
        lambda gs: "MOON-7",  # hardware id
        lambda gs: "seat-04",  # hostname shown in the list
        lambda gs: "10.9.0.4",  # IP
        lambda gs: "moonlight",  # cafe name, any case
    ],
)
def test_session_search_finds_what_the_list_shows(
    admin_op: Client, two: tuple[str, str], term
) -> None:  # type: ignore[no-untyped-def]
    sunny, moon = two
    page = found(admin_op, SESSIONS, term(moon))
    assert moon in page and sunny not in page
    assert "1 result" in page


def test_a_term_matching_nothing_finds_nothing(admin_op: Client, two: tuple[str, str]) -> None:
    page = found(admin_op, SESSIONS, "gs_ffffffff")
    assert "0 results" in page and two[0] not in page and two[1] not in page


def test_user_and_pc_links_give_their_history(
    admin_op: Client, server: GameServer, pc: CafePC, pc2: CafePC, obby: GameWithKey
) -> None:
    first = server.start(pc, obby, "42")
    server.end(first)
    second = server.start(pc2, obby, "42")
    other = server.start(pc, obby, "43")
    page = admin_op.get(SESSIONS, {"provider_user_id": "42"}).content.decode()
    assert first in page and second in page and other not in page
    page = admin_op.get(SESSIONS, {"pc__id__exact": pc.launcher.pc_id}).content.decode()
    assert first in page and other in page and second not in page


def test_ledger_search_finds_a_sessions_charges_by_its_gs_id(
    admin_op: Client, two: tuple[str, str]
) -> None:
    sunny, moon = two
    page = found(admin_op, "/admin/playsessions/balanceentry/", moon)
    assert moon in page and sunny not in page
    page = found(admin_op, "/admin/playsessions/balanceentry/", "Moonlight")
    assert moon in page and sunny not in page


def test_pc_search_by_ip_hostname_and_cafe(admin_op: Client, two: tuple[str, str]) -> None:
    for term in ("10.9.0.4", "seat-04", "Moonlight"):
        page = found(admin_op, "/admin/playsessions/pc/", term)
        assert "MOON-7" in page and "PC-01" not in page, term


def test_cafe_search_by_name_and_by_a_pc_hostname(admin_op: Client, two: tuple[str, str]) -> None:
    page = found(admin_op, "/admin/playsessions/cafe/", "seat-04")
    assert "Moonlight Arcade" in page and "Sunny PC Bang" not in page


def test_searchable_cafe_filter_narrows_by_name(admin_op: Client, two: tuple[str, str]) -> None:
    sunny, moon = two
    page = admin_op.get(SESSIONS, {"cafe_q": "moon"}).content.decode()
    assert moon in page and sunny not in page
    cafe = Cafe.objects.get(name="Moonlight Arcade")
    assert f"cafe__id__exact={cafe.pk}" in page  # the matching cafe offered as a choice
    page = admin_op.get(SESSIONS, {"cafe__id__exact": cafe.pk}).content.decode()
    assert moon in page and sunny not in page
