"""Claim events tell both sides how long the target has to answer."""

from __future__ import annotations

from enginekit import Match
from tiers import PURE_ENGINE

from games.engine import builtin_rulesets

pytestmark = PURE_ENGINE


def test_claim_and_claim_sent_carry_the_seconds_left_to_answer() -> None:
    m = Match(builtin_rulesets()["assassin"], seed=7)
    ids = [m.join(n) for n in ("Ann", "Bob", "Cat")]
    for pid in ids:
        m.move(pid, 0, 0)
    m.start()
    hunter = ids[0]
    victim = m.state(hunter, "targetId")
    m.act(hunter, "eliminate", targetId=victim)
    m.tick()
    asked = m.toasts("claim")[-1]
    sent = m.toasts("claim_sent")[-1]
    assert asked["claimId"] == sent["claimId"]
    assert sent["to"] == victim and sent["toName"] == m.world.players[victim].name
    assert asked["expiresIn"] == sent["expiresIn"] == 20.0  # Assassin's claimTimeoutMs
