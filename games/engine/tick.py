"""One tick of a running match: bots, claims, interactions, rules, custody, objectives, the end.

:func:`tick` runs in the order :mod:`.engine` describes, on a world whose inputs were applied.
"""

from __future__ import annotations

import math
from typing import Any

from .actions import finish
from .bots import BotCtx
from .conditions import Binding, Ctx, InteractionEvent
from .geometry import haversine, move_towards
from .inputs import is_eliminated, perform, position_refusal
from .ruleset import CompiledRule
from .state import STARTED, Event, Player
from .world import World

MAX_BOT_DT = 5.0  # a late tick must not teleport bots across the map


def tick(world: World, now: float, events: list[Event], queued: list[InteractionEvent]) -> None:
    rs = world.ruleset
    dt = min(max(now - (world.last_tick if world.last_tick is not None else now), 0.0), MAX_BOT_DT)
    world.last_tick = now
    world.tick_no += 1
    ctx = Ctx(world, now, active=world.active(), interactions=queued, events=events)
    participants = [p for p in ctx.active if p.has_pos and not is_eliminated(world, p)]
    _move_bots(ctx, participants, dt)
    _expire_claims(ctx)
    _auto_interactions(ctx, participants)
    _run_delayed(ctx)
    _edges(ctx, participants)
    for r in rs.rules:
        if ctx.ended:
            break
        _run_rule(ctx, r)
    _finalise_custody(world)
    if world.status != STARTED:
        return
    _objectives(ctx)
    remaining = world.remaining()
    if remaining is not None and remaining <= 0:
        finish(world, now, "time_up", [], events)
    elif rs.elimination is not None:
        _check_elimination(world, now, events)


def _move_bots(ctx: Ctx, participants: list[Player], dt: float) -> None:
    w = ctx.world
    for bot in participants:
        if bot.bot is None:
            continue
        cb = w.ruleset.bots[bot.bot]
        bc = BotCtx(w, bot, [p for p in participants if p is not bot])
        cb.tree(bc)
        if bc.goal is not None and dt > 0:
            speed = w.bot_speeds.get(bot.bot, cb.spec.speed)
            nx, ny, _ = move_towards(bot.x, bot.y, bc.goal[0], bc.goal[1], speed * dt)
            if position_refusal(w, bot, nx, ny) is None:
                bot.x, bot.y = nx, ny
                assert w.frame is not None  # noqa: S101 - positioned bots imply a frame
                bot.lat, bot.lng = w.frame.to_latlng(nx, ny)
            else:
                bot.waypoint = None  # pick another way next tick
        if bc.interact is not None:
            perform(w, ctx.now, bot, bc.interact[0], bc.interact[1], ctx.events, ctx.interactions)


def _expire_claims(ctx: Ctx) -> None:
    w = ctx.world
    for c in [c for c in w.claims.values() if c.expires <= ctx.now]:
        del w.claims[c.id]
        ev = {"type": "claim_expired", "claimId": c.id, "actionId": c.interaction}
        ctx.events.append(Event((c.initiator, c.target), "event", {"event": ev}))


def _auto_interactions(ctx: Ctx, participants: list[Player]) -> None:
    w = ctx.world
    for ia in w.ruleset.interactions.values():
        spec = ia.spec
        if spec.trigger != "auto":
            continue
        kinds = spec.target.item_kinds
        r2 = spec.range * spec.range
        for p in participants:
            if not ia.initiator(p):
                continue
            for item in w.items.values():
                if item.held_by is not None or item.kind not in kinds:
                    continue
                if (item.x - p.x) ** 2 + (item.y - p.y) ** 2 <= r2:
                    if spec.pickup:
                        item.held_by, item.x, item.y = p.id, p.x, p.y
                    ctx.interactions.append(InteractionEvent(spec.verb, p, None, item))
                    break  # one pickup per player per interaction per tick


def _run_delayed(ctx: Ctx) -> None:
    w = ctx.world
    due = [d for d in w.delayed if d.at <= ctx.now]
    if not due:
        return
    w.delayed = [d for d in w.delayed if d.at > ctx.now]
    for d in sorted(due, key=lambda d: d.at):
        for pid in d.who:
            p = w.players.get(pid)
            if p is not None:
                p.state[d.key] = d.value


