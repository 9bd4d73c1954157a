"""Tag played through several hand-offs to the end of the clock."""

from __future__ import annotations

from enginekit import Match
from tiers import PURE_ENGINE

from games.engine import builtin_rulesets

pytestmark = PURE_ENGINE


def test_tag_hands_off_it_on_contact_and_ends_when_time_is_up() -> None:
    m = Match(builtin_rulesets()["tag"])
    ann, bob, cat = m.join("Ann"), m.join("Bob"), m.join("Cat")
    assert m.state(ann, "it") is True and m.state(bob, "it") is False
    m.move(ann, 0, 0)
    m.move(bob, 20, 0)
    m.move(cat, -20, 0)
    m.start()
    assert m.toasts("countdown")[0]["seconds"] == 3

    m.move(ann, 18, 0)  # Ann reaches Bob
    m.tick()
    assert (m.state(ann, "it"), m.state(bob, "it")) == (False, True)
    assert "Ann tagged you. You're it!" in [t["text"] for t in m.toasts()]

    m.move(ann, 18, 1)  # still together: no tag-back until they part
    m.tick()
    assert m.state(bob, "it") is True

    m.move(bob, -18, 0)  # Bob reaches Cat
    m.tick()
    assert (m.state(bob, "it"), m.state(cat, "it")) == (False, True)

    m.move(cat, 17, 0)  # Cat reaches Ann and Bob moves away
    m.move(bob, -40, 0)
    m.tick()
    assert (m.state(cat, "it"), m.state(ann, "it")) == (False, True)
    assert m.state(ann, "tags") == 1 and m.state(bob, "tags") == 1 and m.state(cat, "tags") == 1
    assert [e["text"] for e in m.world.log if "tagged" in e["text"]] == [
        "Ann tagged Bob",
        "Bob tagged Cat",
        "Cat tagged Ann",
    ]

    for _ in range(20):
        m.tick(30)
    assert m.over is not None
    assert m.over["reason"] == "time_up"
    assert m.over["winners"] == [bob, cat]
    game_over = m.toasts("game_over")
    assert game_over and game_over[0]["scores"] == m.over["scores"]


def test_tag_bot_chases_when_it() -> None:
    m = Match(builtin_rulesets()["tag"], seed=3)
    ann = m.join("Ann")
    m.move(ann, 30, 0)
    m.gm("gm.bots", classId="runner", count=1)
    m.tick(0)
    bot = next(p for p in m.world.players.values() if p.bot)
    bot.state["it"] = True
    m.world.players[ann].state["it"] = False
    m.start()
    start = (bot.x - 30) ** 2 + bot.y**2
    m.tick()
    m.tick()
    assert (bot.x - 30) ** 2 + bot.y**2 < start
