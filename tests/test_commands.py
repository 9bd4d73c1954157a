"""Operator CLI: each command's --json output and its refusals."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from personas import CafePC, GameServer

from sessions.models import ApiKey, Cafe, Game

pytestmark = pytest.mark.django_db


def run(*args: str) -> dict:
    out = StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_provisioning_from_the_cli_end_to_end(clock) -> None:  # type: ignore[no-untyped-def]
    assert run("create_game", "racer", "--name", "Racer", "--coins-per-minute", "7") == {
        "slug": "racer",
        "name": "Racer",
        "coins_per_minute": 7,
    }
    key = run("issue_api_key", "racer")
    assert set(key) == {"key", "key_id", "game"} and key["game"] == "racer"
    cafe = run(
        "create_cafe",
        "Blue Cafe",
        "--network",
        "10.9.0.0/16",
        "--network",
        "2001:db8::/32",
        "--balance",
        "300",
    )
    assert cafe["balance"] == 300 and cafe["launcher_secret"]
    assert run("topup", str(cafe["cafe_id"]), "200") == {"cafe_id": cafe["cafe_id"], "balance": 500}
    pc = run("register_pc", str(cafe["cafe_id"]), "HW-1", "--hostname", "seat-1")
    assert pc["created"] is True

    from personas import open_pc

    seat = open_pc(Cafe.objects.get(pk=cafe["cafe_id"]), "HW-1")
    assert seat.launcher.pc_id == pc["pc_id"]
    game = Game.objects.get(slug="racer")
    ott = seat.ott(game)
    assert GameServer(key["key"]).verify(ott).json()["data"]["is_valid"] is True

    assert run("revoke_api_key", key["key_id"]) == {"key_id": key["key_id"], "revoked": True}
    assert GameServer(key["key"]).verify(ott).status_code == 401


def test_created_cafe_networks_are_enforced_as_cidrs(clock) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="CIDR"):
        run("create_cafe", "Bad", "--network", "10.0.0.0/33")
    assert not Cafe.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (("create_game", "Bad Slug", "--name", "x", "--coins-per-minute", "1"), "slug"),
        (("create_game", "zero", "--name", "x", "--coins-per-minute", "0"), "coins_per_minute"),
        (("issue_api_key", "nope"), "no game"),
        (("revoke_api_key", "key_missing"), "no API key"),
        (("topup", "999", "10"), "no cafe"),
        (("register_pc", "999", "HW"), "no cafe"),
    ],
)
def test_cli_refusals_name_the_problem(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not Game.objects.exists() and not ApiKey.objects.exists()


def test_topup_refuses_non_positive_amounts(pc: CafePC) -> None:
    with pytest.raises(CommandError, match="positive"):
        run("topup", str(pc.cafe.pk), "-5")
    assert pc.refresh().cafe.balance == 1000


def test_demo_data_is_idempotent_and_prints_working_keys(tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path
    out = StringIO()
    call_command("demo_data", stdout=out)
    call_command("demo_data", stdout=out)
    assert Cafe.objects.count() == 1 and Game.objects.count() == 2
    creds = json.loads((tmp_path / "demo-credentials.json").read_text())
    assert creds["operator"]["password"] in out.getvalue()
    assert ApiKey.objects.count() == 2
    for raw in creds["api_keys"].values():
        assert ApiKey.objects.resolve(raw) is not None


def test_settlement_sums_ended_sessions_per_game_and_cafe(
    server: GameServer,
    pc: CafePC,
    obby,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    from personas import open_pc

    gs = server.start(pc, obby)
    clock.at(150)
    server.end(gs)
    other = open_pc(pc.cafe, "PC-09")
    server.start(other, obby, user="2")  # still ACTIVE: not settled yet
    report = run("settlement", "--from", "2026-03-06", "--to", "2026-03-06")
    assert report["rows"] == [
        {
            "game": "obby",
            "cafe_id": pc.cafe.pk,
            "cafe": "Sunny PC Bang",
            "sessions": 1,
            "play_seconds": 150,
            "coins": 30,
        }
    ]
    assert run("settlement", "--from", "2026-03-07", "--to", "2026-03-08")["rows"] == []
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run("settlement", "--from", "March", "--to", "2026-03-08")


def test_issue_test_ott_gives_a_verifiable_token(pc: CafePC, obby, server: GameServer) -> None:  # type: ignore[no-untyped-def]
    issued = run("issue_test_ott", "obby", "--cafe", str(pc.cafe.pk), "--pc", "PC-01")
    assert issued["expires_in"] == 60
    assert issued["launcher_session_id"] == str(pc.launcher.pk)  # reuses the live launcher
    assert server.verify(issued["launch_data"]).json()["data"]["is_valid"] is True
    with pytest.raises(CommandError, match="no game"):
        run("issue_test_ott", "nope", "--cafe", str(pc.cafe.pk), "--pc", "PC-01")
