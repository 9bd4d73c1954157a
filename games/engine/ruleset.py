"""A validated ruleset compiled into fast plain-Python structures, plus map look-ups."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import yaml

from . import actions, bots, checks
from . import geometry as g
from . import schema as s
from .conditions import (
    ActionFn,
    Binding,
    CompiledCondition,
    ConditionCompiler,
    Ctx,
    PlayerPred,
    compile_filter,
    compile_template,
)
from .state import Player

if TYPE_CHECKING:
    # Only an annotation (map look-ups read a world's placements): worlds hold a ruleset.
    from .world import World


@dataclass(slots=True)
class ZoneInfo:
    """A zone's shape in local metres, the root zone whose placement moves it, and its cut-outs."""

    spec: s.Zone
    shape: g.Shape
    root: str
    cutouts: list[str]


# A zone's shape test in local metres, the root zone moving it, and whether that root is placeable.
ZoneTest = tuple[Callable[[float, float], bool], str, bool]


@dataclass(slots=True)
class CompiledRule:
    """One rule ready to run."""

    id: str
    cond: CompiledCondition
    actions: list[ActionFn]
    uses_same: bool  # the rule iterates players as its subject


@dataclass(slots=True)
class CompiledInteraction:
    """An interaction with its eligibility checks compiled."""

    spec: s.Interaction
    initiator: PlayerPred
    target: PlayerPred
    relation: Callable[[Player, Player], bool]


@dataclass(slots=True)
class VisibilityRule:
    """One compiled visibility rule; the first that matches a viewer/target pair decides."""

    viewer: PlayerPred
    target: PlayerPred
    relation: Callable[[Player, Player], bool] | None
    within: float | None
    visible: bool


@dataclass(slots=True)
class ObjectiveRule:
    """One compiled objective: who it is for, its text and its navigation target."""

    when: PlayerPred
    text: Callable[[Ctx, Binding], str]
    nav: s.NavTarget | None
    nav_filter: PlayerPred | None


def relation_check(kind: str | None, key: str = "targetId") -> Callable[[Player, Player], bool]:
    """How viewer/initiator ``a`` relates to target ``b``: self, teammate, opponent, target."""
    if kind is None:
        return lambda a, b: True
    if kind == "self":
        return lambda a, b: a.id == b.id
    if kind == "teammate":
        return lambda a, b: a.team is not None and a.team == b.team and a.id != b.id
    if kind == "opponent":
        return lambda a, b: a.team != b.team
    return lambda a, b: a.state.get(key) == b.id


