"""Each catalog game played by a scripted match from start to its end."""

from __future__ import annotations

from enginekit import Match
from tiers import PURE_ENGINE

from games.engine import Ruleset, builtin_rulesets, is_eliminated, snapshot

pytestmark = PURE_ENGINE


def rs(name: str) -> Ruleset:
    return builtin_rulesets()[name]


def test_catalog_has_every_required_game_and_a_readme_line_each() -> None:
    from games.engine.loader import BUILTIN_DIR

    games = builtin_rulesets()
    required = {
        "tag",
        "zombie",
        "capture_the_flag",
        "king_of_the_hill",
        "freeze_tag",
        "assassin",
        "bomb_tag",
    }
    assert required <= set(games)
    readme = (BUILTIN_DIR / "README.md").read_text()
    for gid in games:
        assert f"`{gid}`" in readme


def test_zombie_infection_spreads_until_no_human_is_left() -> None:
    m = Match(rs("zombie"))
    zed, ann, bob = m.join("Zed"), m.join("Ann"), m.join("Bob")
    m.move(zed, 0, 0)
    m.move(ann, 1, 0)  # right next to the zombie, but zombies are dormant for 10 s
    m.move(bob, 50, 0)
    m.start()
    m.tick()
    assert m.state(ann, "zombie") is False
    for _ in range(10):
        m.tick()
    assert m.state(zed, "armed") is True
    m.move(ann, 30, 0)  # apart...
    m.tick()
    m.move(zed, 29, 0)  # ...and caught
    m.tick()
    assert m.state(ann, "zombie") is True
    m.move(ann, 49, 0)  # the new zombie catches the last human
    m.tick()
    assert m.over is not None
    assert m.over["reason"] == "all_infected"
    assert sorted(m.over["winners"]) == sorted([zed, ann, bob])


def test_zombie_humans_win_when_the_clock_runs_out() -> None:
    m = Match(rs("zombie"))
    zed, ann = m.join("Zed"), m.join("Ann")
    m.move(zed, -50, 0)
    m.move(ann, 50, 0)
    m.start()
    for _ in range(10):
        m.tick(100)
    assert m.over is not None
    assert (m.over["reason"], m.over["winners"]) == ("survivors", [ann])


def test_capture_the_flag_three_captures_win_for_red() -> None:
    m = Match(rs("capture_the_flag"))
    r1, b1 = m.join("Rosa"), m.join("Ben")
    assert m.world.players[r1].team == "red" and m.world.players[b1].team == "blue"
    m.move(r1, -65, 0)
    m.move(b1, 65, 0)
    m.start()
    flags = {i.kind: i for i in m.world.items.values()}
    assert set(flags) == {"red_flag", "blue_flag"}
    for n in range(3):
        m.move(r1, 0, -20)
        m.move(b1, 0, 20)  # blue keeps away
        m.tick()
        m.move(r1, 64, 0)  # over the blue flag: automatic pickup
        m.tick()
        assert m.state(r1, "carrying") is True
        blue = next(i for i in m.world.items.values() if i.kind == "blue_flag")
        assert blue.held_by == r1
        m.move(r1, 0, -20)
        m.tick()
        assert (blue.x, blue.y) == (m.world.players[r1].x, m.world.players[r1].y)
        m.move(r1, -62, 0)  # home
        m.tick()
        assert m.state(r1, "captures") == n + 1
        if n < 2:
            assert m.state(r1, "carrying") is False
            home = next(i for i in m.world.items.values() if i.kind == "blue_flag")
            assert home.held_by is None and abs(home.x - 65) < 1e-6
    assert m.over is not None
    assert m.over["reason"] == "three_captures" and m.over["winners"] == [r1]
    assert m.over["winnerTeams"] == ["red"]


def test_capture_the_flag_tagging_the_carrier_sends_the_flag_home() -> None:
    m = Match(rs("capture_the_flag"))
    r1, b1 = m.join("Rosa"), m.join("Ben")
    m.move(r1, 64, 0)
    m.move(b1, 30, 0)
    m.start()
    assert m.state(r1, "carrying") is True
    m.move(r1, 31, 0)  # runs into the blue defender
    m.tick()
    assert m.state(r1, "carrying") is False
    blue = next(i for i in m.world.items.values() if i.kind == "blue_flag")
    assert blue.held_by is None and abs(blue.x - 65) < 1e-6