def _edges(ctx: Ctx, participants: list[Player]) -> None:
    w, rs, now = ctx.world, ctx.world.ruleset, ctx.now
    for i, period in enumerate(rs.timer_periods):
        if now >= w.timers[i]:
            ctx.fired.add(i)
            nxt = w.timers[i] + period
            # After a long gap fire once and realign, rather than firing a burst.
            w.timers[i] = nxt if nxt > now else now + period
    if rs.tracked_zones:
        seen = set()
        for p in participants:
            seen.add(p.id)
            prev = w.membership.get(p.id, [])
            cur = [z for z in rs.tracked_zones if rs.in_zone(w, z, p.x, p.y)]
            if cur != prev:
                for z in cur:
                    if z not in prev:
                        ctx.entered.setdefault(z, set()).add(p.id)
                for z in prev:
                    if z not in cur:
                        ctx.left.setdefault(z, set()).add(p.id)
                w.membership[p.id] = cur
        for pid in [pid for pid in w.membership if pid not in seen]:
            del w.membership[pid]
    if rs.prox_metres:
        reach = rs.max_prox * 1.01 + 1.0
        r2 = reach * reach
        close: dict[float, list[tuple[str, str]]] = {m: [] for m in rs.prox_metres}
        n = len(participants)
        for i in range(n):
            a = participants[i]
            ax, ay = a.x, a.y
            for j in range(i + 1, n):
                b = participants[j]
                dx, dy = b.x - ax, b.y - ay
                if dx * dx + dy * dy > r2:
                    continue
                d = haversine(a.lat, a.lng, b.lat, b.lng)
                for m in rs.prox_metres:
                    if d <= m:
                        close[m].append((a.id, b.id))
        for m, pairs in close.items():
            key = repr(m)
            prev_pairs = {(x[0], x[1]) for x in w.in_range.get(key, [])}
            new = [pr for pr in pairs if pr not in prev_pairs]
            ctx.prox_new[m] = new
            ctx.prox_set[m] = {pr for pr in new} | {(b, a) for a, b in new}
            w.in_range[key] = [list(pr) for pr in pairs]


def _candidates(ctx: Ctx, r: CompiledRule) -> list[list[Binding]]:
    """Bindings a rule considers this tick, in groups tested together before acting.

    Both orders of a proximity pair form one group, so the pair's tests see the state from
    before either acts: when an ``it`` tags someone, the newly tagged player cannot tag back
    within the same crossing.
    """
    out: list[list[Binding]] = []
    seen: set[tuple[str, str, str, str]] = set()
    players = ctx.world.players
    # One trigger other than an interaction yields each binding once: nothing to de-duplicate.
    once = len(r.cond.triggers) == 1 and r.cond.triggers[0].kind in (
        "enter",
        "leave",
        "prox",
        "tick",
    )

    def add(*bs: Binding) -> None:
        if once:
            out.append(list(bs))
            return
        group = []
        for b in bs:
            k = b.key()
            if k not in seen:
                seen.add(k)
                group.append(b)
        if group:
            out.append(group)

    for t in r.cond.triggers:
        if t.kind == "enter" or t.kind == "leave":
            ids = (ctx.entered if t.kind == "enter" else ctx.left).get(t.arg)
            if ids:
                for p in ctx.active:
                    if p.id in ids:
                        add(Binding(same=p))
        elif t.kind == "prox":
            for a, b in ctx.prox_new.get(t.arg, ()):
                pa, pb = players[a], players[b]
                add(Binding(same=pa, other=pb), Binding(same=pb, other=pa))
        elif t.kind == "tick":
            if t.arg in ctx.fired:
                if r.uses_same:
                    for p in ctx.active:
                        add(Binding(same=p))
                else:
                    add(Binding())
        else:
            for ev in ctx.interactions:
                if ev.verb == t.arg:
                    add(Binding(same=ev.same, other=ev.other, item=ev.item, verb=ev.verb))
    return out


def _run_rule(ctx: Ctx, r: CompiledRule) -> None:
    w = ctx.world
    if r.cond.triggers:
        for group in _candidates(ctx, r):
            passed = [b for b in group if r.cond.test(ctx, b)]
            for b in passed:
                for act in r.actions:
                    act(ctx, b)
                    if ctx.ended:
                        return
        return
    # A rule with no event in it fires when its condition becomes true, not on every tick.
    prev = set(w.level_true.get(r.id, ()))
    now_true: list[str] = []
    bindings = [Binding(same=p) for p in ctx.active] if r.uses_same else [Binding()]
    for b in bindings:
        k = b.same.id if b.same is not None else ""
        if not r.cond.test(ctx, b):
            continue
        now_true.append(k)
        if k in prev:
            continue
        for act in r.actions:
            act(ctx, b)
            if ctx.ended:
                w.level_true[r.id] = now_true
                return
    w.level_true[r.id] = now_true


