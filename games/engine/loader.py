"""Loading rulesets from files, and discovering the built-in catalog."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from .ruleset import Ruleset, load_ruleset_text
from .schema import RulesetError

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "rulesets"


def load_ruleset_file(path: str | Path) -> Ruleset:
    """Load one ``.yaml``/``.yml``/``.json`` ruleset; errors carry the file name as a prefix."""
    p = Path(path)
    fmt: Literal["yaml", "json"] = "json" if p.suffix == ".json" else "yaml"
    try:
        return load_ruleset_text(p.read_text(encoding="utf-8"), fmt)
    except RulesetError as exc:
        raise RulesetError([(f"{p.name}:{path_}", msg) for path_, msg in exc.errors]) from None


def load_dir(directory: str | Path) -> dict[str, Ruleset]:
    """Every ruleset file in a directory, by ruleset id; all files' errors are raised together."""
    found: dict[str, Ruleset] = {}
    errors: list[tuple[str, str]] = []
    for p in sorted(Path(directory).iterdir()):
        if p.suffix not in (".yaml", ".yml", ".json"):
            continue
        try:
            rs = load_ruleset_file(p)
        except RulesetError as exc:
            errors.extend(exc.errors)
            continue
        if rs.id in found:
            errors.append((f"{p.name}:id", f'duplicate ruleset id "{rs.id}"'))
            continue
        found[rs.id] = rs
    if errors:
        raise RulesetError(errors)
    return found


@cache
def _builtin() -> dict[str, Ruleset]:
    return load_dir(BUILTIN_DIR)


def builtin_rulesets() -> dict[str, Ruleset]:
    """The built-in catalog shipped in ``games/rulesets/``, validated once per process."""
    return dict(_builtin())
