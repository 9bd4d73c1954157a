"""A small driver for scripted matches: players move in metres around a fixed origin."""

from __future__ import annotations

from typing import Any

from games.engine import GM, Event, Input, Ruleset, World, new_world, snapshot, step
from games.engine.geometry import Frame

ORIGIN = (52.3702, 4.8952)  # lat, lng; any place works
FRAME = Frame(*ORIGIN)


def latlng(x: float, y: float) -> dict[str, float]:
    """Latitude/longitude of metres east/north of the origin."""
    lat, lng = FRAME.to_latlng(x, y)
    return {"lat": lat, "lng": lng}


class Match:
    """Drives one world: queue inputs, then ``tick`` advances the clock and steps."""

    def __init__(self, ruleset: Ruleset, seed: int = 1, place: bool = True):
        self.world: World = new_world(ruleset, seed=seed, now=0.0)
        self.now = 0.0
        self.pending: list[Input] = []
        self.events: list[Event] = []
        self.all_events: list[Event] = []
        if place:
            self.gm("gm.place", origin=latlng(0, 0))
            self.tick(0)

    # inputs
    def join(self, name: str, **data: Any) -> str:
        self.world, evs = step(
            self.world, self.now, [Input("join", None, {"name": name, **data}, ref=name)]
        )
        self._record(evs)
        joined = [e for e in evs if e.type == "joined"]
        assert joined, [e.data for e in evs]
        return str(joined[0].data["playerId"])

    def move(self, pid: str, x: float, y: float) -> None:
        self.pending.append(Input("location", pid, latlng(x, y)))

    def act(self, pid: str, action_id: str, **payload: Any) -> None:
        self.pending.append(Input("action", pid, {"actionId": action_id, "payload": payload}))

    def gm(self, cmd: str, **data: Any) -> None:
        self.pending.append(Input(cmd, GM, data))

    def tick(self, dt: float = 1.0) -> list[Event]:
        self.now += dt
        inputs, self.pending = self.pending, []
        self.world, evs = step(self.world, self.now, inputs)
        self._record(evs)
        return evs

    def start(self) -> list[Event]:
        self.gm("gm.start")
        evs = self.tick(0)
        pre = [e for e in evs if e.type == "preflight"]
        assert pre and pre[0].data["ok"], pre[0].data if pre else evs
        return evs

    def _record(self, evs: list[Event]) -> None:
        self.events = evs
        self.all_events.extend(evs)

    # reading
    def state(self, pid: str, key: str) -> Any:
        return self.world.players[pid].state.get(key)

    def errors(self) -> list[dict[str, Any]]:
        return [e.data for e in self.events if e.type == "error"]

    def toasts(self, kind: str = "toast") -> list[dict[str, Any]]:
        return [
            e.data["event"]
            for e in self.all_events
            if e.type == "event" and e.data["event"]["type"] == kind
        ]

    def snap(self, viewer: str | None = None) -> dict[str, Any]:
        return snapshot(self.world, viewer)

    @property
    def over(self) -> dict[str, Any] | None:
        return self.world.result
