"""The client as a game-server team gets it: its wheel, installed in a fresh virtualenv.

The wheel is built from a copy of `playwave_client/` (so nothing else of the repository can leak
in), installed with pip into a virtualenv under tmp_path, and a script run from tmp_path with
that virtualenv's Python — the repository is not on its path — plays a launcher and a game
server against a live test server: start, OTT, verify, heartbeat, end.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest
from conftest import wait_for_server_connections_to_close
from django.utils import timezone
from personas import GameWithKey, make_game
from tiers import CLIENT_WHEEL

from sessions import billing
from sessions.models import Cafe, GameSession, LauncherSession

pytestmark = [pytest.mark.django_db(transaction=True), CLIENT_WHEEL]

REPO = Path(__file__).resolve().parents[2]
CLIENT_PROJECT = REPO / "playwave_client"

CLIENT_SCRIPT = textwrap.dedent(
    """
    import asyncio, importlib.util, json, sys

    import playwave_client
    from playwave_client import GameServerClient, LauncherClient, PlayerState

    url, key_id, secret, game_key = sys.argv[1:5]


    async def main() -> dict:
        launcher = LauncherClient(
            url, key_id, secret, hardware_id="PC-WHEEL", internal_ip="192.168.0.50",
            hostname="seat-50",
        )
        signed_in = await launcher.start()
        issued = await launcher.issue_ott("obby")
        server = GameServerClient(url, game_key)
        player = await server.join("4242", issued.launch_data)
        assert player.state is PlayerState.ACTIVE, player.refusal
        beat = await server.heartbeat_once("4242")
        await server.leave("4242")
        await launcher.end()
        await server.aclose()
        await launcher.aclose()
        return {
            "games": sorted(g.game_id for g in signed_in.games),
            "game_session_id": player.game_session_id,
            "heartbeat": beat.result,
            "end": player.end_answer,
            "state": player.state.value,
        }


    result = asyncio.run(main())
    result["client_file"] = playwave_client.__file__
    result["server_modules"] = sorted(
        name for name in ("sessions", "games", "playwave", "django")
        if importlib.util.find_spec(name) is not None or name in sys.modules
    )
    print(json.dumps(result))
    """
)


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(  # noqa: S603 - our own interpreter and pip
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(wheel, python): the client's wheel and a fresh virtualenv's Python it is installed in."""
    root = tmp_path_factory.mktemp("client-wheel")
    source = root / "source"
    shutil.copytree(
        CLIENT_PROJECT,
        source,
        ignore=shutil.ignore_patterns("__pycache__", "build", "dist", "*.egg-info"),
    )
    wheels = root / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", wheels, source, cwd=root)
    (wheel,) = wheels.glob("*.whl")
    venv = root / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=root)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--disable-pip-version-check", wheel, cwd=root)
    yield wheel, python


def test_wheel_holds_the_client_alone_and_needs_only_httpx(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    assert metadata["Name"] == "playwave-client"
    requires = [r.split(";")[0] for r in metadata.get_all("Requires-Dist") or []]
    assert [r.split(">")[0].split("=")[0].split("<")[0].strip() for r in requires] == ["httpx"]
    packaged = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert packaged == {"playwave_client"}
    assert "playwave_client/py.typed" in names
    assert "playwave_client/signing.py" in names


def test_installed_client_plays_a_session_against_a_live_server(
    installed: tuple[Path, Path], live_server: Any, tmp_path: Path
) -> None:
    cafe = billing.create_cafe(
        "Wheel PC Bang", ["127.0.0.0/8", "::1/128"], balance=10_000, now=timezone.now()
    )
    obby: GameWithKey = make_game("obby", "Mega Obby", 10)
    make_game("tycoon", "Cafe Tycoon", 5)
    _, python = installed
    script = tmp_path / "play.py"
    script.write_text(CLIENT_SCRIPT)
    done = subprocess.run(  # noqa: S603 - the fresh virtualenv's Python
        [
            str(python),
            "-I",  # isolated: no PYTHONPATH, no user site, not even the script's folder first
            str(script),
            live_server.url,
            cafe.launcher_key_id,
            cafe.launcher_secret,
            obby.key,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    wait_for_server_connections_to_close()
    assert done.returncode == 0, done.stderr
    played = json.loads(done.stdout.strip().splitlines()[-1])
    assert played["games"] == ["obby", "tycoon"]
    assert (played["heartbeat"], played["end"], played["state"]) == ("OK", "SUCCESS", "ENDED")
    assert Path(played["client_file"]).is_relative_to(python.parents[1])
    assert played["server_modules"] == []
    row = GameSession.objects.get(pk=played["game_session_id"].removeprefix("gs_"))
    assert (row.state, row.end_reason, row.heartbeat_count) == ("ENDED", "normal", 1)
    assert row.provider_user_id == "4242"
    assert LauncherSession.objects.get(cafe=cafe).status == "closed"
    assert Cafe.objects.get(pk=cafe.pk).balance < 10_000
