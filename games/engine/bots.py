"""Bot behaviour trees: compiled once, evaluated each tick to pick where a bot heads.

A tree reads state (rules write it). Leaves either test the bot's own state or choose a goal:
chase the nearest matching player, flee the nearest one, chase the player whose id is in a
state key, wander inside a zone, or use an interaction on an eligible target in range. Nodes
return success or failure; ``selector`` tries children until one succeeds, ``sequence`` until
one fails. The engine then moves the bot towards its goal at its speed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import schema as s
from .conditions import compile_filter
from .geometry import haversine
from .state import Player

if TYPE_CHECKING:
    # Only an annotation: the world module sits above this one (its ruleset compiles bots).
    from .world import World


@dataclass(slots=True)
class BotCtx:
    """One bot's view while its tree runs."""

    world: World
    bot: Player
    others: list[Player]  # present, positioned, not eliminated, not the bot
    goal: tuple[float, float] | None = None
    interact: tuple[str, str] | None = None  # (interaction id, target player or item id)


Node = Callable[[BotCtx], bool]


@dataclass(slots=True)
class CompiledBot:
    """A bot class with its tree compiled."""

    spec: s.BotClass
    tree: Node


WANDER_RADIUS = 30.0
ARRIVED = 2.0
FLEE_STEP = 15.0


def compile_bot(b: s.BotClass) -> CompiledBot:
    """Compile a bot class's behaviour tree."""
    return CompiledBot(b, _node(b.tree))


def _nearest(bc: BotCtx, pred: Callable[[Player], bool], radius: float | None) -> Player | None:
    me = bc.bot
    best, best_d = None, math.inf
    for p in bc.others:
        if not pred(p):
            continue
        d = (p.x - me.x) ** 2 + (p.y - me.y) ** 2
        if d < best_d:
            best, best_d = p, d
    if best is None or (radius is not None and best_d > radius * radius):
        return None
    return best


def _node(n: Any) -> Node:
    if isinstance(n, s.BtSelector):
        kids = [_node(c) for c in n.children]

        def selector(bc: BotCtx) -> bool:
            for k in kids:  # noqa: SIM110 - hot path: a plain loop skips a generator
                if k(bc):
                    return True
            return False

        return selector
    if isinstance(n, s.BtSequence):
        kids = [_node(c) for c in n.children]

        def sequence(bc: BotCtx) -> bool:
            for k in kids:  # noqa: SIM110 - hot path: a plain loop skips a generator
                if not k(bc):
                    return False
            return True

        return sequence
    if isinstance(n, s.BtStateEquals):
        key, val = n.key, n.value
        return lambda bc: bc.bot.state.get(key) == val
    if isinstance(n, s.BtChaseNearest):
        pred, radius = compile_filter(n.filter), n.radius

        def chase(bc: BotCtx) -> bool:
            t = _nearest(bc, pred, radius)
            if t is None:
                return False
            bc.goal = (t.x, t.y)
            return True

        return chase
    if isinstance(n, s.BtFleeNearest):
        pred, radius = compile_filter(n.filter), n.radius

        def flee(bc: BotCtx) -> bool:
            t = _nearest(bc, pred, radius)
            if t is None:
                return False
            me = bc.bot
            dx, dy = me.x - t.x, me.y - t.y
            d = math.hypot(dx, dy)
            if d < 1e-6:
                ang = bc.world.rng.uniform(0, 2 * math.pi)
                dx, dy, d = math.cos(ang), math.sin(ang), 1.0
            bc.goal = (me.x + dx / d * FLEE_STEP, me.y + dy / d * FLEE_STEP)
            return True

        return flee
    if isinstance(n, s.BtChaseTarget):
        key = n.key

        def chase_target(bc: BotCtx) -> bool:
            t = bc.world.players.get(str(bc.bot.state.get(key)))
            if t is None or not any(p is t for p in bc.others):
                return False
            bc.goal = (t.x, t.y)
            return True

        return chase_target
    if isinstance(n, s.BtWander):
        zone = n.zone_id

        def wander(bc: BotCtx) -> bool:
            me, w = bc.bot, bc.world
            wp = me.waypoint
            if wp is None or math.hypot(wp[0] - me.x, wp[1] - me.y) < ARRIVED:
                wp = w.ruleset.random_in_zone(w, zone) if zone else None
                if wp is None:
                    ang = w.rng.uniform(0, 2 * math.pi)
                    r = w.rng.uniform(0, WANDER_RADIUS)
                    wp = (me.x + r * math.cos(ang), me.y + r * math.sin(ang))
                me.waypoint = wp
            bc.goal = wp
            return True

        return wander
    assert isinstance(n, s.BtInteract)  # noqa: S101 - the node union is closed
    iid = n.interaction_id

    def interact(bc: BotCtx) -> bool:
        w, me = bc.world, bc.bot
        ia = w.ruleset.interactions[iid]
        if not ia.initiator(me):
            return False
        rng_m = ia.spec.range
        if ia.spec.target.kind == "player":
            for p in bc.others:
                if (
                    ia.target(p)
                    and ia.relation(me, p)
                    and haversine(me.lat, me.lng, p.lat, p.lng) <= rng_m
                ):
                    bc.interact = (iid, p.id)
                    return True
            return False
        kinds = set(ia.spec.target.item_kinds)
        for item in w.items.values():
            near = math.hypot(item.x - me.x, item.y - me.y) <= rng_m
            if item.held_by is None and item.kind in kinds and near:
                bc.interact = (iid, item.id)
                return True
        return False

    return interact
