"""Lifecycle, pre-flight, runtime refusals, pause/resume, placement and serialisation."""

from __future__ import annotations

import json

from enginekit import Match, latlng
from tiers import PURE_ENGINE

from games.engine import GM, Input, Ruleset, World, builtin_rulesets, snapshot, snapshot_json, step

pytestmark = PURE_ENGINE


def rs(name: str) -> Ruleset:
    return builtin_rulesets()[name]


def test_preflight_names_every_failing_item_and_changes_nothing() -> None:
    m = Match(rs("capture_the_flag"), place=False)
    m.join("Solo")
    m.gm("gm.bots", classId="raider_red", count=1)
    m.tick(0)
    m.gm("gm.start")
    m.tick(0)
    pre = next(e for e in m.events if e.type == "preflight")
    assert pre.data["ok"] is False
    failures = "\n".join(pre.data["failures"])
    assert 'required zone "Field" is not placed' in failures
    assert 'bot class "Red raider" spawns in zone "red_base", not placed' in failures
    assert 'items[0] (red_flag) spawn at point "red_flag_home", not placed' in failures
    assert m.world.status == "stopped" and m.world.started_at is None


def test_preflight_reports_zone_area_and_player_count() -> None:
    m = Match(rs("tag"), place=False)
    m.gm("gm.place", zoneId="arena", origin=latlng(0, 0), scale=0.1)
    m.join("Solo")
    m.gm("gm.start")
    m.tick(0)
    failures = next(e for e in m.events if e.type == "preflight").data["failures"]
    assert any("under its minimum of 2000 m²" in f for f in failures)
    assert "needs at least 2 players (bots count), has 1" in failures


def test_runtime_nonsense_is_refused_with_a_reason_and_changes_nothing() -> None:
    m = Match(rs("capture_the_flag"))
    r1, b1 = m.join("Rosa"), m.join("Ben")
    m.move(r1, -60, 0)
    m.move(b1, 60, 0)
    m.start()
    before = json.dumps(m.world.to_dict(), sort_keys=True)
    m.act(r1, "fly")
    m.move(r1, 0, 30)  # inside the pond, which is not navigable
    m.gm("gm.place", zoneId="field", origin=latlng(0, 0))  # map edits need a pause
    m.gm("gm.start")
    m.pending.append(Input("gm.end", r1, {}))  # players are not the GM
    m.pending.append(Input("location", "p99", latlng(0, 0)))
    m.pending.append(Input("location", r1, {"lat": 200, "lng": 0}))
    m.pending.append(Input("teleport", r1, {}))
    m.act(r1, "take_red")
    m.now += 0  # no time passes, so the tick itself changes nothing either
    m.world, evs = step(m.world, m.now, m.pending)
    m.pending = []
    codes = [e.data["code"] for e in evs if e.type == "error"]
    assert codes == [
        "unknown_action",
        "not_navigable",
        "wrong_state",
        "wrong_state",
        "forbidden",
        "unknown_player",
        "bad_message",
        "unknown_message",
        "unknown_action",
    ]
    assert all(e.to == (r1,) or e.to == (GM,) or e.to == ("p99",) for e in evs if e.type == "error")
    after = m.world.to_dict()
    after_players = {p["id"]: (p["x"], p["y"]) for p in after["players"]}
    before_players = {p["id"]: (p["x"], p["y"]) for p in json.loads(before)["players"]}
    assert after_players == before_players
    assert after["status"] == "started"


def test_out_of_range_and_ineligible_interactions_are_refused() -> None:
    m = Match(rs("assassin"), seed=4)
    ids = [m.join(n) for n in ("Ann", "Bob", "Cat")]
    for i, pid in enumerate(ids):
        m.move(pid, i * 30, 0)
    m.start()
    a = ids[0]
    target = m.state(a, "targetId")
    not_target = next(p for p in ids if p not in (a, target))
    m.act(a, "eliminate", targetId=target)
    m.act(a, "eliminate", targetId=not_target)
    m.act(a, "confirm", claimId="c42")
    m.tick()
    codes = [e["code"] for e in m.errors()]
    assert codes == ["out_of_range", "not_eligible", "unknown_claim"]
    assert not m.world.claims


def test_gm_commands_in_the_wrong_state_are_refused() -> None:
    m = Match(rs("tag"))
    m.join("A")
    m.join("B")
    m.gm("gm.stop")
    m.tick()
    assert m.errors()[0]["code"] == "wrong_state"
    m.start()
    m.gm("gm.end")
    m.tick()
    assert m.over is not None and m.over["reason"] == "gm"
    m.gm("gm.start")
    m.move("p1", 0, 0)
    m.tick()
    assert [e["code"] for e in m.errors()] == ["wrong_state", "ended"]


