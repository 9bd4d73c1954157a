"""The engine: apply inputs, then tick, as pure functions of (world, now, inputs).

``step(world, now, inputs)`` first applies the inputs received since the last tick, in arrival
order (joins, leaves, positions, actions, GM commands); anything that makes no sense is refused
with an ``error`` event to its sender and changes nothing. If the match is running it then
ticks, in this order: move bots; expire stale mutual claims; automatic interactions and pickups;
evaluate rules (due delayed actions first, then zone crossings, proximity and timers); finalise
item custody; recompute objectives; check the countdown and elimination. Snapshots are built on
demand afterwards (see :mod:`.snapshot`).

Time is seconds as a float, passed in by the caller; it never goes backwards inside a world.
The world is changed in place and also returned, so callers may write ``world, events = …``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from .commands import gm_command, pause, preflight, resume, set_bot_count, start
from .conditions import InteractionEvent
from .inputs import Refused, act, human, is_eliminated, join, leave, set_location
from .ruleset import Ruleset
from .state import GM, STARTED, Event, Input
from .tick import tick
from .world import World

__all__ = ["Refused", "apply", "is_eliminated", "new_world", "pause", "preflight", "resume"]
__all__ += ["start", "step"]


def new_world(ruleset: Ruleset, seed: int = 0, now: float = 0.0) -> World:
    """A stopped session for ``ruleset`` whose randomness comes only from ``seed``."""
    w = World(ruleset=ruleset, seed=seed, rng=random.Random(seed), now=now)  # noqa: S311 - game randomness, replayable by design
    w.timers = [0.0] * len(ruleset.timer_periods)
    for bid, cb in ruleset.bots.items():
        w.bot_speeds[bid] = cb.spec.speed
        count = cb.spec.count if cb.spec.count is not None else cb.spec.min
        set_bot_count(w, bid, count)
    return w


def step(world: World, now: float, inputs: Iterable[Input] = ()) -> tuple[World, list[Event]]:
    """Apply ``inputs`` in order, then run one tick if the match is running."""
    events: list[Event] = []
    queued = _apply_all(world, now, inputs, events)
    if world.status == STARTED:
        tick(world, world.now, events, queued)
    return world, events


def apply(world: World, now: float, inputs: Iterable[Input] = ()) -> tuple[World, list[Event]]:
    """Apply ``inputs`` in order without ticking (joins and GM commands answered at once).

    Completed interactions are only seen by rules during a tick, so actions belong in ``step``.
    """
    events: list[Event] = []
    _apply_all(world, now, inputs, events)
    return world, events


def _apply_all(
    world: World, now: float, inputs: Iterable[Input], events: list[Event]
) -> list[InteractionEvent]:
    now = max(now, world.now)
    world.now = now
    world.cache.pop("tick", None)
    queued: list[InteractionEvent] = []
    for inp in inputs:
        try:
            _apply(world, now, inp, events, queued)
        except Refused as r:
            to = (inp.sender,) if inp.sender else ()
            events.append(Event(to, "error", {"code": r.code, "message": r.message}, inp.ref))
    return queued


def _apply(
    world: World, now: float, inp: Input, events: list[Event], queued: list[InteractionEvent]
) -> None:
    t = inp.type
    if t == "join":
        join(world, inp, events)
    elif t == "leave":
        leave(world, human(world, inp.sender), events)
    elif t == "location":
        set_location(world, inp)
    elif t == "action":
        act(world, now, inp, events, queued)
    elif t.startswith("gm."):
        if inp.sender != GM:
            raise Refused("forbidden", "only the game master may do that")
        gm_command(world, now, inp, events)
    else:
        raise Refused("unknown_message", f"unknown message type {t!r}")
