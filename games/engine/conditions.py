"""Compiling conditions, selectors, values, templates and player filters into plain closures.

The ruleset is validated once by pydantic; what runs each tick is these closures over plain
Python objects, so a tick costs no model validation at all. A condition binds players: the
subject is ``same`` and the counterpart ``other``; an item interaction also binds ``item``.
Event conditions (zone crossings, proximity, timers, interactions) say which bindings a rule
considers on a tick; the rest only test them.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import schema as s
from .state import Event, Item, Player

if TYPE_CHECKING:
    # Only an annotation (the world a tick runs on): the world module sits above this one.
    from .world import World


@dataclass(slots=True)
class Binding:
    """Who a rule is about: subject ``same``, counterpart ``other``, bound ``item``."""

    same: Player | None = None
    other: Player | None = None
    item: Item | None = None
    verb: str | None = None
    target: dict[str, Any] | None = None  # objective navigation target, for {target.name}

    def key(self) -> tuple[str, str, str, str]:
        """Identity for de-duplicating bindings that several triggers produce."""
        return (
            self.same.id if self.same else "",
            self.other.id if self.other else "",
            self.item.id if self.item else "",
            self.verb or "",
        )


@dataclass(slots=True)
class InteractionEvent:
    """A completed interaction, consumed by ``interaction`` conditions this tick."""

    verb: str
    same: Player
    other: Player | None = None
    item: Item | None = None


@dataclass(slots=True)
class Ctx:
    """Everything a tick's conditions and actions may look at."""

    world: World
    now: float
    active: list[Player] = field(default_factory=list)
    entered: dict[str, set[str]] = field(default_factory=dict)
    left: dict[str, set[str]] = field(default_factory=dict)
    prox_new: dict[float, list[tuple[str, str]]] = field(default_factory=dict)
    prox_set: dict[float, set[tuple[str, str]]] = field(default_factory=dict)
    fired: set[int] = field(default_factory=set)
    interactions: list[InteractionEvent] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    ended: bool = False


Test = Callable[[Ctx, Binding], bool]
ActionFn = Callable[[Ctx, Binding], None]
ValueFn = Callable[[Ctx, Binding], Any]
SelectFn = Callable[[Ctx, Binding], list["Player"]]
PlayerPred = Callable[["Player"], bool]


# --- player filters ----------------------------------------------------------------------------


def compile_filter(f: s.PlayerFilter | None) -> PlayerPred:
    """A predicate over one player from a ``{team, state, bot}`` filter."""
    if f is None or (f.team is None and not f.state and f.bot is None):
        return lambda p: True
    team = f.team
    items = tuple(f.state.items())
    bot = f.bot

    def pred(p: Player) -> bool:
        if team is not None and p.team != team:
            return False
        if bot is not None and (p.bot is not None) != bot:
            return False
        st = p.state
        for k, v in items:  # noqa: SIM110 - hot path: a plain loop skips a generator per call
            if st.get(k) != v:
                return False
        return True

    return pred


# --- selectors and values ----------------------------------------------------------------------


def compile_selector(sel: s.Sel) -> SelectFn:
    """Players a selector names under a binding (present players only, in join order)."""
    kind, arg = sel.kind, sel.arg
    if kind == "any":
        return lambda c, b: c.active
    if kind == "same":
        return lambda c, b: [b.same] if b.same is not None and b.same.present else []
    if kind == "other":
        return lambda c, b: [b.other] if b.other is not None and b.other.present else []
    if kind == "byTeam":
        return lambda c, b: [p for p in c.active if p.team == arg]
    if kind == "byId":

        def by_id(c: Ctx, b: Binding) -> list[Player]:
            p = c.world.players.get(arg)
            return [p] if p is not None and p.present else []

        return by_id
    pred = compile_filter(s.PlayerFilter(state=arg))
    return lambda c, b: [p for p in c.active if pred(p)]


