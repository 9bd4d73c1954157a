"""Layers only point down: project → dashboard → sessions, games → audit (a shared leaf).

The session service and the games layer sit side by side and never import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each package and the packages it must never import.
FORBIDDEN = {
    "sessions": {"games", "dashboard"},
    "games": {"sessions", "dashboard"},
    "audit": {"sessions", "games", "dashboard", "playwave"},
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_never_imports_a_layer_above_or_beside_it(package: str) -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in imports_of(path) & FORBIDDEN[package]
    ]
    assert offences == []
