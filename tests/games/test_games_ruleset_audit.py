"""Ruleset changes in the admin are in the operator audit log, before and after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEntry
from games.models import StoredRuleset

pytestmark = pytest.mark.django_db

TAG = (Path(__file__).resolve().parents[2] / "games" / "rulesets" / "tag.yaml").read_text()
TAG2 = TAG.replace("id: tag\n", "id: tag2\n").replace("name: Tag\n", "name: Tag Two\n")


def test_adding_and_disabling_a_ruleset_is_audited(django_user_model: Any) -> None:
    user = django_user_model.objects.create_superuser("rita", password="rita-pass-1")
    client = Client()
    client.force_login(user)
    client.post(
        "/admin/games/storedruleset/add/", {"format": "yaml", "text": TAG2, "enabled": "on"}
    )
    stored = StoredRuleset.objects.get()
    client.post(f"/admin/games/storedruleset/{stored.pk}/change/", {"format": "yaml", "text": TAG2})
    added, disabled = AuditEntry.objects.filter(action="ruleset_change").order_by("id")
    assert (added.actor_name, added.before, added.after["ruleset_id"]) == ("rita", None, "tag2")
    assert disabled.changes == {"enabled": (True, False)}