def _player_attr(p: Player | None, parts: list[str], ctx: Ctx, b: Binding) -> Any:
    if p is None:
        return None
    a = parts[0]
    if a == "state":
        return p.state.get(parts[1])
    if a == "id":
        return p.id
    if a == "name":
        return p.name
    if a == "team":
        return p.team
    if a == "bot":
        return p.bot is not None
    return None


def compile_ref(ref: str) -> ValueFn:
    """Resolve ``same.state.score``, ``other.name``, ``item.kind``, ``world.remainingSeconds`` …"""
    root, *parts = ref.split(".")
    if root == "same":
        return lambda c, b: _player_attr(b.same, parts, c, b)
    if root == "other":
        return lambda c, b: _player_attr(b.other, parts, c, b)
    if root == "target":
        key = parts[-1]
        return lambda c, b: (b.target or {}).get(key)
    if root == "item":
        key = parts[0]

        def item_attr(c: Ctx, b: Binding) -> Any:
            if b.item is None:
                return None
            if key == "label":
                t = c.world.ruleset.item_types.get(b.item.kind)
                return t.label if t else b.item.kind
            return getattr(b.item, key, None)

        return item_attr
    key = parts[0]
    if key == "remainingSeconds":
        return lambda c, b: c.world.remaining()
    if key == "elapsedSeconds":
        return lambda c, b: c.world.elapsed()
    if key == "playerCount":
        return lambda c, b: len(c.active)
    return lambda c, b: c.world.status


def compile_value(v: s.Val) -> ValueFn:
    """A literal, reference or sum as a closure."""
    if v.kind == "lit":
        lit = v.arg
        return lambda c, b: lit
    if v.kind == "ref":
        return compile_ref(v.arg)
    key = v.arg
    assert v.who is not None  # noqa: S101 - sums always carry a selector
    who = compile_selector(v.who)

    def total(c: Ctx, b: Binding) -> float:
        t = 0.0
        for p in who(c, b):
            x = p.state.get(key)
            if isinstance(x, int | float) and not isinstance(x, bool):
                t += x
        return int(t) if t.is_integer() else t

    return total


def fmt(v: Any) -> str:
    """How a value reads inside a message."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isfinite(v) and v.is_integer():
            return str(int(v))
        return f"{v:.1f}"
    return str(v)


def compile_template(text: str) -> Callable[[Ctx, Binding], str]:
    """``"{same.name} tagged {other.name}"`` as a closure; plain text costs nothing."""
    pieces: list[str | ValueFn] = []
    pos = 0
    for m in s.TEMPLATE_RE.finditer(text):
        if m.start() > pos:
            pieces.append(text[pos : m.start()])
        pieces.append(compile_ref(m.group(1)))
        pos = m.end()
    if pos < len(text):
        pieces.append(text[pos:])
    if all(isinstance(x, str) for x in pieces):
        return lambda c, b: text

    def render(c: Ctx, b: Binding) -> str:
        return "".join([x if isinstance(x, str) else fmt(x(c, b)) for x in pieces])

    return render


# --- conditions --------------------------------------------------------------------------------

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


@dataclass(slots=True)
class Trigger:
    """An event source a rule listens to: ``enter``/``leave`` (zone), ``prox`` (metres),
    ``tick`` (timer index) or ``interaction`` (verb)."""

    kind: str
    arg: Any


@dataclass(slots=True)
class CompiledCondition:
    """A condition's test plus the triggers found inside it."""

    test: Test
    triggers: list[Trigger]
    uses_same: bool
    uses_other: bool


