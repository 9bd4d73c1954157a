"""Property tests: cycles, pause/resume, edge triggers, visibility and determinism."""

from __future__ import annotations

import json
import re
from typing import Any

from enginekit import Match, latlng
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiers import PURE_ENGINE

from games.engine import (
    GM,
    Input,
    builtin_rulesets,
    can_see,
    new_world,
    parse_ruleset,
    snapshot,
    step,
)
from games.engine import snapshots as all_snapshots
from games.engine.geometry import haversine

pytestmark = PURE_ENGINE

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def tiny(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "tiny",
        "name": "Tiny",
        "minPlayers": 1,
        "playerJoinStates": [{"targetId": None, "crossings": 0, "meets": 0}],
        "map": {
            "zones": [
                {
                    "id": "field",
                    "shape": "circle",
                    "center": [0, 0],
                    "radius": 500,
                    "placeable": True,
                },
                {
                    "id": "ring",
                    "parent": "field",
                    "shape": "circle",
                    "center": [0, 0],
                    "radius": 10,
                },
            ]
        },
    }
    doc.update(extra)
    return doc


@FAST
@given(n=st.integers(min_value=2, max_value=40), seed=st.integers(min_value=0, max_value=2**32))
def test_assign_cycle_always_makes_one_cycle_without_self_targets(n: int, seed: int) -> None:
    rs = parse_ruleset(tiny(onStart=[{"type": "assign_cycle", "key": "targetId"}]))
    m = Match(rs, seed=seed)
    ids = [m.join(f"P{i}") for i in range(n)]
    m.start()
    seen, cur = [], ids[0]
    for _ in range(n):
        nxt = m.state(cur, "targetId")
        assert nxt != cur
        seen.append(cur)
        cur = nxt
    assert cur == ids[0] and sorted(seen) == sorted(ids)


@FAST
@given(
    plan=st.lists(
        st.tuples(st.floats(min_value=0, max_value=50), st.floats(min_value=0, max_value=5000)),
        min_size=1,
        max_size=6,
    )
)
def test_pause_and_resume_never_change_the_remaining_time(plan: list[tuple[float, float]]) -> None:
    m = Match(parse_ruleset(tiny(countdownSeconds=100_000)))
    m.join("A")
    m.start()
    for run, paused in plan:
        m.tick(run)
        before = m.world.remaining()
        m.gm("gm.stop")
        m.tick(0)
        m.tick(paused)
        assert m.world.remaining() == before
        m.gm("gm.start")
        m.tick(0)
        assert m.world.remaining() == before
    assert abs(m.world.elapsed() + m.world.remaining() - 100_000) < 1e-6  # type: ignore[operator]


EDGE_RULES = [
    {
        "id": "in",
        "when": {"type": "entered_zone", "zoneId": "ring"},
        "do": [{"type": "increment_state", "key": "crossings"}],
    },
    {
        "id": "meet",
        "when": {"type": "proximity", "metres": 5},
        "do": [{"type": "increment_state", "key": "meets"}],
    },
]


@FAST
@given(path=st.lists(st.tuples(st.floats(-30, 30), st.floats(-30, 30)), min_size=1, max_size=25))
def test_edge_triggers_fire_exactly_once_per_crossing(path: list[tuple[float, float]]) -> None:
    m = Match(parse_ruleset(tiny(rules=EDGE_RULES)))
    a, b = m.join("A"), m.join("B")
    m.move(b, 0, 0)  # B stands still in the middle
    m.start()
    inside = near = False
    entries = meetings = 0
    for x, y in path:
        m.move(a, x, y)
        m.tick()
        pa, pb = m.world.players[a], m.world.players[b]
        now_in = m.world.ruleset.in_zone(m.world, "ring", pa.x, pa.y)
        now_near = haversine(pa.lat, pa.lng, pb.lat, pb.lng) <= 5
        entries += now_in and not inside
        meetings += now_near and not near
        inside, near = now_in, now_near
    assert m.state(a, "crossings") == entries
    assert m.state(a, "meets") == meetings == m.state(b, "meets")


