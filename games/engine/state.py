"""The things in a session and the messages that go in and out of the engine: plain data.

Players, items, claims and delayed state changes round-trip through ``to_dict``/``from_dict``
(JSON-safe) as parts of :class:`~games.engine.world.World`. Nothing here imports anything else of
the engine, so conditions and actions build these without knowing the world's ruleset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STOPPED = "stopped"
STARTED = "started"
ENDED = "ended"

EVERYONE = "*"  # an event addressed to every player and every spectator
GM = "gm"  # spectators: the game master's console


@dataclass(slots=True)
class Input:
    """Something that happened since the last tick: a join, a position, an action, a GM command.

    ``sender`` is a player id, ``"gm"`` for GM commands, or None for a fresh join. ``ref`` is
    echoed on every reply so the caller can route it (e.g. to the socket that joined).
    """

    type: str
    sender: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    ref: str | None = None


@dataclass(slots=True)
class Event:
    """Something to send: ``to`` lists player ids, ``"gm"`` or ``"*"`` (everyone)."""

    to: tuple[str, ...]
    type: str  # "event" | "error" | "preflight" | "joined" | "log" | "left"
    data: dict[str, Any]
    ref: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"to": list(self.to), "type": self.type, "data": self.data, "ref": self.ref}


@dataclass(slots=True, eq=False)
class Player:
    """A human or a bot; roles live in ``state``, never in engine code."""

    id: str
    name: str
    team: str | None = None
    bot: str | None = None  # bot class id
    state: dict[str, Any] = field(default_factory=dict)
    present: bool = True
    has_pos: bool = False
    lat: float = 0.0
    lng: float = 0.0
    x: float = 0.0
    y: float = 0.0
    accuracy: float | None = None
    heading: float | None = None
    ts: float | None = None
    waypoint: tuple[float, float] | None = None  # bots: where wander is heading

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "id": self.id,
            "name": self.name,
            "team": self.team,
            "bot": self.bot,
            "state": dict(self.state),
            "present": self.present,
            "has_pos": self.has_pos,
            "lat": self.lat,
            "lng": self.lng,
            "x": self.x,
            "y": self.y,
            "accuracy": self.accuracy,
            "heading": self.heading,
            "ts": self.ts,
            "waypoint": list(self.waypoint) if self.waypoint else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Player:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        wp = d.pop("waypoint")
        return cls(**d, waypoint=tuple(wp) if wp else None)


@dataclass(slots=True, eq=False)
class Item:
    """An item in the world (``held_by`` None) or carried by a player."""

    id: str
    kind: str
    x: float
    y: float
    held_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"id": self.id, "kind": self.kind, "x": self.x, "y": self.y, "held_by": self.held_by}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Item:
        """Inverse of :meth:`to_dict`."""
        return cls(**d)


@dataclass(slots=True)
class Claim:
    """A mutual interaction waiting for its target to confirm."""

    id: str
    interaction: str
    initiator: str
    target: str
    expires: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "id": self.id,
            "interaction": self.interaction,
            "initiator": self.initiator,
            "target": self.target,
            "expires": self.expires,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Claim:
        """Inverse of :meth:`to_dict`."""
        return cls(**d)


@dataclass(slots=True)
class Delayed:
    """A pending ``set_state_delayed``: player ids and value are fixed when it is scheduled."""

    at: float
    who: list[str]
    key: str
    value: Any

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"at": self.at, "who": list(self.who), "key": self.key, "value": self.value}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Delayed:
        """Inverse of :meth:`to_dict`."""
        return cls(**d)