class ConditionCompiler:
    """Compiles condition trees; numbers ``tick`` timers across the whole ruleset."""

    def __init__(self) -> None:
        self.timer_periods: list[float] = []
        self.zones_tracked: set[str] = set()
        self.prox_metres: set[float] = set()

    def compile(self, c: Any) -> CompiledCondition:
        """Compile one condition tree."""
        triggers: list[Trigger] = []
        uses = {"same": False, "other": False}
        test = self._c(c, triggers, uses)
        return CompiledCondition(test, triggers, uses["same"], uses["other"])

    def _c(self, c: Any, trig: list[Trigger], uses: dict[str, bool]) -> Test:
        if isinstance(c, s.EnteredZone | s.LeftZone):
            zone = c.zone_id
            self.zones_tracked.add(zone)
            uses["same"] = True
            kind = "enter" if isinstance(c, s.EnteredZone) else "leave"
            trig.append(Trigger(kind, zone))
            if kind == "enter":
                return lambda ctx, b: b.same is not None and b.same.id in ctx.entered.get(zone, ())
            return lambda ctx, b: b.same is not None and b.same.id in ctx.left.get(zone, ())
        if isinstance(c, s.Proximity):
            m = float(c.metres)
            self.prox_metres.add(m)
            uses["same"] = uses["other"] = True
            trig.append(Trigger("prox", m))

            def prox(ctx: Ctx, b: Binding) -> bool:
                if b.same is None or b.other is None:
                    return False
                return (b.same.id, b.other.id) in ctx.prox_set.get(m, ())

            return prox
        if isinstance(c, s.TickCond):
            idx = len(self.timer_periods)
            self.timer_periods.append(c.every_ms / 1000.0)
            trig.append(Trigger("tick", idx))
            return lambda ctx, b: idx in ctx.fired
        if isinstance(c, s.InteractionCond):
            verb = c.verb
            trig.append(Trigger("interaction", verb))
            return lambda ctx, b: b.verb == verb
        if isinstance(c, s.StateEquals):
            key, val = c.key, c.value
            if c.who.kind == "other":
                uses["other"] = True
                return lambda ctx, b: b.other is not None and b.other.state.get(key) == val
            uses["same"] = True
            return lambda ctx, b: b.same is not None and b.same.state.get(key) == val
        if isinstance(c, s.CountState):
            who = compile_selector(c.who)
            self._note_sel(c.who, uses)
            key, val, n = c.key, c.value, c.n
            return lambda ctx, b: sum(1 for p in who(ctx, b) if p.state.get(key) == val) == n
        if isinstance(c, s.Compare):
            left, right = compile_value(c.left), compile_value(c.right)
            self._note_val(c.left, uses)
            self._note_val(c.right, uses)
            op = _OPS[c.op]

            def compare(ctx: Ctx, b: Binding) -> bool:
                try:
                    return bool(op(left(ctx, b), right(ctx, b)))
                except TypeError:
                    # Comparing a missing value (None) with a number is simply false.
                    return False

            return compare
        if isinstance(c, s.AndCond):
            parts = [self._c(x, trig, uses) for x in c.children]

            def and_(ctx: Ctx, b: Binding) -> bool:
                for t in parts:  # noqa: SIM110 - hot path: a plain loop skips a generator
                    if not t(ctx, b):
                        return False
                return True

            return and_
        if isinstance(c, s.OrCond):
            parts = [self._c(x, trig, uses) for x in c.children]

            def or_(ctx: Ctx, b: Binding) -> bool:
                for t in parts:  # noqa: SIM110 - hot path: a plain loop skips a generator
                    if t(ctx, b):
                        return True
                return False

            return or_
        inner = self._c(c.condition, trig, uses)
        return lambda ctx, b: not inner(ctx, b)

    @staticmethod
    def _note_sel(sel: s.Sel, uses: dict[str, bool]) -> None:
        if sel.kind in ("same", "other"):
            uses[sel.kind] = True

    def _note_val(self, v: s.Val, uses: dict[str, bool]) -> None:
        if v.kind == "ref":
            root = v.arg.split(".")[0]
            if root in uses:
                uses[root] = True
        elif v.kind == "sum" and v.who is not None:
            self._note_sel(v.who, uses)
