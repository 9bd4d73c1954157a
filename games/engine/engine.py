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

import copy
import math
import random
from collections.abc import Iterable
from typing import Any

from .actions import add_log, finish, spawn_item
from .bots import BotCtx
from .conditions import Binding, Ctx, InteractionEvent
from .geometry import Frame, Placement, haversine, move_towards
from .ruleset import CompiledRule, Ruleset
from .state import ENDED, GM, STARTED, STOPPED, Claim, Event, Input, Player
from .world import World

MAX_BOT_DT = 5.0  # a late tick must not teleport bots across the map
MAX_NAME = 40

Refusal = tuple[str, str]


class Refused(Exception):
    """An input was refused; carries an error ``code`` and a human ``message``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def new_world(ruleset: Ruleset, seed: int = 0, now: float = 0.0) -> World:
    """A stopped session for ``ruleset`` whose randomness comes only from ``seed``."""
    w = World(ruleset=ruleset, seed=seed, rng=random.Random(seed), now=now)  # noqa: S311 - game randomness, replayable by design
    w.timers = [0.0] * len(ruleset.timer_periods)
    for bid, cb in ruleset.bots.items():
        w.bot_speeds[bid] = cb.spec.speed
        count = cb.spec.count if cb.spec.count is not None else cb.spec.min
        _set_bot_count(w, bid, count)
    return w


def step(world: World, now: float, inputs: Iterable[Input] = ()) -> tuple[World, list[Event]]:
    """Apply ``inputs`` in order, then run one tick if the match is running."""
    events: list[Event] = []
    queued = _apply_all(world, now, inputs, events)
    if world.status == STARTED:
        _tick(world, world.now, events, queued)
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


def is_eliminated(world: World, p: Player) -> bool:
    """Whether a player is out (the ruleset's ``elimination`` state matches)."""
    el = world.ruleset.elimination
    return el is not None and p.state.get(el[0]) == el[1]


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


# --- inputs ------------------------------------------------------------------------------------


def _apply(
    world: World, now: float, inp: Input, events: list[Event], queued: list[InteractionEvent]
) -> None:
    t = inp.type
    if t == "join":
        _join(world, inp, events)
    elif t == "leave":
        _leave(world, _human(world, inp.sender), events)
    elif t == "location":
        _location(world, inp)
    elif t == "action":
        _action(world, now, inp, events, queued)
    elif t.startswith("gm."):
        if inp.sender != GM:
            raise Refused("forbidden", "only the game master may do that")
        _gm(world, now, inp, events)
    else:
        raise Refused("unknown_message", f"unknown message type {t!r}")


def _human(world: World, pid: str | None) -> Player:
    p = world.players.get(pid or "")
    if p is None or p.bot is not None or not p.present:
        raise Refused("unknown_player", "you are not in this game")
    return p


def _number(data: dict[str, Any], key: str, lo: float, hi: float, default: Any = ...) -> float:
    v = data.get(key, default)
    if v is ...:
        raise Refused("bad_message", f"{key} is required")
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise Refused("bad_message", f"{key} must be a number")
    if not lo <= v <= hi:
        raise Refused("bad_message", f"{key} must be between {lo} and {hi}")
    return float(v)


def _join(world: World, inp: Input, events: list[Event]) -> None:
    if world.status == ENDED:
        raise Refused("ended", "this game is over")
    data = inp.data
    pid = data.get("playerId")
    if pid is not None:
        p = world.players.get(str(pid))
        if p is None or p.bot is not None:
            raise Refused("unknown_player", "no such player to rejoin")
        p.present = True
        events.append(
            Event((p.id,), "joined", {"playerId": p.id, "name": p.name, "rejoined": True}, inp.ref)
        )
        return
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        raise Refused("bad_name", f"a name is 1 to {MAX_NAME} characters")
    spec = world.ruleset.spec
    if len(world.active()) >= spec.max_players:
        raise Refused("full", f"this game takes at most {spec.max_players} players")
    team = data.get("team")
    if spec.teams:
        if team is not None and team not in world.ruleset.teams:
            raise Refused("bad_team", f"unknown team {team!r}")
        if team is None:
            sizes = {t.id: 0 for t in spec.teams}
            for q in world.active():
                if q.team in sizes:
                    sizes[q.team] += 1
            team = min(sizes, key=lambda k: sizes[k])  # ties go to the first declared team
    else:
        team = None
    humans = sum(1 for q in world.players.values() if q.bot is None)
    states = spec.player_join_states
    state = copy.deepcopy(states[min(humans, len(states) - 1)]) if states else {}
    p = Player(world.next_id("p"), name.strip(), team=team, state=state)
    world.players[p.id] = p
    events.append(
        Event((p.id,), "joined", {"playerId": p.id, "name": p.name, "team": team}, inp.ref)
    )
    add_log(world, events, f"{p.name} joined")


def _leave(world: World, p: Player, events: list[Event]) -> None:
    p.present = False
    for item in world.items.values():
        if item.held_by == p.id:
            item.held_by = None
    for cid in [c.id for c in world.claims.values() if p.id in (c.initiator, c.target)]:
        del world.claims[cid]
    world.membership.pop(p.id, None)
    add_log(world, events, f"{p.name} left")


def position_refusal(world: World, p: Player, x: float, y: float) -> Refusal | None:
    """Why ``p`` may not stand at world metres (x, y), or None when they may."""
    rs = world.ruleset
    started = world.status == STARTED
    for zid, z in rs.zones.items():
        spec = z.spec
        if not spec.navigable and rs.in_zone(world, zid, x, y):
            return "not_navigable", f'position is inside "{spec.name or zid}", which is off limits'
        if not started:
            continue
        blocked = spec.blocked_by is not None and _matches(spec.blocked_by, p)
        if blocked and rs.in_zone(world, zid, x, y):
            return "blocked", f'you may not enter "{spec.name or zid}"'
        confined = spec.confined_by is not None and _matches(spec.confined_by, p)
        was_inside = confined and p.has_pos and rs.in_zone(world, zid, p.x, p.y)
        if was_inside and not rs.in_zone(world, zid, x, y):
            return "confined", f'you may not leave "{spec.name or zid}"'
    return None


def _matches(f: Any, p: Player) -> bool:
    if f.team is not None and p.team != f.team:
        return False
    if f.bot is not None and (p.bot is not None) != f.bot:
        return False
    return all(p.state.get(k) == v for k, v in f.state.items())


def _location(world: World, inp: Input) -> None:
    p = _human(world, inp.sender)
    if world.status == ENDED:
        raise Refused("ended", "this game is over")
    d = inp.data
    lat = _number(d, "lat", -90, 90)
    lng = _number(d, "lng", -180, 180)
    acc = _number(d, "accuracy", 0, 1e6, None) if d.get("accuracy") is not None else None
    heading = _number(d, "heading", -360, 360, None) if d.get("heading") is not None else None
    ts = _number(d, "ts", 0, 1e13, None) if d.get("ts") is not None else None
    if world.frame is None:
        world.frame = Frame(lat, lng)
    x, y = world.frame.to_xy(lat, lng)
    refusal = position_refusal(world, p, x, y)
    if refusal is not None:
        raise Refused(*refusal)
    p.lat, p.lng, p.x, p.y, p.has_pos = lat, lng, x, y, True
    p.accuracy, p.heading, p.ts = acc, heading, ts


def _action(
    world: World, now: float, inp: Input, events: list[Event], queued: list[InteractionEvent]
) -> None:
    p = _human(world, inp.sender)
    if world.status != STARTED:
        raise Refused("not_running", "the game is not running")
    if is_eliminated(world, p):
        raise Refused("eliminated", "you are out of this game")
    aid = inp.data.get("actionId")
    payload = inp.data.get("payload") or {}
    if not isinstance(payload, dict):
        raise Refused("bad_message", "payload must be an object")
    if aid in ("confirm", "deny"):
        _answer_claim(world, now, p, aid, payload, events, queued)
        return
    ia = world.ruleset.interactions.get(str(aid))
    if ia is None:
        raise Refused("unknown_action", f"unknown action {aid!r}")
    if ia.spec.trigger == "auto":
        raise Refused("unknown_action", f"{aid!r} happens by itself when you walk over")
    target = payload.get("targetId")
    if not isinstance(target, str):
        raise Refused("bad_message", "payload.targetId is required")
    refusal = perform(world, now, p, str(aid), target, events, queued)
    if refusal is not None:
        raise Refused(*refusal)


def perform(
    world: World,
    now: float,
    p: Player,
    aid: str,
    target_id: str,
    events: list[Event],
    queued: list[InteractionEvent],
) -> Refusal | None:
    """Try interaction ``aid`` from ``p`` on a player or item; a refusal changes nothing."""
    ia = world.ruleset.interactions[aid]
    spec = ia.spec
    if not ia.initiator(p):
        return "not_eligible", f"you cannot {spec.label or spec.verb} now"
    if not p.has_pos:
        return "no_position", "your position is not known yet"
    if spec.target.kind == "item":
        item = world.items.get(target_id)
        if item is None or item.held_by is not None:
            return "bad_target", "that item is not there to take"
        if item.kind not in spec.target.item_kinds:
            return "not_eligible", f"you cannot {spec.label or spec.verb} that"
        d = math.hypot(item.x - p.x, item.y - p.y)
        if d > spec.range:
            return "out_of_range", f"too far: {d:.0f} m (range {spec.range:.0f} m)"
        if spec.pickup:
            item.held_by, item.x, item.y = p.id, p.x, p.y
        queued.append(InteractionEvent(spec.verb, p, None, item))
        return None
    t = world.players.get(target_id)
    if t is None or not t.present or t.id == p.id or is_eliminated(world, t):
        return "bad_target", "no such player to do that to"
    if not ia.target(t) or not ia.relation(p, t):
        return "not_eligible", f"you cannot {spec.label or spec.verb} {t.name}"
    if not t.has_pos:
        return "out_of_range", f"{t.name}'s position is not known"
    d = haversine(p.lat, p.lng, t.lat, t.lng)
    if d > spec.range:
        return "out_of_range", f"too far: {d:.0f} m (range {spec.range:.0f} m)"
    if spec.confirm == "none" or t.bot is not None:
        # Bots cannot press buttons, so they confirm at once.
        queued.append(InteractionEvent(spec.verb, p, t))
        return None
    for c in world.claims.values():
        if (c.interaction, c.initiator, c.target) == (aid, p.id, t.id):
            return "already_pending", f"waiting for {t.name} to confirm"
    claim = Claim(world.next_id("c"), aid, p.id, t.id, now + spec.claim_timeout_ms / 1000.0)
    world.claims[claim.id] = claim
    base = {"claimId": claim.id, "actionId": aid, "verb": spec.verb, "label": spec.label}
    wait = round(claim.expires - now, 1)
    events.append(
        Event(
            (t.id,),
            "event",
            {
                "event": {
                    "type": "claim",
                    **base,
                    "from": p.id,
                    "fromName": p.name,
                    "expiresIn": wait,
                }
            },
        )
    )
    if p.bot is None:
        events.append(
            Event(
                (p.id,),
                "event",
                {
                    "event": {
                        "type": "claim_sent",
                        **base,
                        "to": t.id,
                        "toName": t.name,
                        "expiresIn": wait,
                    }
                },
            )
        )
    return None


def _answer_claim(
    world: World,
    now: float,
    p: Player,
    answer: str,
    payload: dict[str, Any],
    events: list[Event],
    queued: list[InteractionEvent],
) -> None:
    claim = world.claims.get(str(payload.get("claimId")))
    if claim is None or claim.target != p.id:
        raise Refused("unknown_claim", "nothing to answer (it may have expired)")
    del world.claims[claim.id]
    initiator = world.players[claim.initiator]
    ia = world.ruleset.interactions[claim.interaction]
    note = {"claimId": claim.id, "actionId": claim.interaction, "by": p.id}
    if answer == "deny":
        events.append(Event((initiator.id,), "event", {"event": {"type": "claim_denied", **note}}))
        return
    still_ok = (
        initiator.present
        and not is_eliminated(world, initiator)
        and ia.initiator(initiator)
        and ia.target(p)
        and ia.relation(initiator, p)
        and haversine(initiator.lat, initiator.lng, p.lat, p.lng) <= ia.spec.range
    )
    if not still_ok:
        events.append(Event((initiator.id,), "event", {"event": {"type": "claim_failed", **note}}))
        raise Refused("out_of_range", "too late: you are no longer in range or eligible")
    queued.append(InteractionEvent(ia.spec.verb, initiator, p))
    events.append(Event((initiator.id,), "event", {"event": {"type": "claim_confirmed", **note}}))


# --- GM commands -------------------------------------------------------------------------------


def _gm(world: World, now: float, inp: Input, events: list[Event]) -> None:
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
        _set_bot_count(world, cls.spec.id, count, events)
    elif cmd == "gm.tunable":
        bc = world.ruleset.tunables.get(str(d.get("key")))
        if bc is None or bc.tunable is None:
            raise Refused("unknown_tunable", f"unknown tunable {d.get('key')!r}")
        world.bot_speeds[bc.id] = _number(d, "value", bc.tunable.min, bc.tunable.max)
    elif cmd == "gm.spawn":
        kind = d.get("kind")
        if kind not in world.ruleset.item_types:
            raise Refused("unknown_item_kind", f"unknown item kind {kind!r}")
        at = d.get("at")
        if not isinstance(at, dict):
            raise Refused("bad_message", "at {lat, lng} is required")
        lat, lng = _number(at, "lat", -90, 90), _number(at, "lng", -180, 180)
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
        _leave(world, p, events)
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
    lat, lng = _number(origin, "lat", -90, 90), _number(origin, "lng", -180, 180)
    rot = _number(d, "rotation", -360, 360, 0.0)
    scale = _number(d, "scale", 0.05, 20, 1.0)
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


def _set_bot_count(
    world: World, cls_id: str, count: int, events: list[Event] | None = None
) -> None:
    cb = world.ruleset.bots[cls_id]
    mine = [p for p in world.players.values() if p.bot == cls_id and p.present]
    for p in mine[count:]:
        _leave(world, p, events if events is not None else [])
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


# --- lifecycle ---------------------------------------------------------------------------------


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


# --- the tick ----------------------------------------------------------------------------------


def _tick(world: World, now: float, events: list[Event], queued: list[InteractionEvent]) -> None:
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

    def add(*bs: Binding) -> None:
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
    for p in ctx.active:
        if p.bot is not None:
            continue
        obj: dict[str, Any] | None = None
        for o in rs.objectives:
            if not o.when(p):
                continue
            target = _nav_target(w, p, o, positioned)
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
        for q in positioned:
            if q is not p and o.nav_filter(q):
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
