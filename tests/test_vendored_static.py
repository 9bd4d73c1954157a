"""The browser libraries in static/vendor/ are the versions package.json pins, with licences."""

from __future__ import annotations

import json
from pathlib import Path

from tiers import REPOSITORY_FILES

pytestmark = REPOSITORY_FILES

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "static" / "vendor"


def test_vendored_copies_match_the_exact_pins_and_carry_their_licences() -> None:
    pins = json.loads((ROOT / "package.json").read_text())["dependencies"]
    assert all(v[0].isdigit() for v in pins.values()), pins  # exact versions, no ranges
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    listed = {}
    for line in (VENDOR / "VERSIONS").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split()
            listed[name] = version
    assert listed == pins
    for name, version in pins.items():
        assert lock[f"node_modules/{name}"]["version"] == version
    assert f"Leaflet {pins['leaflet']}," in (VENDOR / "leaflet" / "leaflet.js").read_text()[:200]
    for d in ("leaflet", "leaflet-geoman", "uplot"):
        licence = (VENDOR / d / "LICENSE").read_text()
        assert "Permission is hereby granted" in licence or "BSD" in licence, d
    for f in (
        "leaflet/leaflet.css",
        "leaflet/images/marker-icon.png",
        "leaflet-geoman/leaflet-geoman.css",
        "uplot/uPlot.min.css",
    ):
        assert (VENDOR / f).stat().st_size > 0, f
