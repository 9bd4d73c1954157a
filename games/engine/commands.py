"""GM commands and the match's life: place zones, bots, tunables, items, players; start, pause.

Applied at once by :func:`.engine.apply` (the GM console waits for the answer), each command
changes the world in place or raises :class:`.inputs.Refused`.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from .actions import add_log, finish, spawn_item
from .conditions import Binding, Ctx
from .geometry import Frame, Placement
from .inputs import Refused, leave, number
from .state import ENDED, GM, STARTED, STOPPED, Event, Input, Player
from .world import World


def preflight(world: World) -> list[str]:
    """Every reason the match cannot start now; empty when it can."""
    rs, spec = world.ruleset, world.ruleset.spec
    out: list[str] = []
    for zid, z in rs.zones.items():
        name = z.spec.name or zid
        if rs.placement(world, zid) is None:
            if z.spec.required:
                out.append(f'required zone "{name}" is not placed')
            elif zid in rs.tracked_zones:
                out.append(f'zone "{name}" is used by the rules but not placed')
            continue
        area = rs.zone_area(world, zid)
        if z.spec.min_area is not None and area < z.spec.min_area:
            out.append(
                f'zone "{name}" is {area:.0f} m², under its minimum of {z.spec.min_area:.0f} m²'
            )
        if z.spec.max_area is not None and area > z.spec.max_area:
            out.append(
                f'zone "{name}" is {area:.0f} m², over its maximum of {z.spec.max_area:.0f} m²'
            )
    n = len(world.active())
    if n < spec.min_players:
        out.append(f"needs at least {spec.min_players} players (bots count), has {n}")
    if n > spec.max_players:
        out.append(f"allows at most {spec.max_players} players (bots count), has {n}")
    for bid, cb in rs.bots.items():
        c = world.bot_counts.get(bid, 0)
        label = cb.spec.name or bid
        if c < cb.spec.min:
            out.append(f'bot class "{label}" needs at least {cb.spec.min} bots, has {c}')
        if c > cb.spec.max:
            out.append(f'bot class "{label}" allows at most {cb.spec.max} bots, has {c}')
        if c and cb.spec.spawn_zone and rs.placement(world, cb.spec.spawn_zone) is None:
            out.append(f'bot class "{label}" spawns in zone "{cb.spec.spawn_zone}", not placed')
        if c and world.frame is None:
            out.append(f'bot class "{label}" needs the map placed to position its bots')
    if world.started_at is None:
        for i, it in enumerate(spec.items):
            if it.in_zone and rs.placement(world, it.in_zone) is None:
                out.append(f'items[{i}] ({it.kind}) spawn in zone "{it.in_zone}", not placed')
            if it.at_point and rs.point_xy(world, it.at_point) is None:
                out.append(f'items[{i}] ({it.kind}) spawn at point "{it.at_point}", not placed')
    return out


def gm_command(world: World, now: float, inp: Input, events: list[Event]) -> None:
    cmd, d = inp.type, inp.data
    if world.status == ENDED:
        raise Refused("wrong_state", "this game is over")
    if cmd == "gm.start":
        if world.status == STARTED:
            raise Refused("wrong_state", "the game is already running")
        failures = preflight(world)
        events.append(
            Event((GM,), "preflight", {"ok": not failures, "failures": failures}, inp.ref)
        )
        if not failures:
            start(world, now, events)
    elif cmd == "gm.stop":
        if world.status != STARTED:
            raise Refused("wrong_state", "the game is not running")
        pause(world, now, events)
    elif cmd == "gm.end":
        finish(world, now, "gm", [], events)
    elif cmd == "gm.place":
        _place(world, d, events)
    elif cmd == "gm.bots":
        cls = world.ruleset.bots.get(str(d.get("classId")))
        if cls is None:
            raise Refused("unknown_bot_class", f"unknown bot class {d.get('classId')!r}")
        count = d.get("count")
        if not isinstance(count, int) or isinstance(count, bool):
            raise Refused("bad_message", "count must be a whole number")
        if not cls.spec.min <= count <= cls.spec.max:
            raise Refused("bad_message", f"count must be between {cls.spec.min} and {cls.spec.max}")
        others = len(world.active()) - world.bot_counts.get(cls.spec.id, 0)
        if others + count > world.ruleset.spec.max_players:
            raise Refused("full", f"that would exceed {world.ruleset.spec.max_players} players")
        set_bot_count(world, cls.spec.id, count, events)
    elif cmd == "gm.tunable":
        bc = world.ruleset.tunables.get(str(d.get("key")))
        if bc is None or bc.tunable is None:
            raise Refused("unknown_tunable", f"unknown tunable {d.get('key')!r}")
        world.bot_speeds[bc.id] = number(d, "value", bc.tunable.min, bc.tunable.max)
    elif cmd == "gm.spawn":
        kind = d.get("kind")
        if kind not in world.ruleset.item_types:
            raise Refused("unknown_item_kind", f"unknown item kind {kind!r}")
        at = d.get("at")
        if not isinstance(at, dict):
            raise Refused("bad_message", "at {lat, lng} is required")
        lat, lng = number(at, "lat", -90, 90), number(at, "lng", -180, 180)
        if world.frame is None:
            world.frame = Frame(lat, lng)
        spawn_item(world, str(kind), *world.frame.to_xy(lat, lng))
    elif cmd in ("gm.kick", "gm.team", "gm.state", "gm.message"):
        _gm_player(world, cmd, d, events)
    else:
        raise Refused("unknown_message", f"unknown command {cmd!r}")


KICKED_TEXT = "The game master removed you from this game."


MAX_GM_MESSAGE = 500


def _gm_player(world: World, cmd: str, d: dict[str, Any], events: list[Event]) -> None:
    """GM commands on one human player: remove, move to a team, set a state key, message."""
    p = world.players.get(str(d.get("playerId") or ""))
    if p is None or p.bot is not None or not p.present:
        raise Refused("unknown_player", f"no player {d.get('playerId')!r} in this game")
    if cmd == "gm.kick":
        # Told first: the live layer closes the player's sockets after routing this event.
        ev = {"type": "kicked", "text": KICKED_TEXT}
        reason = str(d.get("reason") or "")[:200]  # an operator's removal says why
        if reason:
            ev["reason"] = reason
        events.append(Event((p.id,), "event", {"event": ev}))
        leave(world, p, events)
        add_log(world, events, f"GM removed {p.name}" + (f" ({reason})" if reason else ""))
    elif cmd == "gm.team":
        team = d.get("team")
        if not world.ruleset.spec.teams:
            raise Refused("bad_team", "this game has no teams")
        if team not in world.ruleset.teams:
            raise Refused("bad_team", f"unknown team {team!r}")
        if p.team == team:
            return
        p.team = str(team)
        name = world.ruleset.teams[p.team].name or p.team
        add_log(world, events, f"GM moved {p.name} to {name}")
    elif cmd == "gm.state":
        key, value = d.get("key"), d.get("value")
        if not isinstance(key, str) or key not in p.state:
            known = ", ".join(sorted(p.state)) or "none"
            raise Refused("bad_state", f"unknown state key {key!r} (this player has: {known})")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise Refused("bad_state", "a state value is a string, number, true/false or null")
        if isinstance(value, float) and not math.isfinite(value):
            raise Refused("bad_state", "a state value must be a finite number")
        old = p.state[key]
        if type(old) is not type(value) and old is not None and value is not None:
            numbers = isinstance(old, int | float) and isinstance(value, int | float)
            if not numbers or isinstance(old, bool) or isinstance(value, bool):
                kind = type(old).__name__.replace("str", "text").replace("bool", "true/false")
                raise Refused("bad_state", f"{key} holds {kind}, like {old!r}")
        p.state[key] = value
        add_log(world, events, f"GM set {p.name}'s {key} to {_show(value)}")
    else:
        text = d.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_GM_MESSAGE:
            raise Refused("bad_message", f"a message is 1 to {MAX_GM_MESSAGE} characters")
        ev = {"type": "gm_message", "text": text.strip(), "from": "Game master"}
        events.append(Event((p.id,), "event", {"event": ev}))
        add_log(world, events, f"GM to {p.name}: {text.strip()}")


def _show(v: Any) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def _place(world: World, d: dict[str, Any], events: list[Event]) -> None:
    if world.status != STOPPED:
        raise Refused("wrong_state", "pause the game to edit the map")
    rs = world.ruleset
    zid = d.get("zoneId") or None
    if zid is not None:
        z = rs.zones.get(str(zid))
        if z is None:
            raise Refused("unknown_zone", f"unknown zone {zid!r}")
        if z.spec.parent is not None:
            raise Refused("not_placeable", f'zone "{zid}" moves with its parent "{z.root}"')
        if not z.spec.placeable:
            raise Refused("not_placeable", f'zone "{zid}" is fixed; place the whole map instead')
    origin = d.get("origin")
    if not isinstance(origin, dict):
        raise Refused("bad_message", "origin {lat, lng} is required")
    lat, lng = number(origin, "lat", -90, 90), number(origin, "lng", -180, 180)
    rot = number(d, "rotation", -360, 360, 0.0)
    scale = number(d, "scale", 0.05, 20, 1.0)
    if world.frame is None:
        world.frame = Frame(lat, lng)
    ox, oy = world.frame.to_xy(lat, lng)
    if zid is None:
        mp = Placement(ox, oy, rot, scale, 0.0, 0.0)
        world.map_placement = mp
        for rid, z in rs.zones.items():
            if z.spec.placeable and z.spec.parent is None:
                cx, cy = z.shape.centre()
                wx, wy = mp.forward(cx, cy)
                world.placements[rid] = Placement(wx, wy, rot, scale, cx, cy)
        what = "the map"
    else:
        z = rs.zones[str(zid)]
        cx, cy = z.shape.centre()
        pl = Placement(ox, oy, rot, scale, cx, cy)
        world.placements[str(zid)] = pl
        if world.map_placement is None:
            # Fixed zones and free points keep their layout relative to the first placed zone.
            world.map_placement = pl
        what = f'zone "{z.spec.name or zid}"'
    world.map_version += 1
    add_log(world, events, f"GM placed {what}")


def set_bot_count(world: World, cls_id: str, count: int, events: list[Event] | None = None) -> None:
    cb = world.ruleset.bots[cls_id]
    mine = [p for p in world.players.values() if p.bot == cls_id and p.present]
    for p in mine[count:]:
        leave(world, p, events if events is not None else [])
    states = world.ruleset.spec.player_join_states
    for _ in range(count - len(mine)):
        base = copy.deepcopy(states[-1]) if states else {}
        base.update(copy.deepcopy(cb.spec.state))
        bid = world.next_id("b")
        label = cb.spec.name or cls_id
        p = Player(bid, f"{label} {bid[1:]}", team=cb.spec.team, bot=cls_id, state=base)
        world.players[bid] = p
        if world.status == STARTED:
            _position_bot(world, p)
    world.bot_counts[cls_id] = count


def start(world: World, now: float, events: list[Event]) -> None:
    """Begin (or resume) the match; callers run :func:`preflight` first."""
    if world.started_at is not None:
        resume(world, now, events)
        return
    rs = world.ruleset
    world.status = STARTED
    world.started_at = now
    world.last_tick = now
    world.clock_base, world.clock_at = 0.0, now
    world.timers = [now + period for period in rs.timer_periods]
    ctx = Ctx(world, now, active=world.active())
    for act in rs.on_start:
        act(ctx, Binding())
    events.extend(ctx.events)
    for spec in rs.spec.items:
        for _ in range(spec.count):
            xy = (
                rs.random_in_zone(world, spec.in_zone)
                if spec.in_zone
                else rs.point_xy(world, spec.at_point or "")
            )
            if xy is not None:
                spawn_item(world, spec.kind, *xy)
    for p in world.active():
        if p.bot is not None and not p.has_pos:
            _position_bot(world, p)
    add_log(world, events, "Game started")


def pause(world: World, now: float, events: list[Event]) -> None:
    """Freeze rules, clock, delayed actions and timers."""
    world.status = STOPPED
    world.paused_at = now
    if world.clock_at is not None:
        world.clock_base += max(0.0, now - world.clock_at)
        world.clock_at = None
    add_log(world, events, "Game paused")


def resume(world: World, now: float, events: list[Event]) -> None:
    """Restart the clock; roll delayed actions, timers and claims forward by the paused time."""
    assert world.paused_at is not None  # noqa: S101 - only a paused world resumes
    delta = now - world.paused_at
    world.clock_at = now
    world.timers = [t + delta for t in world.timers]
    for d in world.delayed:
        d.at += delta
    for c in world.claims.values():
        c.expires += delta
    world.paused_at = None
    world.last_tick = now
    world.status = STARTED
    add_log(world, events, "Game resumed")


def _position_bot(world: World, p: Player) -> None:
    rs = world.ruleset
    cb = rs.bots[p.bot or ""]
    xy = None
    if cb.spec.spawn_zone:
        xy = rs.random_in_zone(world, cb.spec.spawn_zone)
    if xy is None:
        for zid, z in rs.zones.items():
            if z.spec.parent is None and not z.spec.exclusion and z.spec.navigable:
                xy = rs.random_in_zone(world, zid)
                if xy is not None:
                    break
    if xy is None and world.frame is not None:
        ang = world.rng.uniform(0, 2 * math.pi)
        r = world.rng.uniform(0, 20)
        xy = (r * math.cos(ang), r * math.sin(ang))
    if xy is None or world.frame is None:
        return
    p.x, p.y = xy
    p.lat, p.lng = world.frame.to_latlng(*xy)
    p.has_pos = True
