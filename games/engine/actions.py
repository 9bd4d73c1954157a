"""Compiling rule actions into closures, and the world changes they share with the engine."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import schema as s
from .conditions import (
    ActionFn,
    Binding,
    Ctx,
    compile_selector,
    compile_template,
    compile_value,
    fmt,
)
from .state import ENDED, EVERYONE, GM, Delayed, Event, Item, Player

if TYPE_CHECKING:
    # Only an annotation: the world module sits above this one (its ruleset compiles actions).
    from .world import World

LOG_LIMIT = 200


def is_number(x: Any) -> bool:
    """Numbers, but not booleans (which Python counts as ints)."""
    return isinstance(x, int | float) and not isinstance(x, bool)


def add_log(world: World, events: list[Event], text: str) -> None:
    """Append to the GM event log (bounded) and tell the spectators."""
    entry = {"t": round(world.elapsed(), 1), "text": text}
    world.log.append(entry)
    if len(world.log) > LOG_LIMIT:
        del world.log[: len(world.log) - LOG_LIMIT]
    events.append(Event((GM,), "log", entry))


def scores(world: World) -> dict[str, Any]:
    """Final (or current) score of every player who ever joined, by id."""
    key = world.ruleset.spec.score_key
    return {p.id: p.state.get(key, 0) for p in world.players.values()}


def finish(
    world: World, now: float, reason: str, winners: Iterable[Player], events: list[Event]
) -> None:
    """End the match: freeze the clock, record the result and tell everyone it is over."""
    if world.status == ENDED:
        return
    win = [p.id for p in winners]
    world.status = ENDED
    at = world.paused_at if world.paused_at is not None else now
    if world.clock_at is not None:
        world.clock_base += max(0.0, now - world.clock_at)
        world.clock_at = None
    teams = sorted({p.team for p in world.players.values() if p.id in win and p.team})
    world.result = {
        "reason": reason,
        "winners": win,
        "winnerNames": [world.players[w].name for w in win],
        "winnerTeams": teams,
        "scores": scores(world),
        "at": at,
    }
    world.claims.clear()
    world.delayed.clear()
    event = {"type": "game_over", **{k: v for k, v in world.result.items() if k != "at"}}
    events.append(Event((EVERYONE,), "event", {"event": event}))
    add_log(world, events, f"Game over ({reason})")


def spawn_item(world: World, kind: str, x: float, y: float) -> Item:
    """Put a new item of ``kind`` on the ground at world metres (x, y)."""
    item = Item(world.next_id("i"), kind, x, y)
    world.items[item.id] = item
    return item


def send(ctx: Ctx, to: list[Player] | None, event: dict[str, Any]) -> None:
    """Queue an ``event`` message; ``to`` None means everyone (players and spectators)."""
    dest = (EVERYONE,) if to is None else tuple(p.id for p in to if p.bot is None)
    if dest:
        ctx.events.append(Event(dest, "event", {"event": event}))


def compile_action(a: Any) -> ActionFn:
    """One action as a closure over (ctx, binding)."""
    if isinstance(a, s.SetState):
        who, val, key = compile_selector(a.who), compile_value(a.value), a.key

        def set_state(c: Ctx, b: Binding) -> None:
            v = val(c, b)
            for p in who(c, b):
                p.state[key] = v

        return set_state
    if isinstance(a, s.SetStateDelayed):
        who, val, key, delay = compile_selector(a.who), compile_value(a.value), a.key, a.delay_ms

        def set_later(c: Ctx, b: Binding) -> None:
            ids = [p.id for p in who(c, b)]
            c.world.delayed.append(Delayed(c.now + delay / 1000.0, ids, key, val(c, b)))

        return set_later
    if isinstance(a, s.IncrementState):
        who, by, key = compile_selector(a.who), compile_value(a.by), a.key

        def increment(c: Ctx, b: Binding) -> None:
            d = by(c, b)
            if not is_number(d):
                return
            for p in who(c, b):
                cur = p.state.get(key)
                p.state[key] = (cur if is_number(cur) else 0) + d

        return increment
    if isinstance(a, s.AssignStateRandom):
        who, val, key, count = compile_selector(a.who), compile_value(a.value), a.key, a.count
        other_val = compile_value(a.otherwise) if a.otherwise is not None else None

        def assign_random(c: Ctx, b: Binding) -> None:
            pool = list(who(c, b))
            chosen = c.world.rng.sample(pool, min(count, len(pool)))
            v = val(c, b)
            for p in chosen:
                p.state[key] = v
            if other_val is not None:
                ov = other_val(c, b)
                picked = {p.id for p in chosen}
                for p in pool:
                    if p.id not in picked:
                        p.state[key] = ov

        return assign_random
    if isinstance(a, s.AssignCycle):
        who, key = compile_selector(a.who), a.key

        def assign_cycle(c: Ctx, b: Binding) -> None:
            pool = list(who(c, b))
            c.world.rng.shuffle(pool)
            n = len(pool)
            for i, p in enumerate(pool):
                p.state[key] = pool[(i + 1) % n].id if n > 1 else None

        return assign_cycle
    if isinstance(a, s.SendEvent):
        to_all = a.to.kind == "any"
        who = compile_selector(a.to)
        text = compile_template(a.event.text)
        etype, secs = a.event.type, a.event.seconds

        def send_event(c: Ctx, b: Binding) -> None:
            ev: dict[str, Any] = {"type": etype, "text": text(c, b)}
            if secs is not None:
                ev["seconds"] = secs
            send(c, None if to_all else who(c, b), ev)

        return send_event
    if isinstance(a, s.LogAction):
        text = compile_template(a.text)
        return lambda c, b: add_log(c.world, c.events, text(c, b))
    if isinstance(a, s.EndGame):
        reason = a.reason
        winners = compile_selector(a.winners) if a.winners is not None else None

        def end_game(c: Ctx, b: Binding) -> None:
            finish(c.world, c.now, reason, winners(c, b) if winners else [], c.events)
            c.ended = True

        return end_game
    if isinstance(a, s.SpawnItem):
        return _compile_spawn(a)
    if isinstance(a, s.DestroyItem):
        this, kind = a.item == "this", a.kind
        held = compile_selector(a.held_by) if a.held_by is not None else None

        def destroy(c: Ctx, b: Binding) -> None:
            holders = {p.id for p in held(c, b)} if held else None
            for item in list(c.world.items.values()):
                if this and (b.item is None or item.id != b.item.id):
                    continue
                if kind is not None and item.kind != kind:
                    continue
                if holders is not None and item.held_by not in holders:
                    continue
                del c.world.items[item.id]

        return destroy
    raise TypeError(f"unknown action {type(a).__name__}")  # pragma: no cover - schema is closed


def _compile_spawn(a: s.SpawnItem) -> ActionFn:
    kind, count = a.kind, a.count

    def spawn(c: Ctx, b: Binding) -> None:
        w, rs = c.world, c.world.ruleset
        for _ in range(count):
            xy: tuple[float, float] | None
            if a.at_point is not None:
                xy = rs.point_xy(w, a.at_point)
            elif a.in_zone is not None:
                xy = rs.random_in_zone(w, a.in_zone)
            elif a.at in ("same", "other"):
                p = b.same if a.at == "same" else b.other
                xy = (p.x, p.y) if p is not None and p.has_pos else None
            elif a.at is not None:
                xy = rs.local_xy(w, a.at[0], a.at[1])
            else:
                xy = None
            if xy is None:
                add_log(w, c.events, f"could not place a {kind}: its place is not on the map")
                return
            spawn_item(w, kind, *xy)

    return spawn


__all__ = ["compile_action", "finish", "fmt", "send", "spawn_item"]
