"""The ruleset document: pydantic models for every part of it, and the error it is refused with.

These models are the first, structural pass (types, required fields, unknown fields, tagged
unions); ``checks.py`` runs them and then the second pass, over the whole document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Scalar = str | int | float | bool | None
ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
REF_RE = re.compile(r"^(same|other|item|world|target)(\.[A-Za-z_][A-Za-z0-9_]*)+$")
TEMPLATE_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
RESERVED_ACTION_IDS = frozenset({"confirm", "deny"})


class RulesetError(ValueError):
    """A ruleset was refused; ``errors`` lists every ``(path, message)`` found."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("\n".join(f"{p}: {m}" if p else m for p, m in errors))


# --- small value types -------------------------------------------------------------------------


def _check_scalar(v: Any) -> Any:
    if v is not None and not isinstance(v, str | int | float | bool):
        raise ValueError("must be a string, number, boolean or null")
    return v


def _check_state_bag(v: Any) -> Any:
    if not isinstance(v, dict):
        raise ValueError("must be a mapping of state keys to values")
    for k, x in v.items():
        if not isinstance(k, str) or not k:
            raise ValueError(f"state key {k!r} must be a non-empty string")
        _check_scalar(x)
    return v


ScalarV = Annotated[Any, AfterValidator(_check_scalar)]
StateBag = Annotated[dict[str, Any], AfterValidator(_check_state_bag)]


@dataclass(frozen=True, slots=True)
class Sel:
    """A parsed selector: ``any``, ``same``, ``other``, ``byTeam``, ``byId`` or ``byState``."""

    kind: str
    arg: Any = None


def _parse_selector(v: Any) -> Sel:
    if isinstance(v, Sel):
        return v
    if v in ("any", "same", "other"):
        return Sel(v)
    if isinstance(v, dict) and len(v) == 1:
        ((k, arg),) = v.items()
        if k in ("byTeam", "byId") and isinstance(arg, str) and arg:
            return Sel(k, arg)
        if k == "byState" and isinstance(arg, dict) and arg:
            return Sel(k, _check_state_bag(arg))
    raise ValueError(
        'must be "any", "same", "other", {byTeam: <team>}, {byId: <player>} or '
        "{byState: {<key>: <value>}}"
    )


@dataclass(frozen=True, slots=True)
class Val:
    """A parsed value: literal, ``{ref: "same.state.score"}`` or ``{sum: key, who: selector}``."""

    kind: str  # "lit" | "ref" | "sum"
    arg: Any = None
    who: Sel | None = None


def _parse_value(v: Any) -> Val:
    if isinstance(v, Val):
        return v
    if isinstance(v, dict):
        if set(v) == {"lit"}:
            return Val("lit", v["lit"])
        if set(v) == {"ref"}:
            ref = v["ref"]
            if not isinstance(ref, str) or not REF_RE.match(ref):
                raise ValueError(f"bad reference {ref!r}; write e.g. same.state.score")
            return Val("ref", ref)
        if set(v) in ({"sum"}, {"sum", "who"}) and isinstance(v["sum"], str):
            return Val("sum", v["sum"], _parse_selector(v.get("who", "any")))
        raise ValueError("a value mapping must be {lit: …}, {ref: …} or {sum: <key>, who: …}")
    if isinstance(v, list):
        raise ValueError("lists are not values; wrap them as {lit: [...]}")
    return Val("lit", _check_scalar(v))


def _parse_spawn_at(v: Any) -> Any:
    if v in ("same", "other"):
        return v
    if (
        isinstance(v, list | tuple)
        and len(v) == 2
        and all(isinstance(c, int | float) and not isinstance(c, bool) for c in v)
    ):
        return (float(v[0]), float(v[1]))
    raise ValueError('must be "same", "other" or local metres [x, y]')


def _empty_bag() -> dict[str, Any]:
    return {}


SelectorV = Annotated[Any, AfterValidator(_parse_selector)]
ValueV = Annotated[Any, AfterValidator(_parse_value)]
XY = tuple[float, float]


