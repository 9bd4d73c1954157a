"""The audit log: every operator action with who, when, what, before and after; read-only."""

from __future__ import annotations

import pytest
from django.test import Client
from personas import CafePC, GameServer, GameWithKey, session_row

from audit.models import AuditEntry
from sessions.models import Cafe

pytestmark = pytest.mark.django_db


def only(action: str) -> AuditEntry:
    (entry,) = AuditEntry.objects.filter(action=action)
    return entry


def cafe_form(cafe: Cafe, **changes: object) -> dict[str, object]:
    networks = list(cafe.networks.all())
    pcs = list(cafe.pcs.all())
    form: dict[str, object] = {
        "name": cafe.name,
        "status": cafe.status,
        "networks-TOTAL_FORMS": len(networks),
        "networks-INITIAL_FORMS": len(networks),
        "pcs-TOTAL_FORMS": len(pcs),
        "pcs-INITIAL_FORMS": len(pcs),
    }
    for i, n in enumerate(networks):
        form |= {
            f"networks-{i}-id": n.pk,
            f"networks-{i}-cafe": cafe.pk,
            f"networks-{i}-cidr": n.cidr,
        }
    for i, p in enumerate(pcs):
        form |= {
            f"pcs-{i}-id": p.pk,
            f"pcs-{i}-cafe": cafe.pk,
            f"pcs-{i}-hardware_id": p.hardware_id,
            f"pcs-{i}-hostname": p.hostname,
            f"pcs-{i}-internal_ip": p.internal_ip or "",
        }
    form.update(changes)
    return form


