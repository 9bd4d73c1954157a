"""Admin: stored rulesets validated with the engine's path-exact errors; live sessions listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from gamekit import run_async

from games.engine import builtin_rulesets
from games.models import StoredRuleset
from games.runtime import Runtime

pytestmark = pytest.mark.django_db

TAG = (Path(__file__).resolve().parents[2] / "games" / "rulesets" / "tag.yaml").read_text()
TAG2 = TAG.replace("id: tag\n", "id: tag2\n").replace("name: Tag\n", "name: Tag Two\n")


@pytest.fixture
def admin_client(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_superuser("root", password="root-pass-1")
    client = Client()
    client.force_login(user)
    return client


def add(client: Client, text: str, fmt: str = "yaml") -> Any:
    return client.post(
        "/admin/games/storedruleset/add/", {"format": fmt, "text": text, "enabled": "on"}
    )


def test_valid_ruleset_is_saved_with_its_id_and_name(admin_client: Client) -> None:
    r = add(admin_client, TAG2)
    assert r.status_code == 302, r.content
    stored = StoredRuleset.objects.get()
    assert (stored.ruleset_id, stored.name) == ("tag2", "Tag Two")


def test_broken_ruleset_shows_the_exact_path_of_each_error(admin_client: Client) -> None:
    broken = TAG2.replace("radius: 80", "radius: -5").replace(
        "{type: proximity, metres: 3}", "{type: proximity, meters: 3}"
    )
    r = add(admin_client, broken)
    assert r.status_code == 200
    html = r.content.decode()
    assert "map.zones[0].radius" in html
    assert "rules[0].when.children[0]" in html
    assert not StoredRuleset.objects.exists()


def test_syntax_errors_and_builtin_ids_are_refused(admin_client: Client) -> None:
    assert b"not valid JSON" in add(admin_client, "{oops", fmt="json").content
    assert b"is a built-in game" in add(admin_client, TAG).content
    assert not StoredRuleset.objects.exists()


def test_model_save_validates_too() -> None:
    with pytest.raises(ValidationError) as exc:
        StoredRuleset(text="id: x\nname: X\nminPlayers: 0\n").save()
    assert "minPlayers" in str(exc.value)


def test_live_sessions_are_listed_read_only(
    admin_client: Client, runtime: Runtime, host: Any
) -> None:
    @run_async
    async def create() -> None:
        await runtime.create(builtin_rulesets()["tag"], host.pk)

    create()
    code = next(iter(runtime.sessions))
    r = admin_client.get("/admin/games/livesessionentry/")
    assert r.status_code == 200
    assert code in r.content.decode()
    assert admin_client.get("/admin/games/livesessionentry/add/").status_code == 403