class _M(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class PlayerFilter(_M):
    """Matches players by team, state and whether they are bots; empty matches everyone."""

    team: str | None = None
    state: StateBag = Field(default_factory=dict)
    bot: bool | None = None


# --- conditions --------------------------------------------------------------------------------


class EnteredZone(_M):
    type: Literal["entered_zone"]
    zone_id: str


class LeftZone(_M):
    type: Literal["left_zone"]
    zone_id: str


class Proximity(_M):
    type: Literal["proximity"]
    metres: float = Field(gt=0, le=10_000)


class TickCond(_M):
    type: Literal["tick"]
    every_ms: int = Field(ge=100)


class InteractionCond(_M):
    type: Literal["interaction"]
    verb: str


class StateEquals(_M):
    type: Literal["state_equals"]
    who: SelectorV = Sel("same")
    key: str
    value: ScalarV = None


class CountState(_M):
    type: Literal["count_state"]
    who: SelectorV = Sel("any")
    key: str
    value: ScalarV = None
    n: int = Field(ge=0)


class Compare(_M):
    type: Literal["compare"]
    op: Literal["eq", "ne", "lt", "le", "gt", "ge"]
    left: ValueV
    right: ValueV


class AndCond(_M):
    type: Literal["and"]
    children: list[Condition] = Field(min_length=1)


class OrCond(_M):
    type: Literal["or"]
    children: list[Condition] = Field(min_length=1)


class NotCond(_M):
    type: Literal["not"]
    condition: Condition


Condition = Annotated[
    EnteredZone
    | LeftZone
    | Proximity
    | TickCond
    | InteractionCond
    | StateEquals
    | CountState
    | Compare
    | AndCond
    | OrCond
    | NotCond,
    Field(discriminator="type"),
]


# --- actions -----------------------------------------------------------------------------------


class SetState(_M):
    type: Literal["set_state"]
    who: SelectorV = Sel("same")
    key: str
    value: ValueV


class SetStateDelayed(_M):
    type: Literal["set_state_delayed"]
    who: SelectorV = Sel("same")
    key: str
    value: ValueV
    delay_ms: int = Field(ge=0)


class IncrementState(_M):
    type: Literal["increment_state"]
    who: SelectorV = Sel("same")
    key: str
    by: ValueV = Val("lit", 1)


class AssignStateRandom(_M):
    type: Literal["assign_state_random"]
    who: SelectorV = Sel("any")
    key: str
    value: ValueV = Val("lit", True)
    count: int = Field(default=1, ge=1)
    otherwise: ValueV | None = None


class AssignCycle(_M):
    type: Literal["assign_cycle"]
    who: SelectorV = Sel("any")
    key: str


class EventSpec(_M):
    type: str = Field(min_length=1)
    text: str = ""
    seconds: float | None = Field(default=None, ge=0)


class SendEvent(_M):
    type: Literal["send_event"]
    to: SelectorV = Sel("any")
    event: EventSpec


class LogAction(_M):
    type: Literal["log"]
    text: str


class EndGame(_M):
    type: Literal["end_game"]
    reason: str = "end_game"
    winners: SelectorV | None = None


class SpawnItem(_M):
    type: Literal["spawn_item"]
    kind: str
    at_point: str | None = None
    at: Annotated[Any, AfterValidator(_parse_spawn_at)] | None = None
    in_zone: str | None = None
    count: int = Field(default=1, ge=1, le=1000)


class DestroyItem(_M):
    type: Literal["destroy_item"]
    item: Literal["this"] | None = None
    kind: str | None = None
    held_by: SelectorV | None = None


Action = Annotated[
    SetState
    | SetStateDelayed
    | IncrementState
    | AssignStateRandom
    | AssignCycle
    | SendEvent
    | LogAction
    | EndGame
    | SpawnItem
    | DestroyItem,
    Field(discriminator="type"),
]


class Rule(_M):
    id: str
    when: Condition
    do_: list[Action] = Field(alias="do", min_length=1)


# --- map ---------------------------------------------------------------------------------------


class Zone(_M):
    id: str
    name: str = ""
    shape: Literal["rectangle", "circle", "polygon"]
    center: XY | None = None
    width: float | None = Field(default=None, gt=0)
    height: float | None = Field(default=None, gt=0)
    radius: float | None = Field(default=None, gt=0)
    points: list[XY] | None = None
    parent: str | None = None
    placeable: bool = False
    required: bool = False
    exclusion: bool = False
    navigable: bool = True
    min_area: float | None = Field(default=None, ge=0)
    max_area: float | None = Field(default=None, gt=0)
    team_id: str | None = None
    colour: str | None = None
    blocked_by: PlayerFilter | None = None
    confined_by: PlayerFilter | None = None


class Point(_M):
    id: str
    at: XY
    zone_id: str | None = None
    label: str = ""


class Decoration(_M):
    kind: Literal["line", "label", "marker"]
    points: list[XY] = Field(min_length=1)
    text: str = ""
    zone_id: str | None = None


class MapSpec(_M):
    zones: list[Zone] = Field(default_factory=list)
    points: list[Point] = Field(default_factory=list)
    decorations: list[Decoration] = Field(default_factory=list)


# --- items and interactions --------------------------------------------------------------------


class ItemType(_M):
    kind: str
    label: str = ""
    icon: str = ""


class ItemSpawn(_M):
    kind: str
    count: int = Field(default=1, ge=1, le=1000)
    in_zone: str | None = None
    at_point: str | None = None


class InteractionTarget(_M):
    kind: Literal["player", "item"]
    filter: PlayerFilter = Field(default_factory=PlayerFilter)
    relation: Literal["teammate", "opponent", "target"] | None = None
    target_key: str = "targetId"
    item_kinds: list[str] = Field(default_factory=list)


class Interaction(_M):
    id: str
    verb: str
    label: str = ""
    range: float = Field(default=5.0, gt=0, le=10_000)
    confirm: Literal["none", "mutual"] = "none"
    trigger: Literal["manual", "auto"] = "manual"
    initiator: PlayerFilter = Field(default_factory=PlayerFilter)
    target: InteractionTarget
    claim_timeout_ms: int = Field(default=15_000, ge=1000)
    pickup: bool = True


# --- bots --------------------------------------------------------------------------------------


class BtSelector(_M):
    type: Literal["selector"]
    children: list[BtNode] = Field(min_length=1)


class BtSequence(_M):
    type: Literal["sequence"]
    children: list[BtNode] = Field(min_length=1)


class BtStateEquals(_M):
    type: Literal["state_equals"]
    key: str
    value: ScalarV = None


class BtChaseNearest(_M):
    type: Literal["chase_nearest"]
    filter: PlayerFilter = Field(default_factory=PlayerFilter)
    radius: float | None = Field(default=None, gt=0)


class BtFleeNearest(_M):
    type: Literal["flee_nearest"]
    filter: PlayerFilter = Field(default_factory=PlayerFilter)
    radius: float = Field(default=30.0, gt=0)


class BtChaseTarget(_M):
    type: Literal["chase_target"]
    key: str = "targetId"


class BtWander(_M):
    type: Literal["wander"]
    zone_id: str | None = None


class BtInteract(_M):
    type: Literal["interact"]
    interaction_id: str


BtNode = Annotated[
    BtSelector
    | BtSequence
    | BtStateEquals
    | BtChaseNearest
    | BtFleeNearest
    | BtChaseTarget
    | BtWander
    | BtInteract,
    Field(discriminator="type"),
]


class Tunable(_M):
    key: str
    label: str = ""
    min: float = Field(gt=0)
    max: float = Field(gt=0)


class BotClass(_M):
    id: str
    name: str = ""
    team: str | None = None
    state: StateBag = Field(default_factory=dict)
    speed: float = Field(default=2.0, gt=0, le=50)
    min: int = Field(default=0, ge=0)
    max: int = Field(default=20, ge=0, le=500)
    count: int | None = Field(default=None, ge=0)
    spawn_zone: str | None = None
    tunable: Tunable | None = None
    tree: BtNode


# --- presentation ------------------------------------------------------------------------------


class Team(_M):
    id: str
    name: str = ""
    colour: str = "#888888"


class MarkerRule(_M):
    when: PlayerFilter = Field(default_factory=PlayerFilter)
    colour: str
    icon: str | None = None
    label: str | None = None


class Theme(_M):
    default_colour: str = "#1e88e5"
    markers: list[MarkerRule] = Field(default_factory=list)


class NavTarget(_M):
    zone_id: str | None = None
    point_id: str | None = None
    item_kind: str | None = None
    nearest_player: PlayerFilter | None = None
    player_ref: str | None = None


class Objective(_M):
    when: PlayerFilter = Field(default_factory=PlayerFilter)
    text: str
    target: NavTarget | None = None


class VisibilityRule(_M):
    viewer: PlayerFilter = Field(default_factory=PlayerFilter)
    target: PlayerFilter = Field(default_factory=PlayerFilter)
    relation: Literal["self", "teammate", "opponent", "target"] | None = None
    target_key: str = "targetId"
    within_metres: float | None = Field(default=None, gt=0)
    visible: bool


class Elimination(_M):
    key: str
    value: ScalarV


class RulesetSpec(_M):
    id: str
    name: str = Field(min_length=1)
    summary: str = ""
    version: int | str = 1
    min_players: int = Field(default=1, ge=1)
    max_players: int = Field(default=100, ge=1, le=10_000)
    teams: list[Team] = Field(default_factory=list)
    player_join_states: list[StateBag] = Field(default_factory=lambda: [_empty_bag()])
    countdown_seconds: float | None = Field(default=None, gt=0)
    map: MapSpec = Field(default_factory=MapSpec)
    item_types: list[ItemType] = Field(default_factory=list)
    items: list[ItemSpawn] = Field(default_factory=list)
    interactions: list[Interaction] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    on_start: list[Action] = Field(default_factory=list)
    bots: list[BotClass] = Field(default_factory=list)
    theme: Theme = Field(default_factory=Theme)
    objectives: list[Objective] = Field(default_factory=list)
    visibility: list[VisibilityRule] = Field(default_factory=list)
    visibility_default: bool = True
    public_state: list[str] = Field(default_factory=list)
    score_key: str = "score"
    elimination: Elimination | None = None


for _m in (AndCond, OrCond, NotCond, Rule, BtSelector, BtSequence, BotClass, RulesetSpec):
    _m.model_rebuild()
