"""Safe money actions: a top-up sent twice credits once; revoking asks first, then says what it
did."""

from __future__ import annotations

import pytest
from django.test import Client
from personas import ledger_balanced

from audit.models import AuditEntry
from sessions.models import ApiKey, Cafe, Game

pytestmark = pytest.mark.django_db


def topup_form(client: Client, cafe: Cafe) -> str:
    page = client.get(f"/admin/playsessions/cafe/{cafe.pk}/topup/")
    assert page.status_code == 200
    return str(page.context["form"]["token"].value())


def test_the_same_top_up_form_sent_twice_credits_once(admin_op: Client, cafe: Cafe) -> None:
    token = topup_form(admin_op, cafe)
    form = {"amount": 300, "note": "cash at the desk", "token": token}
    admin_op.post(f"/admin/playsessions/cafe/{cafe.pk}/topup/", form)
    second = admin_op.post(f"/admin/playsessions/cafe/{cafe.pk}/topup/", form, follow=True)
    cafe.refresh_from_db()
    assert cafe.balance == 1300
    assert cafe.ledger.filter(kind="topup", amount=300).count() == 1
    assert any("already recorded" in str(m) for m in second.context["messages"])
    assert ledger_balanced(cafe)
    assert AuditEntry.objects.filter(action="topup", target_id=str(cafe.pk)).count() == 1


def test_two_forms_are_two_top_ups(admin_op: Client, cafe: Cafe) -> None:
    for _ in range(2):
        token = topup_form(admin_op, cafe)
        admin_op.post(f"/admin/playsessions/cafe/{cafe.pk}/topup/", {"amount": 5, "token": token})
    cafe.refresh_from_db()
    assert cafe.balance == 1010


def test_a_top_up_keeps_both_the_note_and_who_made_it(admin_op: Client, cafe: Cafe) -> None:
    token = topup_form(admin_op, cafe)
    admin_op.post(
        f"/admin/playsessions/cafe/{cafe.pk}/topup/", {"amount": 9, "note": "promo", "token": token}
    )
    entry = cafe.ledger.get(kind="topup", amount=9)
    assert entry.note == "promo" and entry.created_by is not None
    assert entry.created_by.username == "ada"
    page = admin_op.get("/admin/playsessions/balanceentry/").content.decode()
    assert "promo" in page and "ada" in page


def test_a_top_up_without_its_form_token_is_refused(admin_op: Client, cafe: Cafe) -> None:
    response = admin_op.post(f"/admin/playsessions/cafe/{cafe.pk}/topup/", {"amount": 50})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    cafe.refresh_from_db()
    assert cafe.balance == 1000


def revoke(client: Client, keys: list[ApiKey], **extra: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/admin/playsessions/apikey/",
        {"action": "revoke", "_selected_action": [k.pk for k in keys], **extra},
        follow=True,
    )


def test_revoke_asks_for_confirmation_first(admin_op: Client) -> None:
    game = Game.objects.create(slug="g", name="G", coins_per_minute=1)
    key = ApiKey.objects.issue(game)
    page = revoke(admin_op, [key])
    assert "Yes, revoke 1 key" in page.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None
    revoke(admin_op, [key], confirm="yes")
    key.refresh_from_db()
    assert key.revoked_at is not None
    (entry,) = AuditEntry.objects.filter(action="key_revoke")
    assert entry.actor_name == "ada" and entry.target_id == str(key.pk)


def test_revoking_a_revoked_key_says_so_and_changes_nothing(admin_op: Client) -> None:
    game = Game.objects.create(slug="g", name="G", coins_per_minute=1)
    old, live = ApiKey.objects.issue(game), ApiKey.objects.issue(game)
    revoke(admin_op, [old], confirm="yes")
    old.refresh_from_db()
    first_revocation = old.revoked_at
    confirm = revoke(admin_op, [old]).content.decode()
    assert "already revoked" in confirm and "Yes, revoke" not in confirm
    page = revoke(admin_op, [old, live], confirm="yes")
    texts = [str(m) for m in page.context["messages"]]
    assert f"Revoked 1 key(s): {live.key_id}." in texts
    assert f"Already revoked, nothing changed: {old.key_id}." in texts
    old.refresh_from_db()
    assert old.revoked_at == first_revocation
    assert AuditEntry.objects.filter(action="key_revoke").count() == 2
