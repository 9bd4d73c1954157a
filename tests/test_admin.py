"""The operator admin: keys shown once, top-up through the ledger, ending sessions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from personas import CafePC, GameServer, GameWithKey, ledger_balanced, session_row

from sessions.models import ApiKey, Cafe, Game, sha256_hex

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator() -> Client:
    user = User.objects.create_superuser("op", "op@example.com", "pw-for-tests-only")
    client = Client()
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]]


def test_issuing_a_key_in_the_admin_shows_the_raw_key_once(
    operator: Client, obby: GameWithKey
) -> None:
    response = operator.post(
        "/admin/playsessions/game/",
        {"action": "issue_key", "_selected_action": [obby.game.pk]},
        follow=True,
    )
    (message,) = messages_of(response)
    raw = message.split(": ", 1)[1].split(" ", 1)[0]
    assert ApiKey.objects.filter(digest=sha256_hex(raw), game=obby.game).exists()
    page = operator.get(f"/admin/playsessions/game/{obby.game.pk}/change/")
    assert raw not in page.content.decode()


def test_new_key_from_the_admin_works_on_the_api(
    operator: Client, obby: GameWithKey, pc: CafePC
) -> None:
    response = operator.post(
        "/admin/playsessions/apikey/add/", {"game": obby.game.pk, "label": "eu"}, follow=True
    )
    (message,) = [m for m in messages_of(response) if "copy it now" in m]
    raw = message.split(": ", 1)[1].split(" ", 1)[0]
    assert GameServer(raw).verify(pc.ott(obby)).json()["data"]["is_valid"] is True


def test_revoking_a_key_in_the_admin_refuses_it_at_once(
    operator: Client, obby: GameWithKey, pc: CafePC, server: GameServer
) -> None:
    gs = server.start(pc, obby)
    key = ApiKey.objects.get(game=obby.game)
    operator.post(
        "/admin/playsessions/apikey/",
        {"action": "revoke", "_selected_action": [key.pk], "confirm": "yes"},
    )
    response = server.heartbeat(gs)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_API_KEY"


def test_top_up_in_the_admin_writes_the_ledger(operator: Client, cafe: Cafe) -> None:
    page = operator.get(f"/admin/playsessions/cafe/{cafe.pk}/topup/")
    assert page.status_code == 200
    token = page.context["form"]["token"].value()
    operator.post(
        f"/admin/playsessions/cafe/{cafe.pk}/topup/",
        {"amount": 250, "note": "cash", "token": token},
    )
    cafe.refresh_from_db()
    assert cafe.balance == 1250
    assert cafe.ledger.filter(kind="topup", amount=250, note="cash").exists()
    assert ledger_balanced(cafe)


def test_bad_top_up_changes_nothing(operator: Client, cafe: Cafe) -> None:
    response = operator.post(f"/admin/playsessions/cafe/{cafe.pk}/topup/", {"amount": -5})
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 1" in response.content.decode()
    cafe.refresh_from_db()
    assert cafe.balance == 1000


def test_creating_a_cafe_in_the_admin_shows_its_launcher_secret_once(operator: Client) -> None:
    response = operator.post(
        "/admin/playsessions/cafe/add/",
        {
            "name": "Night Owl",
            "status": "active",
            "networks-TOTAL_FORMS": 1,
            "networks-INITIAL_FORMS": 0,
            "networks-0-cidr": "192.168.7.0/24",
            "pcs-TOTAL_FORMS": 0,
            "pcs-INITIAL_FORMS": 0,
        },
        follow=True,
    )
    cafe = Cafe.objects.get(name="Night Owl")
    assert any(cafe.launcher_secret in m for m in messages_of(response))
    assert cafe.allows_ip("192.168.7.20") and not cafe.allows_ip("192.168.8.1")


def test_bad_network_in_the_admin_is_refused(operator: Client) -> None:
    response = operator.post(
        "/admin/playsessions/cafe/add/",
        {
            "name": "Typo Cafe",
            "status": "active",
            "networks-TOTAL_FORMS": 1,
            "networks-INITIAL_FORMS": 0,
            "networks-0-cidr": "10.0.0.300/24",
            "pcs-TOTAL_FORMS": 0,
            "pcs-INITIAL_FORMS": 0,
        },
    )
    assert "is not a network in CIDR form" in response.content.decode()
    assert not Cafe.objects.filter(name="Typo Cafe").exists()


def test_ending_a_session_from_the_admin_is_recorded_as_an_operator_end(
    operator: Client, server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)
    operator.post(
        "/admin/playsessions/gamesession/",
        {"action": "end_sessions", "_selected_action": [gs[3:]]},
    )
    row = session_row(gs)
    assert (row.state, row.end_reason) == ("ENDED", "operator")
    answer = server.heartbeat(gs)
    assert answer.status_code == 410 and answer.json()["error"]["code"] == "SESSION_ENDED"
    assert server.end(gs).json()["error"]["code"] == "ALREADY_ENDED"


def test_session_list_filters_by_state_and_reason(
    operator: Client, server: GameServer, pc: CafePC, pc2: CafePC, obby: GameWithKey
) -> None:
    live = server.start(pc, obby)
    ended = server.start(pc2, obby, user="2")
    server.end(ended)
    page = operator.get("/admin/playsessions/gamesession/?state=ACTIVE").content.decode()
    assert live in page and ended not in page
    page = operator.get("/admin/playsessions/gamesession/?end_reason=normal").content.decode()
    assert ended in page and live not in page


def test_game_rate_must_be_positive(operator: Client) -> None:
    operator.post(
        "/admin/playsessions/game/add/",
        {
            "slug": "free",
            "name": "Free",
            "coins_per_minute": 0,
            "api_keys-TOTAL_FORMS": 0,
            "api_keys-INITIAL_FORMS": 0,
        },
    )
    assert not Game.objects.filter(slug="free").exists()