def test_ending_a_session_is_audited_with_the_operator(
    admin_op: Client, server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    admin_op.post(
        "/admin/playsessions/gamesession/", {"action": "end_sessions", "_selected_action": [gs[3:]]}
    )
    entry = only("session_end")
    assert entry.actor_name == "ada" and entry.target_id == gs[3:]
    assert entry.before == {"state": "ACTIVE"}
    assert entry.after == {"state": "ENDING", "end_reason": "operator"}
    assert session_row(gs).end_reason == "operator"


def test_ending_an_ended_session_changes_and_records_nothing(
    admin_op: Client, server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    server.end(gs)
    page = admin_op.post(
        "/admin/playsessions/gamesession/",
        {"action": "end_sessions", "_selected_action": [gs[3:]]},
        follow=True,
    )
    assert "Ended 0 session(s). 1 were not live" in page.content.decode()
    assert session_row(gs).end_reason == "normal"
    assert not AuditEntry.objects.filter(action="session_end").exists()


def test_suspend_and_resume_are_audited_with_before_and_after(admin_op: Client, cafe: Cafe) -> None:
    url = f"/admin/playsessions/cafe/{cafe.pk}/change/"
    response = admin_op.post(url, cafe_form(cafe, status="suspended"))
    assert response.status_code == 302, response.content
    entry = only("cafe_suspend")
    assert (entry.before, entry.after) == ({"status": "active"}, {"status": "suspended"})
    cafe.refresh_from_db()
    admin_op.post(url, cafe_form(cafe, status="active"))
    assert only("cafe_resume").actor_name == "ada"


def test_network_and_pc_changes_are_audited(admin_op: Client, pc: CafePC) -> None:
    cafe = pc.cafe
    form = cafe_form(cafe, **{"pcs-0-hostname": "seat-09"})
    form |= {
        "networks-TOTAL_FORMS": 2,
        "networks-1-cidr": "192.168.50.0/24",
        "networks-1-cafe": cafe.pk,
    }
    response = admin_op.post(f"/admin/playsessions/cafe/{cafe.pk}/change/", form)
    assert response.status_code == 302, response.content
    net = only("network_change")
    assert net.before == {"networks": ["10.0.0.0/24"]}
    assert net.after == {"networks": ["10.0.0.0/24", "192.168.50.0/24"]}
    change = only("pc_change")
    assert change.before["hostname"] == "PC-01" and change.after["hostname"] == "seat-09"


def test_issuing_a_key_is_audited_without_the_raw_key(admin_op: Client, obby: GameWithKey) -> None:
    response = admin_op.post(
        "/admin/playsessions/game/",
        {"action": "issue_key", "_selected_action": [obby.game.pk]},
        follow=True,
    )
    raw = str(next(iter(response.context["messages"]))).split(": ", 1)[1].split(" ", 1)[0]
    entry = only("key_issue")
    assert entry.actor_name == "ada" and entry.after["game"] == "obby"
    assert raw not in str(entry.before) + str(entry.after) + entry.note + entry.target_repr


def test_game_rate_change_is_audited(admin_op: Client, obby: GameWithKey) -> None:
    admin_op.post(
        f"/admin/playsessions/game/{obby.game.pk}/change/",
        {
            "slug": "obby",
            "name": "Mega Obby",
            "coins_per_minute": 12,
            "is_active": "on",
            "api_keys-TOTAL_FORMS": 0,
            "api_keys-INITIAL_FORMS": 0,
        },
    )
    entry = only("game_change")
    assert entry.changes == {"coins_per_minute": (10, 12)}


def test_the_audit_log_is_visible_filterable_and_never_editable(
    admin_op: Client, support: Client, server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    admin_op.post(
        "/admin/playsessions/gamesession/", {"action": "end_sessions", "_selected_action": [gs[3:]]}
    )
    entry = only("session_end")
    page = support.get("/admin/audit/auditentry/", {"action__exact": "session_end"})
    assert page.status_code == 200 and gs in page.content.decode()
    assert "ada" in page.content.decode()
    assert (
        support.get("/admin/audit/auditentry/", {"actor_name": "nobody"}).context["cl"].result_count
        == 0
    )
    detail = admin_op.get(f"/admin/audit/auditentry/{entry.pk}/change/")
    assert detail.status_code == 200 and "operator" in detail.content.decode()
    for client in (admin_op, support):
        assert client.get("/admin/audit/auditentry/add/").status_code == 403
        assert (
            client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code
            == 403
        )
        client.post(f"/admin/audit/auditentry/{entry.pk}/change/", {"actor_name": "someone else"})
    entry.refresh_from_db()
    assert entry.actor_name == "ada"


def test_suspend_and_resume_actions_on_the_cafe_list(admin_op: Client, cafe: Cafe) -> None:
    url = "/admin/playsessions/cafe/"
    page = admin_op.post(url, {"action": "suspend", "_selected_action": [cafe.pk]}, follow=True)
    assert "Suspended 1 cafe(s): Sunny PC Bang." in page.content.decode()
    page = admin_op.post(url, {"action": "suspend", "_selected_action": [cafe.pk]}, follow=True)
    assert "1 already suspended, unchanged." in page.content.decode()
    admin_op.post(url, {"action": "resume", "_selected_action": [cafe.pk]})
    cafe.refresh_from_db()
    assert cafe.status == "active"
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["cafe_suspend", "cafe_resume"]


def test_cli_top_up_and_revoke_are_audited_as_the_shell_account(cafe: Cafe) -> None:
    import getpass
    import io

    from django.core.management import call_command

    from sessions.models import ApiKey, Game

    call_command("topup", str(cafe.pk), "40", "--note", "wire", stdout=io.StringIO())
    key = ApiKey.objects.issue(Game.objects.create(slug="g", name="G", coins_per_minute=1))
    call_command("revoke_api_key", key.key_id, stdout=io.StringIO())
    out = io.StringIO()
    call_command("revoke_api_key", key.key_id, stdout=out)
    assert "already revoked" in out.getvalue()
    names = set(AuditEntry.objects.values_list("actor_name", flat=True))
    assert names == {f"cli:{getpass.getuser()}"}
    assert only("topup").after == {"balance": 1040, "amount": 40}
    assert only("key_revoke").target_id == str(key.pk)
