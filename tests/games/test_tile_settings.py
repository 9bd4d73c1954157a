"""Map tile settings: OpenStreetMap by default, empty for the grid, a bad template fails."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def _check(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GAMES_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _config(html: str) -> dict[str, Any]:
    m = re.search(r'<script id="pw-config" type="application/json">(.*?)</script>', html)
    assert m
    cfg: dict[str, Any] = json.loads(m.group(1))
    return cfg


def test_pages_get_openstreetmap_tiles_and_their_attribution_by_default(settings: Any) -> None:
    shown = subprocess.run(  # the default, outside this suite's no-internet override
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings as s; print(s.GAMES_TILE_URL)",
        ],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith(("GAMES_", "DJANGO_"))},
        capture_output=True,
        text=True,
        timeout=120,
    )
    osm = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert shown.stdout.strip().splitlines()[-1] == osm, shown.stderr
    settings.GAMES_TILE_URL = osm
    cfg = _config(Client().get("/games/play/").content.decode())
    assert cfg["tileUrl"] == osm
    assert "OpenStreetMap" in cfg["tileAttribution"]
    assert "openstreetmap.org/copyright" in cfg["tileAttribution"]


def test_an_empty_tile_url_means_the_grid(settings: Any) -> None:
    settings.GAMES_TILE_URL = ""
    assert _config(Client().get("/games/play/").content.decode())["tileUrl"] == ""


def test_a_tile_url_without_its_placeholders_stops_start_up() -> None:
    bad = _check(GAMES_TILE_URL="https://tiles.example.org/map.png")
    assert bad.returncode != 0
    assert "GAMES_TILE_URL must contain {z}, {x} and {y}" in bad.stderr
    assert _check(GAMES_TILE_URL="").returncode == 0
    ok = _check(GAMES_TILE_URL="https://tiles.example.org/{z}/{x}/{y}.png")
    assert ok.returncode == 0, ok.stderr