class Ruleset:
    """A validated, compiled ruleset. Build it with :func:`parse_ruleset`."""

    def __init__(self, spec: s.RulesetSpec, source: dict[str, Any]):
        self.spec = spec
        self.source = source
        self.id = spec.id
        self.zones: dict[str, ZoneInfo] = {}
        by_id = {z.id: z for z in spec.map.zones}
        top_exclusions = [z.id for z in spec.map.zones if z.exclusion and z.parent is None]
        for z in spec.map.zones:
            root = z
            while root.parent is not None:
                root = by_id[root.parent]
            cut = [
                c.id for c in spec.map.zones if c.exclusion and c.id != z.id and (c.parent == z.id)
            ]
            if not z.exclusion:
                cut += [x for x in top_exclusions if x != z.id]
            self.zones[z.id] = ZoneInfo(z, _shape(z), root.id, cut)
        # What in_zone needs of each zone and its cut-outs, looked up once: the shape's test, the
        # root whose placement moves it and whether that root is placeable (else the map's).
        self._zone_tests: dict[str, tuple[ZoneTest, list[ZoneTest]]] = {}
        for zid, zi in self.zones.items():
            tests = [self._zone_test(c) for c in zi.cutouts]
            self._zone_tests[zid] = (self._zone_test(zid), tests)
        # Zones that can refuse a position (off limits, blocked or confining), in map order.
        self.guarded_zones = [
            (zid, zi)
            for zid, zi in self.zones.items()
            if not zi.spec.navigable
            or zi.spec.blocked_by is not None
            or zi.spec.confined_by is not None
        ]
        self.points = {p.id: p for p in spec.map.points}
        self.item_types = {t.kind: t for t in spec.item_types}
        self.teams = {t.id: t for t in spec.teams}
        self.interactions = {
            i.id: CompiledInteraction(
                i,
                compile_filter(i.initiator),
                compile_filter(i.target.filter),
                relation_check(i.target.relation, i.target.target_key),
            )
            for i in spec.interactions
        }
        cc = ConditionCompiler()
        self.rules: list[CompiledRule] = []
        for r in spec.rules:
            cond = cc.compile(r.when)
            uses_same = cond.uses_same or any(_mentions(a, "same") for a in r.do_)
            self.rules.append(
                CompiledRule(r.id, cond, [actions.compile_action(a) for a in r.do_], uses_same)
            )
        self.on_start = [actions.compile_action(a) for a in spec.on_start]
        self.timer_periods = cc.timer_periods
        self.tracked_zones = sorted(cc.zones_tracked)
        self.prox_metres = sorted(cc.prox_metres)
        self.max_prox = max(self.prox_metres, default=0.0)
        self.bots = {b.id: bots.compile_bot(b) for b in spec.bots}
        self.tunables = {b.tunable.key: b for b in spec.bots if b.tunable}
        self.markers = [(compile_filter(m.when), m) for m in spec.theme.markers]
        self.objectives = [
            ObjectiveRule(
                compile_filter(o.when),
                compile_template(o.text),
                o.target,
                compile_filter(o.target.nearest_player)
                if o.target and o.target.nearest_player
                else None,
            )
            for o in spec.objectives
        ]
        self.visibility = [
            VisibilityRule(
                compile_filter(v.viewer),
                compile_filter(v.target),
                relation_check(v.relation, v.target_key) if v.relation else None,
                v.within_metres,
                v.visible,
            )
            for v in spec.visibility
        ]
        el = spec.elimination
        self.elimination: tuple[str, Any] | None = (el.key, el.value) if el else None
        self.public_state = tuple(spec.public_state)

    def __repr__(self) -> str:
        return f"<Ruleset {self.id} v{self.spec.version}>"

    # --- map look-ups ------------------------------------------------------------------------

    def placement(self, world: World, zone_id: str) -> g.Placement | None:
        """The placement moving a zone: its placed root's, or the map's for fixed zones."""
        root = self.zones[zone_id].root
        if self.zones[root].spec.placeable:
            return world.placements.get(root)
        return world.map_placement

    def _zone_test(self, zone_id: str) -> ZoneTest:
        root = self.zones[zone_id].root
        return self.zones[zone_id].shape.contains, root, self.zones[root].spec.placeable

    def in_zone(self, world: World, zone_id: str, x: float, y: float) -> bool:
        """Whether world metres fall inside a placed zone and outside its cut-outs."""
        (contains, root, placeable), cutouts = self._zone_tests[zone_id]
        pl = world.placements.get(root) if placeable else world.map_placement
        if pl is None:
            return False
        if not contains(*pl.inverse(x, y)):
            return False
        for contains, root, placeable in cutouts:
            cpl = world.placements.get(root) if placeable else world.map_placement
            if cpl is not None and contains(*cpl.inverse(x, y)):
                return False
        return True

    def point_xy(self, world: World, point_id: str) -> tuple[float, float] | None:
        """World metres of a map point, once the zone (or map) carrying it is placed."""
        p = self.points[point_id]
        pl = self.placement(world, p.zone_id) if p.zone_id else world.map_placement
        return pl.forward(*p.at) if pl is not None else None

    def local_xy(self, world: World, x: float, y: float) -> tuple[float, float] | None:
        """World metres of a point in the map's local frame."""
        pl = world.map_placement
        return pl.forward(x, y) if pl is not None else None

    def random_in_zone(self, world: World, zone_id: str) -> tuple[float, float] | None:
        """A random world point inside a placed zone, avoiding its cut-outs."""
        z = self.zones[zone_id]
        pl = self.placement(world, zone_id)
        if pl is None:
            return None
        avoid = [
            (self.zones[c].shape, cp)
            for c in z.cutouts
            if (cp := self.placement(world, c)) is not None
        ]
        lx, ly = g.random_point_in(z.shape, world.rng, avoid, pl)
        return pl.forward(lx, ly)

    def zone_area(self, world: World, zone_id: str) -> float:
        """Placed area in m² (scale applies; cut-outs are not subtracted)."""
        pl = self.placement(world, zone_id)
        k = pl.scale if pl is not None else 1.0
        return self.zones[zone_id].shape.area() * k * k


def _shape(z: s.Zone) -> g.Shape:
    if z.shape == "circle":
        assert z.center is not None and z.radius is not None  # noqa: S101 - validated
        return g.Circle(z.center[0], z.center[1], z.radius)
    if z.shape == "rectangle":
        assert z.center is not None and z.width and z.height  # noqa: S101 - validated
        return g.Rect(z.center[0], z.center[1], z.width, z.height)
    assert z.points is not None  # noqa: S101 - validated
    return g.Polygon(tuple((float(x), float(y)) for x, y in z.points))


def _mentions(obj: Any, root: str) -> bool:
    """Whether an action mentions ``same``/``other`` anywhere (selector, ref or template)."""
    if isinstance(obj, s.Sel):
        return obj.kind == root
    if isinstance(obj, s.Val):
        if obj.kind == "ref":
            return str(obj.arg).split(".")[0] == root
        return obj.who is not None and obj.who.kind == root
    if isinstance(obj, str):
        return obj == root or any(
            m.group(1).split(".")[0] == root for m in s.TEMPLATE_RE.finditer(obj)
        )
    if isinstance(obj, s.BaseModel):
        return any(_mentions(getattr(obj, f), root) for f in type(obj).model_fields)
    if isinstance(obj, list | tuple):
        return any(_mentions(x, root) for x in obj)
    return False


def parse_ruleset(data: dict[str, Any]) -> Ruleset:
    """Validate a ruleset document and compile it; raises ``RulesetError`` with every problem."""
    spec = checks.parse_spec(data)
    # Keep a JSON-safe private copy: worlds embed it when they are serialised.
    source = json.loads(json.dumps(data))
    return Ruleset(spec, copy.deepcopy(source))


def load_ruleset_text(text: str, fmt: Literal["yaml", "json"] = "yaml") -> Ruleset:
    """Parse YAML or JSON text into a compiled ruleset; syntax errors become ``RulesetError``."""
    try:
        data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise s.RulesetError([("", f"not valid {fmt.upper()}: {exc}")]) from None
    return parse_ruleset(data)


def validate(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Every ``(path, message)`` wrong with a ruleset document; empty when it is valid."""
    try:
        parse_ruleset(data)
    except s.RulesetError as exc:
        return exc.errors
    return []