def _hidden_positions_absent(world: Any, viewer: str, snap: dict[str, Any]) -> None:
    me = world.players[viewer]
    visible = {q.id for q in world.players.values() if q.present and can_see(world, me, q)}
    for entry in snap["players"]:
        if entry["id"] not in visible:
            assert "lat" not in entry and "lng" not in entry and entry["hidden"] is True
    for item in snap["items"]:
        if item["heldBy"] is not None and item["heldBy"] not in visible:
            assert "lat" not in item
    obj = snap["objective"]
    target = obj["target"] if obj else None
    if target and target["kind"] == "player" and target["id"] not in visible:
        assert "latlng" not in obj["target"]
    text = json.dumps(snap)
    shown = {(e.get("lat"), e.get("lng")) for e in snap["players"]} | {
        (i.get("lat"), i.get("lng")) for i in snap["items"]
    }
    for q in world.players.values():
        if q.id in visible or not q.has_pos:
            continue
        lat, lng = round(q.lat, 7), round(q.lng, 7)
        if (lat, lng) not in shown:
            assert not re.search(rf"{re.escape(str(lat))}, {re.escape(str(lng))}(?!\d)", text)


@FAST
@given(
    game=st.sampled_from(["zombie", "assassin", "capture_the_flag"]),
    seed=st.integers(0, 10_000),
    spots=st.lists(st.tuples(st.floats(-70, 70), st.floats(-35, 35)), min_size=4, max_size=8),
    ticks=st.integers(0, 4),
)
def test_visibility_never_leaks_a_hidden_players_position(
    game: str, seed: int, spots: list[tuple[float, float]], ticks: int
) -> None:
    m = Match(builtin_rulesets()[game], seed=seed)
    ids = [m.join(f"P{i}") for i in range(len(spots))]
    for pid, (x, y) in zip(ids, spots, strict=True):
        m.move(pid, x, y)
    m.start()
    for _ in range(ticks):
        m.tick()
    for pid in ids:
        _hidden_positions_absent(m.world, pid, snapshot(m.world, pid))
    gm = snapshot(m.world, GM)
    assert all("lat" in p for p in gm["players"] if m.world.players[p["id"]].has_pos)


def _play(game: str, seed: int, script: list[tuple[int, float, float]]) -> tuple[str, str]:
    world = new_world(builtin_rulesets()[game], seed=seed)
    out: list[dict[str, Any]] = []
    t = 0.0
    world, evs = step(world, t, [Input("gm.place", GM, {"origin": latlng(0, 0)})])
    joins = [Input("join", None, {"name": f"P{i}"}) for i in range(4)]
    world, evs = step(world, t, joins)
    bots = next(iter(world.ruleset.bots))
    world, evs = step(world, t, [Input("gm.bots", GM, {"classId": bots, "count": 3})])
    for i in range(4):
        world, _ = step(world, t, [Input("location", f"p{i + 1}", latlng(i * 10, 0))])
    world, evs = step(world, t, [Input("gm.start", GM, {})])
    out += [e.to_dict() for e in evs]
    for who, x, y in script:
        t += 1
        world, evs = step(world, t, [Input("location", f"p{who + 1}", latlng(x, y))])
        out += [e.to_dict() for e in evs]
        out.append(all_snapshots(world))
    return json.dumps(world.to_dict(), sort_keys=True), json.dumps(out, sort_keys=True)


@settings(max_examples=30, deadline=None)
@given(
    game=st.sampled_from(sorted(builtin_rulesets())),
    seed=st.integers(0, 2**31),
    script=st.lists(
        st.tuples(st.integers(0, 3), st.floats(-30, 30), st.floats(-30, 30)), max_size=20
    ),
)
def test_same_seed_and_inputs_give_the_same_match(
    game: str, seed: int, script: list[tuple[int, float, float]]
) -> None:
    assert _play(game, seed, script) == _play(game, seed, script)
