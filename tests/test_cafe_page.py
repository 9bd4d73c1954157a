"""The cafe page: live sessions, balance and runway, ledger, settlement, PCs and launchers."""

from __future__ import annotations

import pytest
from django.test import Client
from personas import CafePC, Clock, GameServer, GameWithKey, open_pc

from sessions import launchers
from sessions.models import PC, LauncherSession

pytestmark = pytest.mark.django_db


def page_of(client: Client, pc: CafePC, **query: str):  # type: ignore[no-untyped-def]
    response = client.get(f"/admin/playsessions/cafe/{pc.cafe.pk}/overview/", query)
    assert response.status_code == 200
    return response


def test_the_cafe_list_leads_to_the_cafe_page(admin_op: Client, pc: CafePC) -> None:
    listing = admin_op.get("/admin/playsessions/cafe/").content.decode()
    assert f"/admin/playsessions/cafe/{pc.cafe.pk}/overview/" in listing


def test_live_sessions_balance_and_runway(
    admin_op: Client, server: GameServer, pc: CafePC, pc2: CafePC, obby: GameWithKey
) -> None:
    live = server.start(pc, obby)
    ended = server.start(pc2, obby, "2")
    server.end(ended)
    response = page_of(admin_op, pc)
    page = response.content.decode()
    assert live in page and ended in page  # the ended one in the ledger, as a charge
    assert [s.public_id for s in response.context["live"]] == [live]
    # 980 G-coin left, one session at 10 G-coin a minute: 98 minutes.
    assert response.context["burn_per_minute"] == 10
    assert response.context["runway_minutes"] == 98
    assert "1 h 38 min" in page and "980" in page


def test_runway_with_nothing_live_says_nothing_is_spent(admin_op: Client, pc: CafePC) -> None:
    page = page_of(admin_op, pc).content.decode()
    assert "nothing is being spent" in page


def test_ledger_on_the_cafe_page_filters_by_kind(
    admin_op: Client, server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    server.start(pc, obby)
    kinds = {e.kind for e in page_of(admin_op, pc, kind="topup").context["ledger"]}
    assert kinds == {"topup"}
    kinds = {e.kind for e in page_of(admin_op, pc, kind="charge").context["ledger"]}
    assert kinds == {"charge"}


def test_pcs_show_launcher_state_version_last_seen_and_game(
    admin_op: Client, server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    quiet = open_pc(pc.cafe, "PC-09")
    LauncherSession.objects.filter(pk=quiet.launcher.pk).update(launcher_version="1.4.2")
    PC.objects.create(cafe=pc.cafe, hardware_id="PC-NEW", hostname="seat-new")
    server.start(pc, obby)
    clock.at(300)  # past the launcher timeout for PC-09's launcher only if it stays silent
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(200))
    clock.at(300)
    rows = {r["pc"].hardware_id: r for r in page_of(admin_op, pc).context["pcs"]}
    assert rows["PC-01"]["online"] and rows["PC-01"]["session"].game.slug == "obby"
    assert not rows["PC-09"]["online"] and rows["PC-09"]["version"] == "1.4.2"
    assert rows["PC-NEW"]["launcher_status"] == "never signed in"
    page = page_of(admin_op, pc).content.decode()
    assert "online" in page and "offline" in page and "1.4.2" in page


def test_settlement_for_a_chosen_period_on_the_cafe_page(
    admin_op: Client, server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    gs = server.start(pc, obby)
    clock.at(90)
    server.end(gs)
    response = page_of(admin_op, pc, start="2026-03-06", end="2026-03-06")
    (row,) = response.context["settlement"]
    assert (row.game, row.sessions, row.play_seconds, row.coins) == ("obby", 1, 90, 20)
    response = page_of(admin_op, pc, start="2026-03-07", end="2026-03-31")
    assert response.context["settlement"] == []


def test_times_show_seconds_in_the_configured_zone_with_utc_on_hover(
    admin_op: Client, server: GameServer, pc: CafePC, obby: GameWithKey, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.TIME_ZONE = "Asia/Seoul"
    server.start(pc, obby)
    page = admin_op.get("/admin/playsessions/gamesession/").content.decode()
    assert "2026-03-06 21:00:00 KST" in page  # T0 is 12:00:00 UTC
    assert 'title="2026-03-06 12:00:00 UTC"' in page


def test_pcs_are_shown_with_their_cafe_and_hardware_id(
    admin_op: Client, server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    PC.objects.filter(pk=pc.launcher.pc_id).update(hostname="seat-04")
    server.start(pc, obby)
    page = admin_op.get("/admin/playsessions/gamesession/").content.decode()
    assert "seat-04 (PC-01)" in page and "Sunny PC Bang" in page
