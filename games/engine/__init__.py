"""The pure game engine: rulesets as data, the world, the tick and per-viewer snapshots.

No Django and no I/O in here: time is an argument (seconds, float) and randomness comes from a
seeded generator per world, so a match replays exactly from its seed and inputs.
"""

from __future__ import annotations

from .engine import Refused, apply, is_eliminated, new_world, pause, preflight, resume, start, step
from .loader import builtin_rulesets, load_dir, load_ruleset_file
from .ruleset import Ruleset, load_ruleset_text, parse_ruleset, validate
from .schema import RulesetError
from .snapshot import can_see, snapshot, snapshot_json, snapshots, snapshots_json
from .state import ENDED, EVERYONE, GM, STARTED, STOPPED, Event, Input, Player
from .world import World

__all__ = [
    "ENDED",
    "EVERYONE",
    "GM",
    "STARTED",
    "STOPPED",
    "Event",
    "Input",
    "Player",
    "Refused",
    "Ruleset",
    "RulesetError",
    "World",
    "apply",
    "builtin_rulesets",
    "can_see",
    "is_eliminated",
    "load_dir",
    "load_ruleset_file",
    "load_ruleset_text",
    "new_world",
    "parse_ruleset",
    "pause",
    "preflight",
    "resume",
    "snapshot",
    "snapshot_json",
    "snapshots",
    "snapshots_json",
    "start",
    "step",
    "validate",
]
