"""The mutable state of one session: its ruleset, players, items, placement and timers.

Everything here is plain data (its parts are in ``state.py``) that round-trips through
:meth:`World.to_dict` and :meth:`World.from_dict` (JSON-safe), so the live layer can snapshot a
running match and restore it elsewhere. Time is always seconds as a float, chosen by the
caller (any monotonic or wall clock); the engine never reads a clock itself.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from .geometry import Frame, Placement
from .ruleset import Ruleset, parse_ruleset
from .state import STOPPED, Claim, Delayed, Item, Player


@dataclass(slots=True)
class World:
    """One session: status, players, items, map placement, timers and edge-trigger memory."""

    ruleset: Ruleset
    seed: int
    rng: random.Random
    status: str = STOPPED
    now: float = 0.0
    started_at: float | None = None  # first start
    last_tick: float | None = None
    paused_at: float | None = None
    # Game time is clock_base plus (now - clock_at) while running; clock_at is None while frozen
    # (paused or ended). Freezing and thawing this way keeps the remaining time bit-for-bit equal
    # across a pause, where adding and subtracting the paused span would drift in the last digit.
    clock_base: float = 0.0
    clock_at: float | None = None
    tick_no: int = 0
    players: dict[str, Player] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    frame: Frame | None = None
    placements: dict[str, Placement] = field(default_factory=dict)  # root zone id -> placement
    map_placement: Placement | None = None  # for zones and points not anchored to a placed zone
    bot_counts: dict[str, int] = field(default_factory=dict)
    bot_speeds: dict[str, float] = field(default_factory=dict)
    timers: list[float] = field(default_factory=list)  # next fire time per tick condition
    delayed: list[Delayed] = field(default_factory=list)
    claims: dict[str, Claim] = field(default_factory=dict)
    membership: dict[str, list[str]] = field(default_factory=dict)  # player -> tracked zones
    in_range: dict[str, list[list[str]]] = field(default_factory=dict)  # metres -> pairs
    level_true: dict[str, list[str]] = field(default_factory=dict)  # rule id -> binding keys
    objectives: dict[str, dict[str, Any]] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    log: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    map_version: int = 0  # bumped on placement, so snapshot caches know to rebuild zones
    # Per-tick caches for snapshots; never serialised.
    cache: dict[str, Any] = field(default_factory=dict)

    def next_id(self, prefix: str) -> str:
        """A fresh id (``p1``, ``b1``, ``i1``, ``c1`` …), stable across serialisation."""
        n = self.counters.get(prefix, 0) + 1
        self.counters[prefix] = n
        return f"{prefix}{n}"

    def active(self) -> list[Player]:
        """Present players (humans and bots) in join order."""
        return [p for p in self.players.values() if p.present]

    def remaining(self) -> float | None:
        """Seconds left on the countdown (frozen while paused), or None without one."""
        total = self.ruleset.spec.countdown_seconds
        if total is None:
            return None
        return max(0.0, total - self.elapsed())

    def elapsed(self) -> float:
        """Seconds of game time played; paused time does not count."""
        if self.clock_at is None:
            return self.clock_base
        return self.clock_base + max(0.0, self.now - self.clock_at)

    def latlng(self, x: float, y: float) -> tuple[float, float]:
        """Latitude/longitude of world metres (the frame exists once anything is placed)."""
        assert self.frame is not None  # noqa: S101 - callers only project placed things
        return self.frame.to_latlng(x, y)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe snapshot of the whole session, ruleset document included."""
        version, internal, gauss = self.rng.getstate()
        return {
            "ruleset": self.ruleset.source,
            "seed": self.seed,
            "rng": [version, list(internal), gauss],
            "status": self.status,
            "now": self.now,
            "started_at": self.started_at,
            "last_tick": self.last_tick,
            "paused_at": self.paused_at,
            "clock_base": self.clock_base,
            "clock_at": self.clock_at,
            "tick_no": self.tick_no,
            "players": [p.to_dict() for p in self.players.values()],
            "items": [i.to_dict() for i in self.items.values()],
            "frame": [self.frame.lat0, self.frame.lng0] if self.frame else None,
            "placements": {k: v.to_dict() for k, v in self.placements.items()},
            "map_placement": self.map_placement.to_dict() if self.map_placement else None,
            "bot_counts": dict(self.bot_counts),
            "bot_speeds": dict(self.bot_speeds),
            "timers": list(self.timers),
            "delayed": [d.to_dict() for d in self.delayed],
            "claims": [c.to_dict() for c in self.claims.values()],
            "membership": {k: list(v) for k, v in self.membership.items()},
            "in_range": {k: [list(p) for p in v] for k, v in self.in_range.items()},
            "level_true": {k: list(v) for k, v in self.level_true.items()},
            "objectives": dict(self.objectives),
            "result": self.result,
            "log": list(self.log),
            "counters": dict(self.counters),
            "map_version": self.map_version,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], ruleset: Ruleset | None = None) -> World:
        """Restore a world; the embedded ruleset is re-validated unless one is passed in."""
        rs = ruleset if ruleset is not None else parse_ruleset(d["ruleset"])
        rng = random.Random()  # noqa: S311 - game randomness, replayable by design
        version, internal, gauss = d["rng"]
        rng.setstate((version, tuple(internal), gauss))
        frame = Frame(*d["frame"]) if d["frame"] else None
        return cls(
            ruleset=rs,
            seed=d["seed"],
            rng=rng,
            status=d["status"],
            now=d["now"],
            started_at=d["started_at"],
            last_tick=d["last_tick"],
            paused_at=d["paused_at"],
            clock_base=d["clock_base"],
            clock_at=d["clock_at"],
            tick_no=d["tick_no"],
            players={p["id"]: Player.from_dict(p) for p in d["players"]},
            items={i["id"]: Item.from_dict(i) for i in d["items"]},
            frame=frame,
            placements={k: Placement.from_dict(v) for k, v in d["placements"].items()},
            map_placement=Placement.from_dict(d["map_placement"]) if d["map_placement"] else None,
            bot_counts=dict(d["bot_counts"]),
            bot_speeds=dict(d["bot_speeds"]),
            timers=list(d["timers"]),
            delayed=[Delayed.from_dict(x) for x in d["delayed"]],
            claims={c["id"]: Claim.from_dict(c) for c in d["claims"]},
            membership={k: list(v) for k, v in d["membership"].items()},
            in_range={k: [list(p) for p in v] for k, v in d["in_range"].items()},
            level_true={k: list(v) for k, v in d["level_true"].items()},
            objectives=dict(d["objectives"]),
            result=d["result"],
            log=list(d["log"]),
            counters=dict(d["counters"]),
            map_version=d["map_version"],
        )