def test_pause_rolls_deadline_timers_and_delayed_actions_forward() -> None:
    m = Match(rs("zombie"))
    zed, ann = m.join("Zed"), m.join("Ann")
    m.move(zed, -50, 0)
    m.move(ann, 50, 0)
    m.start()
    m.tick(4)
    assert m.world.remaining() == 896
    m.gm("gm.stop")
    m.tick(0)
    m.tick(500)  # paused for a long time
    assert m.world.remaining() == 896
    assert m.snap(ann)["remainingSeconds"] == 896
    m.gm("gm.start")
    m.tick(0)
    assert m.world.remaining() == 896
    m.tick(5)
    assert m.state(zed, "armed") is False  # 9 s of game time: still dormant
    m.tick(1)
    assert m.state(zed, "armed") is True
    assert m.world.elapsed() == 10


def test_world_round_trips_through_a_plain_dict_mid_game() -> None:
    m = Match(rs("capture_the_flag"), seed=9)
    r1, b1 = m.join("Rosa"), m.join("Ben")
    m.gm("gm.bots", classId="raider_blue", count=2)
    m.move(r1, 64, 0)
    m.move(b1, -30, 0)
    m.start()
    for _ in range(3):
        m.tick()
    data = json.loads(json.dumps(m.world.to_dict()))
    clone = World.from_dict(data)
    assert json.dumps(clone.to_dict(), sort_keys=True) == json.dumps(data, sort_keys=True)
    moves = [Input("location", r1, latlng(10, -10)), Input("location", b1, latlng(-20, 5))]
    for t in range(5):
        _, ev1 = step(m.world, m.now + t + 1, moves)
        _, ev2 = step(clone, m.now + t + 1, moves)
        assert [e.to_dict() for e in ev1] == [e.to_dict() for e in ev2]
    assert json.dumps(m.world.to_dict(), sort_keys=True) == json.dumps(
        clone.to_dict(), sort_keys=True
    )
    assert snapshot(m.world, GM) == snapshot(clone, GM)


def test_rejoin_by_id_keeps_the_same_player() -> None:
    m = Match(rs("tag"))
    a = m.join("Ann")
    m.pending.append(Input("leave", a, {}))
    m.tick(0)
    assert not m.world.players[a].present
    again = m.join("Ann", playerId=a)
    assert again == a and m.world.players[a].present
    assert m.state(a, "it") is True


def test_join_states_are_handed_out_in_join_order_with_the_last_repeating() -> None:
    m = Match(rs("freeze_tag"))
    ids = [m.join(f"P{i}") for i in range(4)]
    assert [m.state(p, "chaser") for p in ids] == [True, False, False, False]


def test_teams_are_balanced_on_join() -> None:
    m = Match(rs("capture_the_flag"))
    teams = [m.world.players[m.join(f"P{i}")].team for i in range(5)]
    assert teams == ["red", "blue", "red", "blue", "red"]


def test_placement_rotates_and_scales_zones_onto_the_map() -> None:
    m = Match(rs("capture_the_flag"), place=False)
    m.gm("gm.place", zoneId="field", origin=latlng(100, 100), rotation=90, scale=2)
    m.tick(0)
    world = m.world
    r = world.ruleset
    # The world frame is centred on the first placement. Rotated a quarter turn clockwise and
    # doubled, the red base (local x -65, west) is now 130 m north of the field's centre.
    assert r.in_zone(world, "red_base", 0, 130)
    assert not r.in_zone(world, "red_base", -130, 0)
    assert r.zone_area(world, "field") == 160 * 80 * 4
    field = next(z for z in snapshot(world, GM)["zones"] if z["id"] == "field")
    assert field["placed"] and len(field["geometry"]["points"]) == 4
    flag_home = r.point_xy(world, "blue_flag_home")
    assert flag_home is not None and abs(flag_home[0]) < 1e-6
    assert abs(flag_home[1] + 130) < 1e-6


def test_nested_zones_cannot_be_placed_on_their_own() -> None:
    m = Match(rs("king_of_the_hill"), place=False)
    m.gm("gm.place", zoneId="hill", origin=latlng(0, 0))
    m.tick(0)
    assert m.errors()[0]["code"] == "not_placeable"


def test_gm_tunable_sets_bot_speed_within_its_range() -> None:
    m = Match(rs("zombie"))
    m.gm("gm.tunable", key="zombieSpeed", value=4)
    m.gm("gm.tunable", key="zombieSpeed", value=40)
    m.gm("gm.tunable", key="nope", value=1)
    m.tick(0)
    assert m.world.bot_speeds["zombie"] == 4
    assert [e["code"] for e in m.errors()] == ["bad_message", "unknown_tunable"]