def test_king_of_the_hill_scores_only_while_alone_and_crowns_at_thirty() -> None:
    m = Match(rs("king_of_the_hill"))
    ann, bob = m.join("Ann"), m.join("Bob")
    m.move(ann, 0, 0)
    m.move(bob, 30, 0)
    m.start()
    assert m.state(ann, "onHill") is True
    for _ in range(10):
        m.tick()
    assert m.state(ann, "score") == 10
    m.move(bob, 2, 0)  # contested: nobody scores
    for _ in range(5):
        m.tick()
    assert m.state(ann, "score") == 10 and m.state(bob, "score") == 0
    m.move(ann, 40, 0)
    for _ in range(29):
        m.tick()
    assert m.over is None
    m.tick()
    assert m.over is not None
    assert (m.over["reason"], m.over["winners"]) == ("crowned", [bob])
    assert m.over["scores"][bob] == 30


def test_freeze_tag_thaw_then_all_frozen_ends_for_the_chaser() -> None:
    m = Match(rs("freeze_tag"))
    cha, ann, bob = m.join("Chase"), m.join("Ann"), m.join("Bob")
    m.move(cha, 0, 0)
    m.move(ann, 20, 0)
    m.move(bob, -20, 0)
    m.start()
    m.move(cha, 19, 0)
    m.tick()
    assert m.state(ann, "frozen") is True
    m.move(ann, 60, 0)  # frozen players may not leave the yard
    m.tick()
    assert m.errors()[0]["code"] == "confined"
    m.move(ann, 21, 0)  # but they may shuffle inside it
    m.move(cha, 0, 30)
    m.move(bob, 22, 0)  # Bob thaws Ann
    m.tick()
    assert m.state(ann, "frozen") is False and m.state(bob, "thaws") == 1
    m.move(cha, 22, 1)  # the chaser freezes both
    m.tick()
    assert m.over is not None
    assert (m.over["reason"], m.over["winners"]) == ("all_frozen", [cha])


def test_assassin_targets_form_a_cycle_and_the_last_one_standing_wins() -> None:
    m = Match(rs("assassin"), seed=7)
    ids = [m.join(n) for n in ("Ann", "Bob", "Cat", "Dan")]
    for i, pid in enumerate(ids):
        m.move(pid, i * 40 - 60, 0)
    m.start()
    targets = {pid: m.state(pid, "targetId") for pid in ids}
    assert sorted(targets.values()) == sorted(ids) and all(t != p for p, t in targets.items())
    hunter = ids[0]
    while len([p for p in ids if m.state(p, "alive")]) > 1:
        victim = m.state(hunter, "targetId")
        v = m.world.players[victim]
        m.move(hunter, v.x + 2, v.y)  # walk up to the target
        m.tick()
        m.act(hunter, "eliminate", targetId=victim)
        m.tick()
        claim = next(
            c for c in m.toasts("claim") if c["from"] == hunter and c["claimId"] in m.world.claims
        )
        m.act(victim, "confirm", claimId=claim["claimId"])
        m.tick()
        assert m.state(victim, "alive") is False
        assert is_eliminated(m.world, v)
    assert m.over is not None
    assert (m.over["reason"], m.over["winners"]) == ("last_standing", [hunter])
    assert m.state(hunter, "kills") == 3


def test_assassin_unconfirmed_claims_expire() -> None:
    m = Match(rs("assassin"), seed=7)
    ids = [m.join(n) for n in ("Ann", "Bob", "Cat")]
    for pid in ids:
        m.move(pid, 0, 0)
    m.start()
    hunter = ids[0]
    victim = m.state(hunter, "targetId")
    m.act(hunter, "eliminate", targetId=victim)
    m.tick()
    assert len(m.world.claims) == 1
    m.tick(21)
    assert not m.world.claims
    assert m.toasts("claim_expired")
    assert m.state(victim, "alive") is True


def test_bomb_tag_passes_the_bomb_and_the_fuse_knocks_players_out() -> None:
    m = Match(rs("bomb_tag"), seed=2)
    ann, bob, cat = m.join("Ann"), m.join("Bob"), m.join("Cat")
    m.move(ann, 0, 0)
    m.move(bob, 20, 0)
    m.move(cat, -20, 0)
    m.start()
    for _ in range(5):
        m.tick()
    assert m.state(ann, "fuse") == 25
    m.move(ann, 19, 0)
    m.tick()
    assert m.state(bob, "hasBomb") is True and m.state(ann, "hasBomb") is False
    assert m.state(bob, "fuse") == 24  # Ann's fuse carried over, then burnt on
    m.move(ann, -10, 10)
    for _ in range(25):
        m.tick()
    assert m.state(bob, "alive") is False
    holder = next(p for p in (ann, cat) if m.state(p, "hasBomb"))
    assert m.state(holder, "fuse") == 29  # a fresh 30 s fuse, burning since
    for _ in range(30):
        m.tick()
    assert m.over is not None
    survivor = ann if holder == cat else cat
    assert (m.over["reason"], m.over["winners"]) == ("last_standing", [survivor])
    snap = snapshot(m.world, survivor)
    assert snap["status"] == "ended" and snap["result"]["winners"] == [survivor]
