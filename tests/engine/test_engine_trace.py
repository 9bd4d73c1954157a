"""A randomised replay of every catalog game hashes to a pinned digest.

The engine's output is what players and the GM console receive, so a faster engine must send
the same bytes. Each game is driven from a seed through joins, walks, actions, claims, a leave
and a rejoin, a player without a position, bots and the end; after every step the events, every
viewer's snapshot (as a dict and as JSON, with and without a view radius, with and without the
map) and, every few ticks, the whole world are hashed. The digests were produced by the engine
before its snapshot and tick work was optimised; a change that alters any byte fails here.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import pytest
from tiers import PURE_ENGINE

from games.engine import (
    GM,
    Input,
    World,
    builtin_rulesets,
    new_world,
    snapshot,
    snapshot_json,
    snapshots,
    snapshots_json,
    step,
)
from games.engine.geometry import Frame

pytestmark = PURE_ENGINE


ORIGIN = (52.3702, 4.8952)
FRAME = Frame(*ORIGIN)
RADIUS = 25.0  # metres: small enough that players walking within ±40 m drop in and out of view
TICKS = 45

DIGESTS = {
    "assassin": "33e0cee930819ba873d963ea8f6c722e68d02d847e43e23baa326133fe084476",
    "bomb_tag": "e802c46adaf10e301c2e000c9078ca18f77433e82a1a349966028b85cbccf272",
    "capture_the_flag": "514d0efc4246f52b4b19c2f8c23b0db1adb338c2be0815ec64caae1b9d1c0ee0",
    "freeze_tag": "325aac74713cf87f247fc37ff68f6471cc320889f6c809041384608ed465a494",
    "king_of_the_hill": "8055c31186eb265fbceb6511aab9785cc5092bc6c03676f594498b058e281211",
    "tag": "5894441650d1e48ba972f93ef1c0c01575eaf9fc1893796a6e02bc9deda453bd",
    "zombie": "5f3275b166ac4203dfbda8290810b3f24b4fa27cf2424f6896689419e10a06b6",
}


def _latlng(x: float, y: float) -> dict[str, float]:
    lat, lng = FRAME.to_latlng(x, y)
    return {"lat": lat, "lng": lng}


class _Trace:
    def __init__(self) -> None:
        self.h = hashlib.sha256()

    def add(self, label: str, value: Any) -> None:
        self.h.update(label.encode())
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        self.h.update(text.encode())

    def world(self, w: World, tick: int) -> None:
        viewers = [p.id for p in w.players.values() if p.present and not p.bot]
        for vid in [*viewers, GM, None, "nobody"]:
            self.add(f"dict {vid}", snapshot(w, vid))
            self.add(f"dict-nomap {vid}", snapshot(w, vid, with_map=False))
            self.add(f"dict-radius {vid}", snapshot(w, vid, view_radius=RADIUS))
            self.add(f"json {vid}", snapshot_json(w, vid))
            self.add(f"json-radius {vid}", snapshot_json(w, vid, RADIUS))
        self.add("snapshots", snapshots(w))
        self.add("snapshots_json", snapshots_json(w))
        self.add("snapshots_json-radius", snapshots_json(w, RADIUS))
        if tick % 5 == 0:
            self.add("world", w.to_dict())


def _events(trace: _Trace, events: list[Any]) -> None:
    trace.add("events", [e.to_dict() for e in events])


def _play(game: str, seed: int) -> str:
    rs = builtin_rulesets()[game]
    rng = random.Random(seed)
    trace = _Trace()
    w = new_world(rs, seed=seed)
    now = 0.0

    def go(inputs: list[Input], dt: float = 1.0) -> list[Any]:
        nonlocal now
        now += dt
        _, evs = step(w, now, inputs)
        _events(trace, evs)
        return evs

    trace.world(w, 1)  # before anything is placed
    go([Input("gm.place", GM, {"origin": _latlng(0, 0)})], 0.0)
    evs = go([Input("join", None, {"name": f"P{i}"}, ref=f"r{i}") for i in range(9)], 0.0)
    ids = [str(e.data["playerId"]) for e in evs if e.type == "joined"]
    walkers = ids[:-1]  # the last one never sends a position
    bot_class = next(iter(rs.bots))
    go([Input("gm.bots", GM, {"classId": bot_class, "count": 3})], 0.0)
    pos = {pid: (rng.uniform(-40, 40), rng.uniform(-40, 40)) for pid in walkers}
    go([Input("location", pid, _latlng(*xy)) for pid, xy in pos.items()], 0.0)
    trace.world(w, 1)  # stopped, everyone placed: the GM's pre-flight checklist
    evs = go([Input("gm.start", GM, {})], 0.0)
    assert w.status == "started", [e.data for e in evs if e.type in ("preflight", "error")]
    left: str | None = None
    for tick in range(1, TICKS + 1):
        inputs: list[Input] = []
        for pid in walkers:
            if pid == left or rng.random() < 0.15:
                continue
            x, y = pos[pid]
            if rng.random() < 0.3:  # walk up to someone, so interactions come within range
                tx, ty = pos[rng.choice(walkers)]
                x, y = tx + rng.uniform(-2, 2), ty + rng.uniform(-2, 2)
            x = max(-40.0, min(40.0, x + rng.uniform(-8, 8)))
            y = max(-40.0, min(40.0, y + rng.uniform(-8, 8)))
            pos[pid] = (x, y)
            data: dict[str, Any] = _latlng(x, y)
            if rng.random() < 0.5:
                data["accuracy"] = round(rng.uniform(3, 20), 1)
                data["heading"] = round(rng.uniform(0, 359), 1)
            inputs.append(Input("location", pid, data, ref=f"l{tick}"))
        for pid in walkers:
            if pid == left:
                continue
            snap = snapshot(w, pid)
            for claim in snap["claims"]:
                answer = "confirm" if rng.random() < 0.7 else "deny"
                inputs.append(Input("action", pid, {"actionId": answer, "payload": claim}, ref="c"))
            if snap["actions"] and rng.random() < 0.6:
                a = rng.choice(snap["actions"])
                payload = {"targetId": a["targetId"]}
                inputs.append(Input("action", pid, {"actionId": a["actionId"], "payload": payload}))
        if tick == 12:
            left = walkers[1]
            inputs.append(Input("leave", left))
        if tick == 20 and left is not None:
            inputs.append(Input("join", None, {"playerId": left}, ref="back"))
        if tick == 21:
            left = None
        if tick == 30:
            inputs.append(Input("gm.message", GM, {"playerId": walkers[0], "text": "half time"}))
            key = next(iter(w.players[walkers[2]].state), None)
            if key is not None:  # a GM's state change is seen by everyone at the next tick
                value = w.players[walkers[2]].state[key]
                inputs.append(
                    Input("gm.state", GM, {"playerId": walkers[2], "key": key, "value": value})
                )
        go(inputs)
        trace.world(w, tick)
        if w.status != "started":
            break
    go([Input("gm.end", GM, {})])
    trace.world(w, 0)  # after the end everyone sees everyone
    return trace.h.hexdigest()


@pytest.mark.parametrize("game", sorted(DIGESTS))
def test_replayed_game_sends_the_same_bytes(game: str) -> None:
    assert _play(game, seed=7) == DIGESTS[game]


def test_every_catalog_game_is_replayed() -> None:
    assert sorted(DIGESTS) == sorted(builtin_rulesets())