def _finalise_custody(world: World) -> None:
    for item in world.items.values():
        if item.held_by is None:
            continue
        h = world.players.get(item.held_by)
        if h is None or not h.present or is_eliminated(world, h):
            item.held_by = None  # dropped where its holder last was
        elif h.has_pos:
            item.x, item.y = h.x, h.y


def _objectives(ctx: Ctx) -> None:
    w, rs = ctx.world, ctx.world.ruleset
    if not rs.objectives:
        return
    positioned = [p for p in ctx.active if p.has_pos and not is_eliminated(w, p)]
    # The players each objective's nearest-player filter matches: the same for every player.
    matching: dict[int, list[Player]] = {}
    for p in ctx.active:
        if p.bot is not None:
            continue
        obj: dict[str, Any] | None = None
        for i, o in enumerate(rs.objectives):
            if not o.when(p):
                continue
            candidates = positioned
            if o.nav_filter is not None and o.nav is not None:
                candidates = matching.get(i)  # type: ignore[assignment]
                if candidates is None:
                    f = o.nav_filter
                    candidates = matching[i] = [q for q in positioned if f(q)]
            target = _nav_target(w, p, o, candidates)
            text = o.text(ctx, Binding(same=p, target=target))
            obj = {"text": text, "target": target}
            break
        if obj is None:
            w.objectives.pop(p.id, None)
        else:
            w.objectives[p.id] = obj


def _nav_target(w: World, p: Player, o: Any, positioned: list[Player]) -> dict[str, Any] | None:
    nav = o.nav
    if nav is None:
        return None
    rs = w.ruleset
    found: tuple[str, str, str, float, float] | None = None  # kind, id, label, x, y
    if nav.zone_id:
        pl = rs.placement(w, nav.zone_id)
        if pl is not None:
            z = rs.zones[nav.zone_id]
            found = (
                "zone",
                nav.zone_id,
                z.spec.name or nav.zone_id,
                *pl.forward(*z.shape.centre()),
            )
    elif nav.point_id:
        xy = rs.point_xy(w, nav.point_id)
        if xy is not None:
            pt = rs.points[nav.point_id]
            found = ("point", nav.point_id, pt.label or nav.point_id, *xy)
    elif nav.item_kind:
        best = math.inf
        for it in w.items.values():
            if it.kind == nav.item_kind and it.held_by != p.id:
                d = (it.x - p.x) ** 2 + (it.y - p.y) ** 2
                if d < best:
                    label = rs.item_types[it.kind].label or it.kind
                    best, found = d, ("item", it.id, label, it.x, it.y)
    elif o.nav_filter is not None:
        best = math.inf
        for q in positioned:  # already those the filter matches
            if q is not p:
                d = (q.x - p.x) ** 2 + (q.y - p.y) ** 2
                if d < best:
                    best, found = d, ("player", q.id, q.name, q.x, q.y)
    elif nav.player_ref:
        ref = w.players.get(str(p.state.get(nav.player_ref)))
        if ref is not None and ref.present:
            found = ("player", ref.id, ref.name, ref.x, ref.y) if ref.has_pos else None
            if found is None:
                return {"kind": "player", "id": ref.id, "name": ref.name}
    if found is None:
        return None
    kind, tid, label, x, y = found
    dist = math.hypot(x - p.x, y - p.y) if p.has_pos else None
    return {
        "kind": kind,
        "id": tid,
        "name": label,
        "x": x,
        "y": y,
        "distance": round(dist) if dist is not None else None,
    }


def _check_elimination(world: World, now: float, events: list[Event]) -> None:
    players = world.active()
    if world.ruleset.spec.teams:
        with_players = {p.team for p in players if p.team}
        alive = {p.team for p in players if p.team and not is_eliminated(world, p)}
        if len(with_players) >= 2 and len(alive) <= 1:
            finish(world, now, "elimination", [p for p in players if p.team in alive], events)
    else:
        alive_p = [p for p in players if not is_eliminated(world, p)]
        if len(players) >= 2 and len(alive_p) <= 1:
            finish(world, now, "elimination", alive_p, events)
