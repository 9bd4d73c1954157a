"""An operator's end is counted under its own end reason, apart from a player leaving."""

from __future__ import annotations

import pytest
from django.utils import timezone
from personas import CafePC, GameServer, GameWithKey, session_row
from prometheus_client import REGISTRY

from sessions import actions

pytestmark = pytest.mark.django_db(transaction=True)  # metrics are fed after commit


def ended(reason: str) -> float:
    labels = {"game": "obby", "reason": reason}
    return REGISTRY.get_sample_value("playwave_sessions_ended_total", labels) or 0.0


def test_operator_end_is_counted_as_operator_not_normal(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    before = ended("operator"), ended("normal")
    gs = server.start(pc, obby)
    assert actions.end_session("ops", session_row(gs).pk, now=timezone.now())
    assert (ended("operator") - before[0], ended("normal") - before[1]) == (1, 0)
