"""Operator roles (groups from a data migration): what each may do, and what it is refused."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from personas import CafePC, GameServer, GameWithKey, session_row

from sessions.models import ApiKey, Cafe

pytestmark = pytest.mark.django_db


def test_the_migration_creates_the_three_roles() -> None:
    if not Group.objects.exists():
        # A transactional test that ran before this one flushed the migration's rows: make
        # them again with the function the migration runs.
        from django.apps import apps

        from dashboard.roles import make_roles

        make_roles(apps)
    perms = {
        g.name: {f"{p.content_type.app_label}.{p.codename}" for p in g.permissions.all()}
        for g in Group.objects.prefetch_related("permissions__content_type")
    }
    assert {"support", "finance", "administrator"} <= set(perms)
    assert "playsessions.end_gamesession" in perms["support"]
    assert "playsessions.topup_cafe" not in perms["support"]
    assert {"playsessions.topup_cafe", "playsessions.export_data"} <= perms["finance"]
    assert "playsessions.end_gamesession" not in perms["finance"]
    assert "audit.change_auditentry" not in perms["administrator"]
    assert "playsessions.add_apikey" in perms["administrator"]


def end(client: Client, gs: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/admin/playsessions/gamesession/",
        {"action": "end_sessions", "_selected_action": [gs[3:]]},
        follow=True,
    )


def topup(client: Client, cafe: Cafe):  # type: ignore[no-untyped-def]
    return client.post(
        f"/admin/playsessions/cafe/{cafe.pk}/topup/",
        {"amount": 10, "token": "0" * 32},
    )


READ_PAGES = [
    "/admin/playsessions/gamesession/",
    "/admin/playsessions/balanceentry/",
    "/admin/playsessions/cafe/",
    "/admin/playsessions/pc/",
    "/admin/playsessions/apikey/",
    "/admin/audit/auditentry/",
]


def test_support_reads_everything_and_ends_sessions(
    support: Client, server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    for url in [*READ_PAGES, f"/admin/playsessions/cafe/{pc.cafe.pk}/overview/"]:
        assert support.get(url).status_code == 200, url
    end(support, gs)
    assert session_row(gs).end_reason == "operator"


def test_support_may_not_move_money_export_or_change_keys(
    support: Client, cafe: Cafe, obby: GameWithKey
) -> None:
    assert topup(support, cafe).status_code == 403
    cafe.refresh_from_db()
    assert cafe.balance == 1000
    assert support.get("/admin/playsessions/gamesession/export/").status_code == 403
    assert support.get("/admin/playsessions/cafe/settlement/").status_code == 403
    assert support.get(f"/admin/playsessions/cafe/{cafe.pk}/change/").status_code == 200  # view
    support.post(f"/admin/playsessions/cafe/{cafe.pk}/change/", {"name": "Renamed"})
    cafe.refresh_from_db()
    assert cafe.name == "Sunny PC Bang"
    key = ApiKey.objects.get(game=obby.game)
    support.post(
        "/admin/playsessions/apikey/",
        {"action": "revoke", "_selected_action": [key.pk], "confirm": "yes"},
    )
    key.refresh_from_db()
    assert key.revoked_at is None
    page = support.get(f"/admin/playsessions/cafe/{cafe.pk}/overview/").content.decode()
    assert "Top up…" not in page and "Export CSV" not in page


def test_finance_tops_up_settles_and_exports_but_cannot_end_sessions(
    finance: Client, server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    assert topup(finance, pc.cafe).status_code == 302
    pc.cafe.refresh_from_db()
    assert pc.cafe.balance == 1000 - 10 + 10
    assert finance.get("/admin/playsessions/gamesession/export/").status_code == 200
    assert finance.get("/admin/playsessions/balanceentry/export/").status_code == 200
    assert finance.get("/admin/playsessions/cafe/settlement/").status_code == 200
    page = end(finance, gs)
    assert session_row(gs).state == "ACTIVE"
    assert page.status_code == 200
    assert "end_sessions" not in page.content.decode()  # the action is not even offered


def test_administrator_may_do_everything(
    admin_op: Client, server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    assert topup(admin_op, pc.cafe).status_code == 302
    end(admin_op, gs)
    assert session_row(gs).end_reason == "operator"
    assert admin_op.get("/admin/playsessions/cafe/settlement/").status_code == 200
    response = admin_op.post(
        "/admin/playsessions/apikey/add/", {"game": obby.game.pk, "label": "x"}
    )
    assert response.status_code == 302
    assert ApiKey.objects.filter(game=obby.game).count() == 2


def test_a_staff_account_without_a_role_sees_nothing(db: None, cafe: Cafe) -> None:
    from django.contrib.auth.models import User

    user = User.objects.create_user("nobody", password="x", is_staff=True)
    client = Client()
    client.force_login(user)
    assert client.get("/admin/playsessions/gamesession/").status_code == 403
    assert client.get(f"/admin/playsessions/cafe/{cafe.pk}/overview/").status_code == 403
    assert topup(client, cafe).status_code == 403


def test_demo_data_signs_in_an_administrator_and_makes_support_and_finance(
    tmp_path,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    from django.contrib.auth.models import User

    settings.DATA_DIR = tmp_path
    call_command("demo_data", stdout=open(tmp_path / "out.txt", "w"))  # noqa: SIM115
    creds = json.loads((tmp_path / "demo-credentials.json").read_text())
    roles = {
        name: set(User.objects.get(username=name).groups.values_list("name", flat=True))
        for name in ("operator", "support", "finance")
    }
    assert roles == {"operator": {"administrator"}, "support": {"support"}, "finance": {"finance"}}
    operator = User.objects.get(username="operator")
    assert operator.is_staff and not operator.is_superuser
    assert creds["support"]["password"] and creds["finance"]["role"] == "finance"
    client = Client()
    assert client.login(username="finance", password=creds["finance"]["password"])
    assert client.get("/admin/playsessions/cafe/settlement/").status_code == 200
