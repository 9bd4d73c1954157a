"""Player inputs: joins, leaves, positions and actions (claims and their answers), and refusals.

Each function changes the world in place or raises :class:`Refused` (an ``error`` event to the
sender, nothing changed). Used by the engine's input step and, for bots, by the tick.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from .actions import add_log
from .conditions import InteractionEvent
from .geometry import Frame, haversine
from .state import ENDED, STARTED, Claim, Event, Input, Player
from .world import World

MAX_NAME = 40


Refusal = tuple[str, str]


class Refused(Exception):
    """An input was refused; carries an error ``code`` and a human ``message``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def is_eliminated(world: World, p: Player) -> bool:
    """Whether a player is out (the ruleset's ``elimination`` state matches)."""
    el = world.ruleset.elimination
    return el is not None and p.state.get(el[0]) == el[1]


def human(world: World, pid: str | None) -> Player:
    p = world.players.get(pid or "")
    if p is None or p.bot is not None or not p.present:
        raise Refused("unknown_player", "you are not in this game")
    return p


def number(data: dict[str, Any], key: str, lo: float, hi: float, default: Any = ...) -> float:
    v = data.get(key, default)
    if type(v) is float and lo <= v <= hi:  # the usual case; NaN and infinities fail the range
        return v
    if v is ...:
        raise Refused("bad_message", f"{key} is required")
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise Refused("bad_message", f"{key} must be a number")
    if not lo <= v <= hi:
        raise Refused("bad_message", f"{key} must be between {lo} and {hi}")
    return float(v)


def join(world: World, inp: Input, events: list[Event]) -> None:
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


def leave(world: World, p: Player, events: list[Event]) -> None:
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
    for zid, z in rs.guarded_zones:
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


def set_location(world: World, inp: Input) -> None:
    p = human(world, inp.sender)
    if world.status == ENDED:
        raise Refused("ended", "this game is over")
    d = inp.data
    lat = number(d, "lat", -90, 90)
    lng = number(d, "lng", -180, 180)
    acc = number(d, "accuracy", 0, 1e6, None) if d.get("accuracy") is not None else None
    heading = number(d, "heading", -360, 360, None) if d.get("heading") is not None else None
    ts = number(d, "ts", 0, 1e13, None) if d.get("ts") is not None else None
    if world.frame is None:
        world.frame = Frame(lat, lng)
    x, y = world.frame.to_xy(lat, lng)
    refusal = position_refusal(world, p, x, y)
    if refusal is not None:
        raise Refused(*refusal)
    p.lat, p.lng, p.x, p.y, p.has_pos = lat, lng, x, y, True
    p.accuracy, p.heading, p.ts = acc, heading, ts


def act(
    world: World, now: float, inp: Input, events: list[Event], queued: list[InteractionEvent]
) -> None:
    p = human(world, inp.sender)
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