def test_gm_spawn_puts_an_item_where_asked() -> None:
    m = Match(rs("capture_the_flag"))
    m.gm("gm.spawn", kind="red_flag", at=latlng(5, 5))
    m.gm("gm.spawn", kind="gold", at=latlng(5, 5))
    m.tick(0)
    assert [e["code"] for e in m.errors()] == ["unknown_item_kind"]
    (item,) = m.world.items.values()
    assert abs(item.x - 5) < 1e-6 and abs(item.y - 5) < 1e-6


def test_snapshot_json_is_the_snapshot_encoded() -> None:
    m = Match(rs("capture_the_flag"))
    r1, b1 = m.join("Rosa"), m.join("Ben")
    m.move(r1, 10, 0)
    m.move(b1, -10, 0)
    m.start()
    m.tick()
    for viewer in (r1, b1, GM):
        assert json.loads(snapshot_json(m.world, viewer)) == json.loads(
            json.dumps(snapshot(m.world, viewer))
        )


def test_bots_never_walk_into_a_non_navigable_zone() -> None:
    m = Match(rs("capture_the_flag"), seed=5)
    r1, b1 = m.join("Rosa"), m.join("Ben")
    m.move(r1, -60, 0)
    m.move(b1, 60, 0)
    m.gm("gm.bots", classId="raider_red", count=4)
    m.gm("gm.tunable", key="redSpeed", value=5)
    m.start()
    world = m.world
    for _ in range(60):
        m.tick()
        for p in world.players.values():
            if p.bot:
                assert not world.ruleset.in_zone(world, "pond", p.x, p.y)


def test_bots_added_mid_game_are_positioned_at_once() -> None:
    m = Match(rs("zombie"))
    zed, ann = m.join("Zed"), m.join("Ann")
    m.move(zed, 0, 0)
    m.move(ann, 50, 0)
    m.start()
    m.gm("gm.bots", classId="zombie", count=2)
    m.tick()
    bots = [p for p in m.world.players.values() if p.bot]
    assert len(bots) == 2 and all(b.has_pos for b in bots)
    assert all(m.world.ruleset.in_zone(m.world, "town", b.x, b.y) for b in bots)


def test_a_players_snapshot_lists_only_the_players_within_the_view_radius() -> None:
    m = Match(rs("capture_the_flag"))
    near, mid, far, lost = m.join("Near"), m.join("Mid"), m.join("Far"), m.join("Lost")
    m.move(near, 0, 0)
    m.move(mid, 600, 600)  # 849 m away
    m.move(far, 1500, 0)
    m.start()
    m.tick()

    def listed(viewer: str, radius: float | None = 1000) -> list[str]:
        ids = [p["id"] for p in snapshot(m.world, viewer, view_radius=radius)["players"]]
        encoded = json.loads(snapshot_json(m.world, viewer, view_radius=radius))
        assert [p["id"] for p in encoded["players"]] == ids  # both paths list the same
        return ids

    assert listed(near) == [near, mid, lost]  # Far is 1.5 km away; Lost has no position yet
    assert listed(far) == [far, lost]
    assert listed(near, radius=None) == [near, mid, far, lost]
    assert listed(lost) == [near, mid, far, lost]  # no position of its own: nothing to bound by
    assert [p["id"] for p in snapshot(m.world, GM, view_radius=1000)["players"]] == [
        near,
        mid,
        far,
        lost,
    ]
    far_json = snapshot_json(m.world, near, view_radius=1000)
    assert '"Far"' not in far_json  # not even a hidden entry: nothing of a far player is sent
    m.gm("gm.end")
    m.tick()
    assert listed(near) == [near, mid, far, lost]  # the result names everyone


def test_a_player_who_joins_between_ticks_is_in_the_next_snapshot_of_everyone() -> None:
    m = Match(rs("tag"))
    ann = m.join("Ann")
    m.move(ann, 0, 0)
    m.tick()
    before = json.loads(snapshot_json(m.world, ann, view_radius=1000))  # caches this tick's
    bob = m.join("Bob")  # a join is a step of its own, between two ticks
    m.move(bob, 25, 10)
    for viewer in (ann, bob):
        got = json.loads(snapshot_json(m.world, viewer, view_radius=1000))
        assert [p["id"] for p in got["players"]] == [ann, bob], viewer
    assert [p["id"] for p in before["players"]] == [ann]
