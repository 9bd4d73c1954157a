"""Validating a ruleset document: both passes, every error with its exact path.

A ruleset is parsed in two passes. The first is structural (pydantic: types, required fields,
unknown fields, tagged unions — the models in ``schema.py``); the second walks the parsed
document and checks everything that needs the whole document: unique ids, references to zones,
points, item kinds, teams, interactions and state keys, and where the subject (`same`),
counterpart (`other`) or bound item may be used. Both passes collect every error with its exact
path before refusing, so an author fixes a broken file in one go.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from . import geometry
from .schema import (
    ID_RE,
    REF_RE,
    RESERVED_ACTION_IDS,
    TEMPLATE_RE,
    AndCond,
    AssignCycle,
    AssignStateRandom,
    BotClass,
    BtChaseNearest,
    BtChaseTarget,
    BtFleeNearest,
    BtInteract,
    BtSelector,
    BtSequence,
    BtStateEquals,
    BtWander,
    Compare,
    CountState,
    DestroyItem,
    EndGame,
    EnteredZone,
    IncrementState,
    Interaction,
    InteractionCond,
    LeftZone,
    LogAction,
    NavTarget,
    NotCond,
    OrCond,
    PlayerFilter,
    Proximity,
    RulesetError,
    RulesetSpec,
    Sel,
    SendEvent,
    SetState,
    SetStateDelayed,
    SpawnItem,
    StateEquals,
    Val,
    Zone,
)

# Discriminator tags pydantic inserts into error locations; a path reads better without them.
_TAGS = frozenset(
    {
        "entered_zone",
        "left_zone",
        "proximity",
        "tick",
        "interaction",
        "state_equals",
        "count_state",
        "compare",
        "and",
        "or",
        "not",
        "set_state",
        "set_state_delayed",
        "increment_state",
        "assign_state_random",
        "assign_cycle",
        "send_event",
        "log",
        "end_game",
        "spawn_item",
        "destroy_item",
        "selector",
        "sequence",
        "chase_nearest",
        "flee_nearest",
        "chase_target",
        "wander",
        "interact",
        "function-after[_parse_selector(), any]",
        "function-after[_parse_value(), any]",
    }
)


def format_path(loc: Iterable[str | int]) -> str:
    """Render a location tuple as ``rules[3].when.children[1].zoneId``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _TAGS or part.startswith("function-after["):
            continue
        else:
            out += f".{part}" if out else part
    return out


def _message(err: Any) -> str:
    t = err["type"]
    if t == "extra_forbidden":
        return "unknown field"
    if t == "missing":
        return "required field is missing"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def parse_spec(data: Any) -> RulesetSpec:
    """Validate a ruleset document fully; raise :class:`RulesetError` with every problem."""
    if not isinstance(data, dict):
        raise RulesetError([("", "a ruleset must be a mapping at the top level")])
    try:
        spec = RulesetSpec.model_validate(data)
    except ValidationError as exc:
        raise RulesetError([(format_path(e["loc"]), _message(e)) for e in exc.errors()]) from None
    errors = _Checker(spec).run()
    if errors:
        raise RulesetError(errors)
    return spec


# --- pass 2: cross references ------------------------------------------------------------------


