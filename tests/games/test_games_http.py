"""The games HTTP API and pages: catalog, hosting (auth and CSRF), GM console, player page."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from games import codes
from games.models import StoredRuleset
from games.runtime import Runtime

pytestmark = pytest.mark.django_db

BUILTINS = {"assassin", "bomb_tag", "capture_the_flag", "freeze_tag", "king_of_the_hill", "tag"}


def post(client: Client, body: Any, **extra: Any) -> Any:
    return client.post(
        "/games/api/sessions", json.dumps(body), content_type="application/json", **extra
    )


def csrf_client(user: Any) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/games/gm/")  # the console sets the CSRF cookie
    return client, client.cookies["csrftoken"].value


def test_catalog_lists_the_builtin_games() -> None:
    r = Client().get("/games/api/catalog")
    assert r.status_code == 200
    games = {g["id"]: g for g in r.json()["games"]}
    assert BUILTINS | {"zombie"} <= set(games)
    assert games["tag"]["name"] == "Tag" and games["tag"]["minPlayers"] == 2


def test_catalog_includes_enabled_database_rulesets_only() -> None:
    text = "id: relay\nname: Relay\nminPlayers: 1\n"
    StoredRuleset.objects.create(text=text)
    StoredRuleset.objects.create(text="id: hidden\nname: Hidden\n", enabled=False)
    ids = {g["id"] for g in Client().get("/games/api/catalog").json()["games"]}
    assert "relay" in ids and "hidden" not in ids


def test_create_session_needs_a_signed_in_user(runtime: Runtime) -> None:
    r = post(Client(), {"game": "tag"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_signed_in"
    assert runtime.sessions == {}


def test_create_session_needs_staff(runtime: Runtime, django_user_model: Any) -> None:
    client = Client()
    client.force_login(django_user_model.objects.create_user("pat", password="pw-123-xyz"))
    r = post(client, {"game": "tag"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_create_session_needs_the_csrf_token(runtime: Runtime, host: Any) -> None:
    client, _ = csrf_client(host)
    assert post(client, {"game": "tag"}).status_code == 403
    assert runtime.sessions == {}


def test_staff_user_hosts_a_session_and_gets_code_and_urls(runtime: Runtime, host: Any) -> None:
    client, token = csrf_client(host)
    r = post(client, {"game": "tag"}, HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 201, r.content
    body = r.json()
    assert codes.is_code(body["code"])
    assert body["gm_url"] == f"http://testserver/games/gm/{body['code']}/"
    assert body["player_url"] == f"http://testserver/games/play/{body['code']}/"
    s = runtime.get(body["code"])
    assert s is not None and s.game_id == "tag" and s.host_id == host.pk


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"game": "nope"}, 404, "unknown_game"),
        ({"game": 3}, 400, "bad_request"),
        ({"game": "tag", "extra": 1}, 400, "bad_request"),
        ("not an object", 400, "bad_request"),
    ],
)
def test_create_session_refuses_bad_bodies(
    runtime: Runtime, host: Any, body: Any, status: int, code: str
) -> None:
    client = Client()
    client.force_login(host)
    r = post(client, body)
    assert r.status_code == status and r.json()["error"]["code"] == code
    assert runtime.sessions == {}


def test_create_session_is_post_only(host: Any) -> None:
    client = Client()
    client.force_login(host)
    assert client.get("/games/api/sessions").status_code == 405


def test_gm_console_needs_staff_sign_in(host: Any) -> None:
    r = Client().get("/games/gm/")
    assert r.status_code == 302 and "/admin/login/" in r["Location"]
    client = Client()
    client.force_login(host)
    r = client.get("/games/gm/shon/")
    assert r.status_code == 200
    assert b'"code": "SHON"' in r.content


def test_player_page_is_public_and_everything_is_served_locally() -> None:
    r = Client().get("/games/play/zoot/")
    assert r.status_code == 200
    html = r.content.decode()
    assert '"code": "ZOOT"' in html
    # Scripts, styles and icons are all local (map tiles are a setting, GAMES_TILE_URL).
    refs = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html)
    assert refs and all(ref.startswith("/static/") for ref in refs), refs
    for asset in (
        "/static/games/map.js",
        "/static/games/play.js",
        "/static/games/games.css",
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/favicon.ico",
    ):
        assert asset in html
        served = Client().get(asset)
        assert served.status_code == 200
        served.close()
