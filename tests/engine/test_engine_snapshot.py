"""Per-viewer snapshots: shape, theme colours, objectives, visibility and the GM's view."""

from __future__ import annotations

import json

from enginekit import Match
from tiers import PURE_ENGINE

from games.engine import GM, Ruleset, builtin_rulesets, snapshots

pytestmark = PURE_ENGINE


def rs(name: str) -> Ruleset:
    return builtin_rulesets()[name]


def started_zombie() -> tuple[Match, str, str, str]:
    m = Match(rs("zombie"))
    zed, ann, bob = m.join("Zed"), m.join("Ann"), m.join("Bob")
    m.move(zed, -80, 0)
    m.move(ann, 80, 0)
    m.move(bob, -50, 0)
    m.start()
    return m, zed, ann, bob


def test_snapshot_is_json_with_the_required_fields() -> None:
    m, _, ann, _ = started_zombie()
    snap = json.loads(json.dumps(m.snap(ann)))
    for key in ("status", "remainingSeconds", "players", "items", "zones", "objective"):
        assert key in snap
    assert snap["status"] == "started" and snap["remainingSeconds"] == 900
    (town,) = [z for z in snap["zones"] if z["id"] == "town"]
    assert town["placed"] and len(town["geometry"]["points"]) == 4
    assert snap["you"]["id"] == ann and snap["you"]["state"]["zombie"] is False


def test_humans_do_not_see_a_distant_zombie_but_the_gm_does() -> None:
    m, zed, ann, bob = started_zombie()
    far = {p["id"]: p for p in m.snap(ann)["players"]}
    assert far[zed]["hidden"] is True and "lat" not in far[zed]
    near = {p["id"]: p for p in m.snap(bob)["players"]}  # Bob is 30 m from the zombie
    assert "lat" in near[zed]
    gm = {p["id"]: p for p in m.snap(GM)["players"]}
    assert all("lat" in p for p in gm.values())
    assert gm[ann]["state"]["zombie"] is False  # the GM sees full state


def test_marker_colours_follow_state() -> None:
    m, zed, ann, _ = started_zombie()
    colours = {p["id"]: p["colour"] for p in m.snap(GM)["players"]}
    assert colours[zed] == "#6d4c41" and colours[ann] == "#43a047"


def test_objective_text_and_target_follow_state() -> None:
    m, zed, ann, bob = started_zombie()
    m.tick()
    zobj = m.snap(zed)["objective"]
    assert zobj["text"] == "Catch the humans. 0 so far."
    assert zobj["target"]["id"] == bob and "latlng" in zobj["target"]
    assert m.snap(ann)["objective"]["text"].startswith("Survive!")


def test_other_players_see_only_public_state() -> None:
    m = Match(rs("assassin"), seed=3)
    ids = [m.join(n) for n in ("Ann", "Bob", "Cat")]
    for pid in ids:
        m.move(pid, 0, 0)
    m.start()
    snap = m.snap(ids[0])
    for p in snap["players"]:
        if p["id"] != ids[0] and not p.get("hidden"):
            assert "targetId" not in p["state"]
    assert snap["you"]["state"]["targetId"] in ids


def test_actions_list_interactions_usable_now() -> None:
    m = Match(rs("assassin"), seed=3)
    ids = [m.join(n) for n in ("Ann", "Bob", "Cat")]
    for pid in ids:
        m.move(pid, 0, 0)
    m.start()
    a = ids[0]
    (action,) = m.snap(a)["actions"]
    assert action["actionId"] == "eliminate" and action["targetId"] == m.state(a, "targetId")
    m.act(a, "eliminate", targetId=action["targetId"])
    m.tick()
    claims = m.snap(action["targetId"])["claims"]
    assert [c["from"] for c in claims] == [a]
    m.act(action["targetId"], "deny", claimId=claims[0]["claimId"])
    m.tick()
    assert not m.world.claims and m.toasts("claim_denied")


def test_snapshots_cover_every_human_and_the_gm() -> None:
    m, zed, ann, bob = started_zombie()
    m.gm("gm.bots", classId="zombie", count=2)
    m.tick()
    assert set(snapshots(m.world)) == {zed, ann, bob, GM}