class _Checker:
    """Walks a structurally valid ruleset and collects cross-reference errors with paths."""

    def __init__(self, spec: RulesetSpec):
        self.s = spec
        self.errors: list[tuple[str, str]] = []
        self.teams = {t.id for t in spec.teams}
        self.zones = {z.id: z for z in spec.map.zones}
        self.points = {p.id for p in spec.map.points}
        self.kinds = {t.kind for t in spec.item_types}
        self.interactions = {i.id: i for i in spec.interactions}
        self.verbs = {i.verb for i in spec.interactions}
        self.player_verbs = {i.verb for i in spec.interactions if i.target.kind == "player"}
        self.item_verbs = {i.verb for i in spec.interactions if i.target.kind == "item"}
        self.state_keys = self._written_keys()

    def err(self, path: str, msg: str) -> None:
        self.errors.append((path, msg))

    def _written_keys(self) -> set[str]:
        keys: set[str] = set()
        for bag in self.s.player_join_states:
            keys.update(bag)
        for b in self.s.bots:
            keys.update(b.state)
        actions = list(self.s.on_start) + [a for r in self.s.rules for a in r.do_]
        for a in actions:
            if isinstance(
                a,
                SetState | SetStateDelayed | IncrementState | AssignStateRandom | AssignCycle,
            ):
                keys.add(a.key)
        return keys

    def run(self) -> list[tuple[str, str]]:
        s = self.s
        if not ID_RE.match(s.id):
            self.err("id", "must start with a letter and use letters, digits, _ or -")
        if s.min_players > s.max_players:
            self.err("minPlayers", f"is above maxPlayers ({s.max_players})")
        if not s.player_join_states:
            self.err("playerJoinStates", "needs at least one state bag (it may be {})")
        self._unique("teams", [t.id for t in s.teams])
        self._unique("map.zones", [z.id for z in s.map.zones])
        self._unique("map.points", [p.id for p in s.map.points], "id")
        self._unique("itemTypes", [t.kind for t in s.item_types], "kind")
        self._unique("interactions", [i.id for i in s.interactions])
        self._unique("rules", [r.id for r in s.rules])
        self._unique("bots", [b.id for b in s.bots])
        tunables = [b.tunable.key for b in s.bots if b.tunable]
        if len(set(tunables)) != len(tunables):
            self.err("bots", "tunable keys must be unique")
        for i, z in enumerate(s.map.zones):
            self._zone(f"map.zones[{i}]", z)
        for i, p in enumerate(s.map.points):
            if p.zone_id is not None:
                self._zone_ref(f"map.points[{i}].zoneId", p.zone_id)
        for i, d in enumerate(s.map.decorations):
            if d.zone_id is not None:
                self._zone_ref(f"map.decorations[{i}].zoneId", d.zone_id)
        for i, it in enumerate(s.items):
            path = f"items[{i}]"
            self._kind_ref(f"{path}.kind", it.kind)
            if (it.in_zone is None) == (it.at_point is None):
                self.err(path, "give exactly one of inZone or atPoint")
            if it.in_zone is not None:
                self._zone_ref(f"{path}.inZone", it.in_zone)
            if it.at_point is not None:
                self._point_ref(f"{path}.atPoint", it.at_point)
        for i, ia in enumerate(s.interactions):
            self._interaction(f"interactions[{i}]", ia)
        for i, r in enumerate(s.rules):
            binds_other = self._binds(r.when, self.player_verbs)
            binds_item = self._binds_item(r.when)
            self._cond(f"rules[{i}].when", r.when, binds_other)
            for j, a in enumerate(r.do_):
                self._action(f"rules[{i}].do[{j}]", a, True, binds_other, binds_item)
        for j, a in enumerate(s.on_start):
            self._action(f"onStart[{j}]", a, False, False, False)
        for i, b in enumerate(s.bots):
            self._bot(f"bots[{i}]", b)
        for i, m in enumerate(s.theme.markers):
            self._filter(f"theme.markers[{i}].when", m.when)
        for i, o in enumerate(s.objectives):
            self._filter(f"objectives[{i}].when", o.when)
            self._template(f"objectives[{i}].text", o.text, True, False, False, target=True)
            if o.target is not None:
                self._nav(f"objectives[{i}].target", o.target)
        for i, v in enumerate(s.visibility):
            self._filter(f"visibility[{i}].viewer", v.viewer)
            self._filter(f"visibility[{i}].target", v.target)
            if v.relation == "target":
                self._key(f"visibility[{i}].targetKey", v.target_key)
        for i, k in enumerate(s.public_state):
            self._key(f"publicState[{i}]", k)
        if s.elimination is not None:
            self._key("elimination.key", s.elimination.key)
        return self.errors

    # helpers

    def _unique(self, path: str, ids: list[str], field: str = "id") -> None:
        seen: set[str] = set()
        for i, x in enumerate(ids):
            if not ID_RE.match(x):
                self.err(f"{path}[{i}].{field}", f"bad id {x!r}: use letters, digits, _ or -")
            if x in seen:
                self.err(f"{path}[{i}].{field}", f'duplicate {field} "{x}"')
            seen.add(x)

    def _ref(self, path: str, value: str, known: Iterable[str], what: str) -> None:
        if value not in known:
            self.err(path, f'unknown {what} "{value}"')

    def _zone_ref(self, path: str, z: str) -> None:
        self._ref(path, z, self.zones, "zone")

    def _point_ref(self, path: str, p: str) -> None:
        self._ref(path, p, self.points, "point")

    def _kind_ref(self, path: str, k: str) -> None:
        self._ref(path, k, self.kinds, "item kind")

    def _team_ref(self, path: str, t: str) -> None:
        self._ref(path, t, self.teams, "team")

    def _key(self, path: str, k: str) -> None:
        if k not in self.state_keys:
            self.err(path, f'unknown state key "{k}" (no join state, bot state or action sets it)')

    def _filter(self, path: str, f: PlayerFilter) -> None:
        if f.team is not None:
            self._team_ref(f"{path}.team", f.team)
        for k in f.state:
            self._key(f"{path}.state.{k}", k)

    def _zone(self, path: str, z: Zone) -> None:
        if z.shape == "circle":
            if z.center is None:
                self.err(f"{path}.center", "required for a circle")
            if z.radius is None:
                self.err(f"{path}.radius", "required for a circle")
        elif z.shape == "rectangle":
            for f in ("center", "width", "height"):
                if getattr(z, f) is None:
                    self.err(f"{path}.{f}", "required for a rectangle")
        else:
            if z.points is None or len(z.points) < 3:
                self.err(f"{path}.points", "a polygon needs at least 3 points")
            elif not geometry.polygon_is_simple(tuple(z.points)):
                self.err(f"{path}.points", "polygon edges must not cross")
            elif geometry.Polygon(tuple(z.points)).area() <= 0:
                self.err(f"{path}.points", "polygon has no area")
        if z.parent is not None:
            self._zone_ref(f"{path}.parent", z.parent)
            seen = {z.id}
            cur: Zone | None = self.zones.get(z.parent)
            while cur is not None:
                if cur.id in seen:
                    self.err(f"{path}.parent", "zones nest in a cycle")
                    break
                seen.add(cur.id)
                cur = self.zones.get(cur.parent) if cur.parent else None
            if z.placeable:
                self.err(f"{path}.placeable", "a nested zone moves with its parent")
        if z.min_area is not None and z.max_area is not None and z.min_area > z.max_area:
            self.err(f"{path}.minArea", "is above maxArea")
        if z.team_id is not None:
            self._team_ref(f"{path}.teamId", z.team_id)
        if z.blocked_by is not None:
            self._filter(f"{path}.blockedBy", z.blocked_by)
        if z.confined_by is not None:
            self._filter(f"{path}.confinedBy", z.confined_by)

    def _interaction(self, path: str, ia: Interaction) -> None:
        if ia.id in RESERVED_ACTION_IDS:
            self.err(f"{path}.id", f'"{ia.id}" is reserved for answering mutual interactions')
        self._filter(f"{path}.initiator", ia.initiator)
        t = ia.target
        if t.kind == "player":
            self._filter(f"{path}.target.filter", t.filter)
            if t.item_kinds:
                self.err(f"{path}.target.itemKinds", "only for item targets")
            if t.relation == "target":
                self._key(f"{path}.target.targetKey", t.target_key)
            if ia.trigger == "auto":
                self.err(
                    f"{path}.trigger",
                    "auto needs an item target; use a proximity rule between players",
                )
        else:
            if not t.item_kinds:
                self.err(f"{path}.target.itemKinds", "name at least one item kind")
            for j, k in enumerate(t.item_kinds):
                self._kind_ref(f"{path}.target.itemKinds[{j}]", k)
            if t.relation is not None:
                self.err(f"{path}.target.relation", "only for player targets")
            if ia.confirm == "mutual":
                self.err(f"{path}.confirm", "an item cannot confirm; use none")

    def _binds(self, c: Any, verbs: set[str]) -> bool:
        if isinstance(c, Proximity):
            return True
        if isinstance(c, InteractionCond):
            return c.verb in verbs
        if isinstance(c, AndCond | OrCond):
            return any(self._binds(x, verbs) for x in c.children)
        if isinstance(c, NotCond):
            return self._binds(c.condition, verbs)
        return False

    def _binds_item(self, c: Any) -> bool:
        if isinstance(c, InteractionCond):
            return c.verb in self.item_verbs
        if isinstance(c, AndCond | OrCond):
            return any(self._binds_item(x) for x in c.children)
        if isinstance(c, NotCond):
            return self._binds_item(c.condition)
        return False

    def _selector(self, path: str, sel: Sel, bound: bool, other: bool) -> None:
        if sel.kind == "same" and not bound:
            self.err(path, "same is not bound here (no rule subject); use any or byTeam")
        elif sel.kind == "other" and not other:
            self.err(path, "other is only bound by proximity or a player interaction")
        elif sel.kind == "byTeam":
            self._team_ref(path + ".byTeam", sel.arg)
        elif sel.kind == "byState":
            for k in sel.arg:
                self._key(f"{path}.byState.{k}", k)

    def _refpath(
        self, path: str, ref: str, bound: bool, other: bool, item: bool, target: bool = False
    ) -> None:
        parts = ref.split(".")
        root = parts[0]
        if root == "same" and not bound:
            self.err(path, f'"{ref}": same is not bound here')
        elif root == "other" and not other:
            self.err(path, f'"{ref}": other is only bound by proximity or a player interaction')
        elif root == "item" and not item:
            self.err(path, f'"{ref}": item is only bound by an item interaction')
        elif root == "target" and not target:
            self.err(path, f'"{ref}": target is only bound in objective text')
        if root in ("same", "other", "target"):
            if len(parts) == 3 and parts[1] == "state":
                if root != "target":
                    self._key(path, parts[2])
            elif len(parts) != 2 or parts[1] not in ("id", "name", "team", "bot", "distance"):
                self.err(path, f'"{ref}": use {root}.id, .name, .team, .bot or .state.<key>')
        elif root == "item":
            if len(parts) != 2 or parts[1] not in ("id", "kind", "label"):
                self.err(path, f'"{ref}": use item.id, item.kind or item.label')
        elif root == "world" and (
            len(parts) != 2
            or parts[1] not in ("remainingSeconds", "elapsedSeconds", "playerCount", "status")
        ):
            self.err(
                path,
                f'"{ref}": use world.remainingSeconds, .elapsedSeconds, .playerCount or .status',
            )

    def _value(self, path: str, v: Val, bound: bool, other: bool, item: bool) -> None:
        if v.kind == "ref":
            self._refpath(path + ".ref", v.arg, bound, other, item)
        elif v.kind == "sum":
            self._key(path + ".sum", v.arg)
            assert v.who is not None  # noqa: S101 - _parse_value always sets it for sums
            self._selector(path + ".who", v.who, bound, other)

    def _template(
        self,
        path: str,
        text: str,
        bound: bool,
        other: bool,
        item: bool,
        target: bool = False,
    ) -> None:
        for m in TEMPLATE_RE.finditer(text):
            ref = m.group(1)
            if REF_RE.match(ref):
                self._refpath(path, ref, bound, other, item, target)
            else:
                self.err(path, f'"{{{ref}}}" is not a reference; write e.g. {{same.name}}')

    def _cond(self, path: str, c: Any, other: bool) -> None:
        if isinstance(c, EnteredZone | LeftZone):
            self._zone_ref(f"{path}.zoneId", c.zone_id)
        elif isinstance(c, InteractionCond):
            self._ref(f"{path}.verb", c.verb, self.verbs, "interaction verb")
        elif isinstance(c, StateEquals):
            if c.who.kind not in ("same", "other"):
                self.err(f"{path}.who", "state_equals tests same or other; use count_state")
            self._selector(f"{path}.who", c.who, True, other)
            self._key(f"{path}.key", c.key)
        elif isinstance(c, CountState):
            self._selector(f"{path}.who", c.who, True, other)
            self._key(f"{path}.key", c.key)
        elif isinstance(c, Compare):
            self._value(f"{path}.left", c.left, True, other, False)
            self._value(f"{path}.right", c.right, True, other, False)
        elif isinstance(c, AndCond | OrCond):
            for i, x in enumerate(c.children):
                self._cond(f"{path}.children[{i}]", x, other)
        elif isinstance(c, NotCond):
            self._cond(f"{path}.condition", c.condition, other)

    def _action(self, path: str, a: Any, bound: bool, other: bool, item: bool) -> None:
        if isinstance(a, SetState | SetStateDelayed | IncrementState | AssignStateRandom):
            self._selector(f"{path}.who", a.who, bound, other)
            v = a.by if isinstance(a, IncrementState) else a.value
            self._value(
                f"{path}.{'by' if isinstance(a, IncrementState) else 'value'}",
                v,
                bound,
                other,
                item,
            )
            if isinstance(a, AssignStateRandom) and a.otherwise is not None:
                self._value(f"{path}.otherwise", a.otherwise, bound, other, item)
        elif isinstance(a, AssignCycle):
            self._selector(f"{path}.who", a.who, bound, other)
        elif isinstance(a, SendEvent):
            self._selector(f"{path}.to", a.to, bound, other)
            self._template(f"{path}.event.text", a.event.text, bound, other, item)
        elif isinstance(a, LogAction):
            self._template(f"{path}.text", a.text, bound, other, item)
        elif isinstance(a, EndGame):
            if a.winners is not None:
                self._selector(f"{path}.winners", a.winners, bound, other)
        elif isinstance(a, SpawnItem):
            self._kind_ref(f"{path}.kind", a.kind)
            given = [x for x in (a.at_point, a.at, a.in_zone) if x is not None]
            if len(given) != 1:
                self.err(path, "give exactly one of atPoint, at or inZone")
            if a.at_point is not None:
                self._point_ref(f"{path}.atPoint", a.at_point)
            if a.in_zone is not None:
                self._zone_ref(f"{path}.inZone", a.in_zone)
            if a.at == "same" and not bound:
                self.err(f"{path}.at", "same is not bound here")
            if a.at == "other" and not other:
                self.err(f"{path}.at", "other is only bound by proximity or a player interaction")
        elif isinstance(a, DestroyItem):
            if a.item is None and a.kind is None and a.held_by is None:
                self.err(path, "name the item: item: this, kind, heldBy, or a combination")
            if a.item == "this" and not item:
                self.err(f"{path}.item", "this is only bound by an item interaction")
            if a.kind is not None:
                self._kind_ref(f"{path}.kind", a.kind)
            if a.held_by is not None:
                self._selector(f"{path}.heldBy", a.held_by, bound, other)

    def _bot(self, path: str, b: BotClass) -> None:
        if b.team is not None:
            self._team_ref(f"{path}.team", b.team)
        elif self.teams:
            self.err(f"{path}.team", "this game has teams; give the bot class one")
        if b.min > b.max:
            self.err(f"{path}.min", f"is above max ({b.max})")
        if b.count is not None and not b.min <= b.count <= b.max:
            self.err(f"{path}.count", f"must be between min ({b.min}) and max ({b.max})")
        if b.spawn_zone is not None:
            self._zone_ref(f"{path}.spawnZone", b.spawn_zone)
        if b.tunable is not None:
            t = b.tunable
            if t.min > t.max:
                self.err(f"{path}.tunable.min", "is above max")
            elif not t.min <= b.speed <= t.max:
                self.err(f"{path}.speed", f"must be within the tunable's range {t.min}..{t.max}")
        self._bt(f"{path}.tree", b.tree)

    def _bt(self, path: str, n: Any) -> None:
        if isinstance(n, BtSelector | BtSequence):
            for i, c in enumerate(n.children):
                self._bt(f"{path}.children[{i}]", c)
        elif isinstance(n, BtStateEquals):
            self._key(f"{path}.key", n.key)
        elif isinstance(n, BtChaseNearest | BtFleeNearest):
            self._filter(f"{path}.filter", n.filter)
        elif isinstance(n, BtChaseTarget):
            self._key(f"{path}.key", n.key)
        elif isinstance(n, BtWander):
            if n.zone_id is not None:
                self._zone_ref(f"{path}.zoneId", n.zone_id)
        elif isinstance(n, BtInteract):
            ia = self.interactions.get(n.interaction_id)
            if ia is None:
                self.err(f"{path}.interactionId", f'unknown interaction "{n.interaction_id}"')
            elif ia.trigger == "auto":
                self.err(f"{path}.interactionId", "automatic interactions need no bot node")

    def _nav(self, path: str, t: NavTarget) -> None:
        given = [
            f
            for f in ("zone_id", "point_id", "item_kind", "nearest_player", "player_ref")
            if getattr(t, f) is not None
        ]
        if len(given) != 1:
            self.err(
                path, "give exactly one of zoneId, pointId, itemKind, nearestPlayer, playerRef"
            )
        if t.zone_id is not None:
            self._zone_ref(f"{path}.zoneId", t.zone_id)
        if t.point_id is not None:
            self._point_ref(f"{path}.pointId", t.point_id)
        if t.item_kind is not None:
            self._kind_ref(f"{path}.itemKind", t.item_kind)
        if t.nearest_player is not None:
            self._filter(f"{path}.nearestPlayer", t.nearest_player)
        if t.player_ref is not None:
            self._key(f"{path}.playerRef", t.player_ref)
