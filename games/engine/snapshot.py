"""Per-viewer snapshots: what each player may see, and everything for the GM (spectator).

A snapshot is a plain JSON-safe dict. Other players appear with a position only when the
ruleset's visibility rules allow it (first matching rule wins; the viewer always sees
themselves; the GM sees everyone). An item carried by a hidden player is hidden with them, and
an objective never points at a player the viewer may not see, so nothing leaks a position.
The parts every viewer shares (zones, marker colours, item and player entries) are built, and
for JSON encoded, once per tick.

A player's snapshot is bounded by a view radius (metres, ``view_radius``): while the game runs,
other players farther than that from the viewer are not listed at all, nor are their scores, so
a frame does not grow with the session. Players are found through a grid of cells one radius
wide, built once per tick, so a viewer looks at its own and the eight cells around it, not at
every player. A viewer without a position, the GM, and everyone after the end see every player.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from .engine import is_eliminated, preflight
from .geometry import haversine, plane_bounds
from .state import ENDED, GM, STARTED, STOPPED, Player
from .world import World

ND = 7  # decimals of latitude/longitude: about a centimetre

# json.dumps(o, separators=(",", ":")) without building an encoder per call; snapshots are
# trees of plain values, so the circular-reference check has nothing to find.
_encoder = json.JSONEncoder(separators=(",", ":"), check_circular=False)
_dumps: Callable[[Any], str] = _encoder.encode
if c_make_encoder is not None:
    # JSONEncoder.encode builds this same C encoder on every call, which for the many small
    # parts of a snapshot costs as much as the encoding itself; built once, the text is the same.
    _c_encode = c_make_encoder(
        None,  # no circular-reference markers, as with check_circular=False
        _encoder.default,
        encode_basestring_ascii,
        None,  # no indent
        _encoder.key_separator,
        _encoder.item_separator,
        _encoder.sort_keys,
        _encoder.skipkeys,
        _encoder.allow_nan,
    )

    def _dumps(o: Any) -> str:
        return "".join(_c_encode(o, 0))


def _ll(world: World, x: float, y: float) -> list[float]:
    lat, lng = world.latlng(x, y)
    return [round(lat, ND), round(lng, ND)]


def zones_view(world: World) -> dict[str, list[dict[str, Any]]]:
    """Zones, points and decorations with their real-world geometry once placed (cached)."""
    cached = world.cache.get("map")
    if cached is not None and cached[0] == world.map_version:
        return cached[1]  # type: ignore[no-any-return]
    rs = world.ruleset
    zones = []
    for zid, z in rs.zones.items():
        spec = z.spec
        pl = rs.placement(world, zid)
        geo: dict[str, Any] | None = None
        if pl is not None and world.frame is not None:
            if spec.shape == "circle":
                cx, cy = pl.forward(*z.shape.centre())
                radius = round((spec.radius or 0.0) * pl.scale, 2)
                geo = {"center": _ll(world, cx, cy), "radius": radius}
            else:
                geo = {"points": [_ll(world, *pl.forward(x, y)) for x, y in z.shape.outline()]}
        zones.append(
            {
                "id": zid,
                "name": spec.name or zid,
                "shape": spec.shape,
                "parent": spec.parent,
                "placed": geo is not None,
                "placeable": spec.placeable,
                "required": spec.required,
                "exclusion": spec.exclusion,
                "navigable": spec.navigable,
                "teamId": spec.team_id,
                "colour": spec.colour or (rs.teams[spec.team_id].colour if spec.team_id else None),
                "area": round(rs.zone_area(world, zid), 1),
                "placement": pl.to_dict() if pl is not None else None,
                "geometry": geo,
            }
        )
    points = []
    for pid, pt in rs.points.items():
        xy = rs.point_xy(world, pid)
        if xy is not None and world.frame is not None:
            points.append({"id": pid, "label": pt.label, "latlng": _ll(world, *xy)})
    decorations = []
    mp = world.map_placement
    for d in rs.spec.map.decorations:
        pl = rs.placement(world, d.zone_id) if d.zone_id else mp
        if pl is not None and world.frame is not None:
            decorations.append(
                {
                    "kind": d.kind,
                    "text": d.text,
                    "points": [_ll(world, *pl.forward(x, y)) for x, y in d.points],
                }
            )
    view: dict[str, list[dict[str, Any]]] = {
        "zones": zones,
        "points": points,
        "decorations": decorations,
    }
    world.cache["map"] = (world.map_version, view)
    return view


def _marker(world: World, p: Player) -> tuple[str, str | None, str | None]:
    rs = world.ruleset
    for pred, m in rs.markers:
        if pred(p):
            return m.colour, m.icon, m.label
    if p.team and p.team in rs.teams:
        return rs.teams[p.team].colour, None, None
    return rs.spec.theme.default_colour, None, None


_BASE_KEYS = ("id", "name", "team", "bot", "colour", "icon", "label", "eliminated")


def _tick_view(world: World) -> dict[str, Any]:
    """Entries shared by every viewer this tick (the engine drops them at every step); what is
    derived from them (their JSON, the grid) is kept in the same dict, so it goes with them."""
    cached = world.cache.get("tick")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    rs = world.ruleset
    score_key = rs.spec.score_key
    scores: dict[str, Any] = {}
    rows: list[tuple[Player, tuple[Any, ...]]] = []  # present players and their entries' base
    for p in world.players.values():
        scores[p.id] = p.state.get(score_key, 0)
        if not p.present:
            continue
        colour, icon, label = _marker(world, p)
        base = (p.id, p.name, p.team, p.bot is not None, colour, icon, label)
        rows.append((p, (*base, is_eliminated(world, p))))
    items: dict[str, dict[str, Any]] = {}
    for it in world.items.values():
        t = rs.item_types.get(it.kind)
        entry: dict[str, Any] = {
            "id": it.id,
            "kind": it.kind,
            "label": t.label if t else it.kind,
            "icon": t.icon if t else "",
            "heldBy": it.held_by,
        }
        if world.frame is not None:
            entry["lat"], entry["lng"] = _ll(world, it.x, it.y)
        items[it.id] = entry
    rem = world.remaining()
    head = {
        "status": world.status,
        "remainingSeconds": round(rem, 1) if rem is not None else None,
        "elapsedSeconds": round(world.elapsed(), 1),
        "tick": world.tick_no,
        "game": {"id": rs.id, "name": rs.spec.name},
        "teams": [{"id": t.id, "name": t.name or t.id, "colour": t.colour} for t in rs.spec.teams],
        "scores": scores,
        "result": world.result,
    }
    view = {"rows": rows, "items": items, "head": head}
    world.cache["tick"] = view
    return view


def _entries(world: World, part: str) -> dict[str, dict[str, Any]]:
    """The tick's player entries by id: ``shown`` (as other players see them), ``hidden``
    (no position) or ``full`` (the GM's and the player's own), built once per tick."""
    tv = _tick_view(world)
    cached = tv.get(part)
    if cached is None:
        public_keys = world.ruleset.public_state
        shown: dict[str, dict[str, Any]] = {}
        hidden: dict[str, dict[str, Any]] = {}
        full: dict[str, dict[str, Any]] = {}
        for p, key in tv["rows"]:
            base = dict(zip(_BASE_KEYS, key, strict=True))
            hidden[p.id] = {**base, "hidden": True}
            pos: dict[str, Any] = {}
            if p.has_pos:
                pos = {
                    "lat": round(p.lat, ND),
                    "lng": round(p.lng, ND),
                    "heading": p.heading,
                }
            shown[p.id] = {
                **base,
                **pos,
                "state": {k: p.state[k] for k in public_keys if k in p.state},
            }
            full[p.id] = {**base, **pos, "accuracy": p.accuracy, "state": dict(p.state)}
        tv["shown"], tv["hidden"], tv["full"] = shown, hidden, full
        cached = tv[part]
    return cached  # type: ignore[no-any-return]


def _num(x: Any) -> str:
    """A number (or None) as JSON, as the encoder writes it."""
    if x is None:
        return "null"
    if type(x) is float and math.isfinite(x):
        return float.__repr__(x)
    if type(x) is int:
        return int.__repr__(x)
    return _dumps(x)


_COORD = f"%.{ND}f"


def _coord_json(x: Any) -> str:
    """``round(x, ND)`` as JSON, as the encoder writes it. For a float of magnitude from 1e-4
    to 1e6 that is its ``ND``-decimal text less trailing zeros: the rounding is the same
    correctly rounded decimal, and no shorter text comes back to the same float, as floats
    there are far closer together than 10**-ND (below 1e-4 the encoder writes an exponent)."""
    if type(x) is float and 1e-4 <= abs(x) < 1e6:
        text = (_COORD % x).rstrip("0")
        return text + "0" if text[-1] == "." else text
    return _num(round(x, ND))


def _str_json(x: Any) -> str:
    """A string as JSON, as the encoder writes it (anything else through the encoder)."""
    return encode_basestring_ascii(x) if type(x) is str else _dumps(x)  # type: ignore[no-any-return]


def _encoded(
    world: World, tv: dict[str, Any]
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The tick's ``shown``, ``full`` and ``hidden`` player entries as JSON (:func:`_entries`),
    the same text as encoding them: each entry's base (who, marker, out or not) is encoded
    once while it stays the same, its position and state once per tick. ``tv`` is the tick's
    :func:`_tick_view`, passed down by the callers, which look it up once per snapshot."""
    cached = tv.get("json:players")
    if cached is None:
        bases: dict[tuple[Any, ...], str] = world.cache.setdefault("json:bases", {})
        if len(bases) > 4 * len(tv["rows"]) + 64:
            bases.clear()  # markers that no one has any more
        public_keys = world.ruleset.public_state
        shown: dict[str, str] = {}
        full: dict[str, str] = {}
        hidden: dict[str, str] = {}
        for p, key in tv["rows"]:
            base = bases.get(key)
            if base is None:
                base = bases[key] = _dumps(dict(zip(_BASE_KEYS, key, strict=True)))[:-1]
            pos = ""
            if p.has_pos:
                pos = f',"lat":{_coord_json(p.lat)},"lng":{_coord_json(p.lng)}'
                pos += f',"heading":{"null" if p.heading is None else _num(p.heading)}'
            st = p.state
            public = {k: st[k] for k in public_keys if k in st}
            shown[p.id] = f'{base}{pos},"state":{_dumps(public)}}}'
            accuracy = "null" if p.accuracy is None else _num(p.accuracy)
            full[p.id] = f'{base}{pos},"accuracy":{accuracy},"state":{_dumps(st)}}}'
            hidden[p.id] = base + ',"hidden":true}'
        cached = tv["json:players"] = (shown, full, hidden)
    return cached  # type: ignore[no-any-return]


def _grid(world: World, tv: dict[str, Any], cell: float) -> dict[tuple[int, int], list[Player]]:
    """Present players with a position, by square cells ``cell`` metres wide (once per tick)."""
    key = f"grid:{cell}"
    cached = tv.get(key)
    if cached is None:
        cached = tv[key] = {}
        for p in world.players.values():
            if p.present and p.has_pos:
                cached.setdefault((math.floor(p.x / cell), math.floor(p.y / cell)), []).append(p)
    return cached  # type: ignore[no-any-return]


def _present(world: World, tv: dict[str, Any]) -> tuple[list[Player], list[Player], dict[str, int]]:
    """Present players, those without a position, and each one's place in the world's order."""
    cached = tv.get("present")
    if cached is None:
        present = [p for p in world.players.values() if p.present]
        cached = tv["present"] = (
            present,
            [p for p in present if not p.has_pos],
            {p.id: i for i, p in enumerate(present)},
        )
    return cached  # type: ignore[no-any-return]


def bounded(world: World, viewer: Player, view_radius: float | None) -> bool:
    """Whether ``viewer``'s snapshot is bounded by the view radius now (module doc)."""
    return bool(view_radius) and viewer.has_pos and world.status != ENDED


def in_view(world: World, viewer: Player, view_radius: float | None = None) -> list[Player]:
    """The present players ``viewer``'s snapshot lists, in the world's order.

    All of them without a radius, for a viewer without a position, and once the game is over;
    otherwise those within ``view_radius`` metres, plus any without a position.
    """
    return _in_view(world, _tick_view(world), viewer, view_radius)


def _in_view(
    world: World, tv: dict[str, Any], viewer: Player, view_radius: float | None
) -> list[Player]:
    present, unplaced, _ = _present(world, tv)
    if not view_radius or not bounded(world, viewer, view_radius):
        return present
    # Cells half a radius wide: the 5 x 5 around the viewer's hold everyone within the radius;
    # a cell wholly inside the circle is taken whole and one wholly outside skipped, so only
    # the players of cells across the circle are measured, each by its squared distance and,
    # within a hair of the radius either way, by the same math.hypot as before the grid.
    r = view_radius
    cell = r / 2
    grid = _grid(world, tv, cell)
    vx, vy = viewer.x, viewer.y
    cx, cy = math.floor(vx / cell), math.floor(vy / cell)
    inner, outer = r * r * (1 - 1e-9), r * r * (1 + 1e-9)
    spans = []  # per row and column of cells: its nearest and farthest offset from the viewer
    for c, v in ((cx, vx), (cy, vy)):
        row = []
        for i in range(c - 2, c + 3):
            a, b = i * cell - v, (i + 1) * cell - v
            near_d = 0.0 if a <= 0.0 <= b else min(abs(a), abs(b))
            row.append((i, near_d * near_d, max(abs(a), abs(b)) ** 2))
        spans.append(row)
    hypot = math.hypot
    near = list(unplaced)
    for i, nx2, fx2 in spans[0]:
        for j, ny2, fy2 in spans[1]:
            members = grid.get((i, j))
            if not members or nx2 + ny2 > outer:
                continue
            if fx2 + fy2 <= inner:
                near.extend(members)
                continue
            for q in members:
                dx, dy = q.x - vx, q.y - vy
                d2 = dx * dx + dy * dy
                if d2 <= inner or (d2 <= outer and hypot(dx, dy) <= r):
                    near.append(q)
    near.sort(key=_rank(world, tv).__getitem__)
    return near


def _rank(world: World, tv: dict[str, Any]) -> dict[Player, int]:
    """Each present player's place in the world's order (once per tick)."""
    cached = tv.get("rank")
    if cached is None:
        cached = tv["rank"] = {p: i for i, p in enumerate(_present(world, tv)[0])}
    return cached  # type: ignore[no-any-return]


def _head_json(tv: dict[str, Any]) -> str:
    """The tick's shared head (status, clock, teams, every score …) as JSON members, once."""
    cached = tv.get("json:head")
    if cached is None:
        cached = tv["json:head"] = _dumps(tv["head"])[1:-1]
    return cached  # type: ignore[no-any-return]


def _head_parts(tv: dict[str, Any]) -> tuple[str, dict[str, str], str]:
    """The shared head as JSON members around its scores, and each score as its member, so a
    bounded snapshot's head lists some scores without encoding the head again (once a tick)."""
    cached = tv.get("json:head-parts")
    if cached is None:
        head = tv["head"]
        keys = list(head)
        at = keys.index("scores")
        before = _dumps({k: head[k] for k in keys[:at]})[1:-1]
        after = _dumps({k: head[k] for k in keys[at + 1 :]})[1:-1]
        scores = {pid: _dumps({pid: v})[1:-1] for pid, v in head["scores"].items()}
        cached = tv["json:head-parts"] = (
            before + "," if before else "",
            scores,
            "," + after if after else "",
        )
    return cached  # type: ignore[no-any-return]


def can_see(world: World, viewer: Player, target: Player) -> bool:
    """Whether ``viewer`` may see ``target``'s position (first matching rule wins)."""
    if viewer is target:
        return True
    for rule in world.ruleset.visibility:
        if not rule.viewer(viewer) or not rule.target(target):
            continue
        if rule.relation is not None and not rule.relation(viewer, target):
            continue
        if rule.within is not None:
            if not (viewer.has_pos and target.has_pos):
                continue
            if haversine(viewer.lat, viewer.lng, target.lat, target.lng) > rule.within:
                continue
        return rule.visible
    return world.ruleset.spec.visibility_default


def snapshot(
    world: World,
    viewer: str | None = None,
    with_map: bool = True,
    view_radius: float | None = None,
) -> dict[str, Any]:
    """The world as ``viewer`` (a player id) may see it; None or ``"gm"`` sees everything.

    ``view_radius`` (metres) bounds the other players a player's snapshot lists (module doc).
    """
    snap, p, listed = _snapshot(world, viewer, with_map, view_radius)
    if p is not None:
        shown, hidden = _entries(world, "shown"), _entries(world, "hidden")
        snap["players"] = [shown[q.id] if seen else hidden[q.id] for q, seen in listed]
    return snap


def _snapshot(
    world: World, viewer: str | None, with_map: bool, view_radius: float | None
) -> tuple[dict[str, Any], Player | None, list[tuple[Player, bool]]]:
    """A snapshot without a player viewer's ``players`` (the GM's is whole), the viewer, and
    the players it lists with whether each is seen (a position) or hidden."""
    tv = _tick_view(world)
    snap: dict[str, Any] = dict(tv["head"])
    if with_map:
        snap.update(zones_view(world))
    p = world.players.get(viewer) if viewer not in (None, GM) else None
    if p is None:
        snap["viewer"] = GM
        snap["you"] = None
        snap["players"] = list(_entries(world, "full").values())
        snap["items"] = list(tv["items"].values())
        snap["objective"] = None
        snap["actions"] = []
        snap["claims"] = [c.to_dict() for c in world.claims.values()]
        snap["log"] = world.log[-50:]
        snap["botCounts"] = dict(world.bot_counts)
        # The GM console shows the pre-flight checklist live, before the start is pressed.
        snap["preflight"] = preflight(world) if world.status == STOPPED else []
        return snap, None, []
    listed, visible = _listed(world, tv, p, view_radius)
    if bounded(world, p, view_radius):
        scores = tv["head"]["scores"]  # only the listed players' (the result has everyone's)
        snap["scores"] = {q.id: scores[q.id] for q, _ in listed if q.id in scores}
    items = []
    for it in world.items.values():
        entry = tv["items"][it.id]
        if it.held_by is not None and it.held_by not in visible:
            entry = {k: v for k, v in entry.items() if k not in ("lat", "lng")}
            entry["hidden"] = True
        items.append(entry)
    snap["viewer"] = p.id
    you = dict(_entries(world, "full").get(p.id) or {})
    you["state"] = dict(p.state)
    snap["you"] = you
    snap["players"] = []  # filled by the caller: as entries, or as their JSON
    snap["items"] = items
    snap["objective"] = _objective(world, p, visible)
    snap["actions"] = _actions(world, tv, p, visible)
    snap["claims"] = _claims(world, p)
    return snap, p, listed


def _listed(
    world: World, tv: dict[str, Any], p: Player, view_radius: float | None
) -> tuple[list[tuple[Player, bool]], set[str]]:
    """The players ``p``'s snapshot lists, each with whether it is seen (:func:`can_see`), and
    the ids of those seen. A visibility rule's filters depend on one player only, so each
    rule's viewer filter is tested once for ``p`` and its target filter once per player and
    tick; the order and outcome of the rules are those of :func:`can_see`."""
    rules = world.ruleset.visibility
    if not rules and world.ruleset.spec.visibility_default is True:
        everyone = tv.get("listed:everyone")
        if everyone is not None and not bounded(world, p, view_radius):
            return everyone  # type: ignore[no-any-return]
    # Each rule with the ids its target filter matches this tick and, as a rule's distance is
    # decided on the world plane but for pairs near it, its plane_bounds; and whether it matches
    # everyone present whoever the viewer (no relation, no distance), so that for a viewer it
    # applies to, it decides every pair no earlier rule does, as a default.
    table: list[tuple[Any, bool, tuple[Any, ...]]] | None = tv.get("vis:rules")
    if table is None:
        present = _present(world, tv)[0]
        table = tv["vis:rules"] = []
        for r in rules:
            ids = {q.id for q in present if r.target(q)}
            bounds = (-1.0, math.inf) if r.within is None else plane_bounds(r.within)
            catch_all = r.relation is None and r.within is None and len(ids) == len(present)
            table.append((r.viewer, catch_all, (ids, r.relation, r.within, *bounds, r.visible)))
    mine: list[tuple[Any, ...]] = []
    default = world.ruleset.spec.visibility_default
    for applies, catch_all, rule in table:
        if applies(p):
            if catch_all:
                default = rule[-1]
                break
            mine.append(rule)
    near = _in_view(world, tv, p, view_radius)
    if not mine and default is True:  # no rule for this viewer: it sees everyone it lists
        if near is _present(world, tv)[0]:  # everyone present: the same for every such viewer
            everyone = tv.get("listed:everyone")
            if everyone is None:
                everyone = tv["listed:everyone"] = ([(q, True) for q in near], {q.id for q in near})
            return everyone  # type: ignore[no-any-return]
        return [(q, True) for q in near], {q.id for q in near}
    visible: set[str] = set()
    listed: list[tuple[Player, bool]] = []
    placed, px, py = p.has_pos, p.x, p.y
    for q in near:
        if q is p:
            seen = True
        else:
            seen = default
            qid = q.id
            for ids, relation, within, sure2, reach2, shows in mine:
                if qid not in ids or (relation is not None and not relation(p, q)):
                    continue
                if within is not None:
                    if not (placed and q.has_pos):
                        continue
                    dx, dy = q.x - px, q.y - py
                    d2 = dx * dx + dy * dy
                    if d2 > reach2:
                        continue
                    if d2 > sure2 and haversine(p.lat, p.lng, q.lat, q.lng) > within:
                        continue
                seen = shows
                break
        if seen:
            visible.add(q.id)
        listed.append((q, seen))
    return listed, visible


def _claims(world: World, p: Player) -> list[dict[str, Any]]:
    """The claims waiting for ``p`` to confirm or deny."""
    if not world.claims:
        return []
    return [
        {
            "claimId": c.id,
            "actionId": c.interaction,
            "from": c.initiator,
            "fromName": world.players[c.initiator].name,
            "label": world.ruleset.interactions[c.interaction].spec.label,
            "expiresIn": round(max(0.0, c.expires - world.now), 1),
        }
        for c in world.claims.values()
        if c.target == p.id
    ]


def snapshot_json(world: World, viewer: str | None = None, view_radius: float | None = None) -> str:
    """:func:`snapshot` as compact JSON, the same text as encoding it. The map is encoded once
    per placement; each player and item entry, the shared head and the GM's players once per
    tick, so a viewer's frame is joined from them plus its own few parts."""
    cached = world.cache.get("map_json")
    if cached is None or cached[0] != world.map_version:
        encoded = _dumps(zones_view(world))
        cached = (world.map_version, encoded[1:-1])
        world.cache["map_json"] = cached
    tv = _tick_view(world)
    p = world.players.get(viewer) if viewer not in (None, GM) else None
    if p is None:
        return _gm_json(world, tv, cached[1])
    shown, full, hidden = _encoded(world, tv)
    rs = world.ruleset
    if bounded(world, p, view_radius) and not rs.visibility and rs.spec.visibility_default is True:
        # Everyone nearby, as everyone sees them (a big game without visibility rules): the
        # players and their scores joined straight from the tick's encodings.
        ids = [q.id for q in _in_view(world, tv, p, view_radius)]
        visible = set(ids)
        before, scores, after = _head_parts(tv)
        # The head has a score for every player who ever joined, so for everyone listed.
        head_json = f'{before}"scores":{{{",".join(map(scores.__getitem__, ids))}}}{after}'
        players = ",".join(map(shown.__getitem__, ids))
    else:
        listed, visible = _listed(world, tv, p, view_radius)
        if bounded(world, p, view_radius):
            # Only the listed players' scores (the result has everyone's), each encoded once.
            before, scores, after = _head_parts(tv)
            listed_scores = ",".join([scores[q.id] for q, _ in listed if q.id in scores])
            head_json = f'{before}"scores":{{{listed_scores}}}{after}'
        else:
            head_json = _head_json(tv)
        if len(visible) == len(listed) == len(tv["rows"]):  # everyone, as everyone sees them
            everyone: str | None = tv.get("json:everyone")
            if everyone is None:
                everyone = tv["json:everyone"] = ",".join(shown.values())
            players = everyone
        else:
            players = ",".join([shown[q.id] if seen else hidden[q.id] for q, seen in listed])
    you = full.get(p.id)
    if you is None:
        you = _dumps({"state": p.state})
    items = ""
    if world.items:
        items_shown, items_hidden = _items_json(tv)
        items = ",".join(
            [
                items_hidden[it.id]
                if it.held_by is not None and it.held_by not in visible
                else items_shown[it.id]
                for it in world.items.values()
            ]
        )
    # The three per-viewer parts are mostly null or empty: only what is there is encoded.
    objective = _objective_json(world, tv, p, visible)
    actions = _actions(world, tv, p, visible)
    claims = _claims(world, p)
    return (
        f'{{{head_json},"viewer":{_id_json(world, p.id)},"you":{you},"items":[{items}],'
        f'"objective":{objective},'
        f'"actions":{_dumps(actions) if actions else "[]"},'
        f'"claims":{_dumps(claims) if claims else "[]"},'
        f'"players":[{players}],{cached[1]}}}'
    )


def _id_json(world: World, pid: str) -> str:
    """A player id as JSON; ids never change, so each is encoded once per world."""
    ids: dict[str, str] = world.cache.setdefault("json:ids", {})
    text = ids.get(pid)
    if text is None:
        text = ids[pid] = _dumps(pid)
    return text


def _gm_json(world: World, tv: dict[str, Any], map_json: str) -> str:
    """The GM's snapshot as JSON: the shared head and full player entries, encoded once."""
    players = ",".join(_encoded(world, tv)[1].values())
    items = ""
    if world.items:
        items = ",".join(_items_json(tv)[0].values())
    claims = [c.to_dict() for c in world.claims.values()]
    checklist = preflight(world) if world.status == STOPPED else []
    return (
        f'{{{_head_json(tv)},"viewer":"gm","you":null,"players":[{players}],'
        f'"items":[{items}],"objective":null,"actions":[],'
        f'"claims":{_dumps(claims) if claims else "[]"},"log":{_log_json(world)},'
        f'"botCounts":{_dumps(world.bot_counts)},'
        f'"preflight":{_dumps(checklist) if checklist else "[]"},{map_json}}}'
    )


def _log_json(world: World) -> str:
    """The GM's last 50 log entries as JSON, encoded again only when the log changes: it only
    grows at the end and is trimmed at the start, so the same first and last entry at the same
    length is the same window."""
    log = world.log[-50:]
    cached: tuple[Any, Any, int, str] | None = world.cache.get("json:log")
    unchanged = (
        cached is not None
        and log
        and cached[0] is log[0]
        and cached[1] is log[-1]
        and cached[2] == len(log)
    )
    if unchanged:
        return cached[3]  # type: ignore[index]
    text = _dumps(log)
    world.cache["json:log"] = (log[0], log[-1], len(log), text) if log else None
    return text


def _items_json(tv: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Each item entry as JSON, as everyone sees it and as hidden with its holder (per tick)."""
    cached = tv.get("json:items")
    if cached is None:
        shown: dict[str, str] = {}
        hidden: dict[str, str] = {}
        for iid, entry in tv["items"].items():
            shown[iid] = _dumps(entry)
            h = {k: v for k, v in entry.items() if k not in ("lat", "lng")}
            h["hidden"] = True
            hidden[iid] = _dumps(h)
        cached = tv["json:items"] = (shown, hidden)
    return cached  # type: ignore[no-any-return]


def snapshots_json(world: World, view_radius: float | None = None) -> dict[str, str]:
    """:func:`snapshot_json` for every present human player, plus the GM's under ``"gm"``."""
    out = {
        p.id: snapshot_json(world, p.id, view_radius)
        for p in world.players.values()
        if p.present and not p.bot
    }
    out[GM] = snapshot_json(world, GM)
    return out


def snapshots(world: World) -> dict[str, dict[str, Any]]:
    """Snapshots for every present human player, plus the GM's under ``"gm"``."""
    out = {p.id: snapshot(world, p.id) for p in world.players.values() if p.present and not p.bot}
    out[GM] = snapshot(world, GM)
    return out


def _objective(world: World, p: Player, visible: set[str]) -> dict[str, Any] | None:
    obj = world.objectives.get(p.id)
    if obj is None:
        return None
    t = obj.get("target")
    if t is None:
        return {"text": obj["text"], "target": None}
    target = {"kind": t["kind"], "id": t["id"], "name": t["name"]}
    if _objective_placed(world, t, visible):
        target["latlng"] = _ll(world, t["x"], t["y"])
        target["distance"] = t.get("distance")
    return {"text": obj["text"], "target": target}


def _objective_json(world: World, tv: dict[str, Any], p: Player, visible: set[str]) -> str:
    """:func:`_objective` as JSON, written directly: it is each viewer's own part of a frame,
    though many viewers share a target, whose text is kept for the tick."""
    obj = world.objectives.get(p.id)
    if obj is None:
        return "null"
    text = _str_json(obj["text"])
    t = obj.get("target")
    if t is None:
        return f'{{"text":{text},"target":null}}'
    parts: dict[tuple[Any, ...], str] = tv.setdefault("json:targets", {})
    if not _objective_placed(world, t, visible):
        key: tuple[Any, ...] = (t["kind"], t["id"], t["name"])
        target = parts.get(key)
        if target is None:
            target = parts[key] = (
                f'{{"kind":{_str_json(t["kind"])},"id":{_str_json(t["id"])},'
                f'"name":{_str_json(t["name"])}}}'
            )
        return f'{{"text":{text},"target":{target}}}'
    key = (t["kind"], t["id"], t["name"], t["x"], t["y"])
    target = parts.get(key)
    if target is None:
        lat, lng = _ll(world, t["x"], t["y"])
        target = parts[key] = (
            f'{{"kind":{_str_json(t["kind"])},"id":{_str_json(t["id"])},'
            f'"name":{_str_json(t["name"])},"latlng":[{_num(lat)},{_num(lng)}]'
        )
    return f'{{"text":{text},"target":{target},"distance":{_num(t.get("distance"))}}}}}'


def _objective_placed(world: World, t: dict[str, Any], visible: set[str]) -> bool:
    """Whether an objective shows where its target is: not a player the viewer may not see nor
    an item such a player holds (the objective must not leak a hidden position)."""
    if "x" not in t or world.frame is None:
        return False
    if t["kind"] == "player" and t["id"] not in visible:
        return False
    holder = (
        world.items[t["id"]].held_by if t["kind"] == "item" and t["id"] in world.items else None
    )
    return holder is None or holder in visible


def _targets(world: World, tv: dict[str, Any], aid: str) -> list[Player]:
    """Players interaction ``aid`` may target this tick whoever starts it: present, placed,
    not out and matching its target filter, in the world's order (once per tick)."""
    key = "targets:" + aid
    cached: list[Player] | None = tv.get(key)
    if cached is None:
        ia = world.ruleset.interactions[aid]
        cached = tv[key] = [
            q
            for q in world.players.values()
            if q.present and q.has_pos and not is_eliminated(world, q) and ia.target(q)
        ]
    return cached


def _actions(
    world: World, tv: dict[str, Any], p: Player, visible: set[str]
) -> list[dict[str, Any]]:
    if world.status != STARTED or not p.has_pos or is_eliminated(world, p):
        return []
    out: list[dict[str, Any]] = []
    for aid, ia in world.ruleset.interactions.items():
        spec = ia.spec
        if spec.trigger == "auto" or not ia.initiator(p):
            continue
        label = spec.label or spec.verb
        if spec.target.kind == "player":
            sure2, reach2 = plane_bounds(spec.range)
            for q in _targets(world, tv, aid):
                if q is p or q.id not in visible or not ia.relation(p, q):
                    continue
                dx, dy = q.x - p.x, q.y - p.y
                d2 = dx * dx + dy * dy
                if d2 > reach2:
                    continue
                if d2 <= sure2 or haversine(p.lat, p.lng, q.lat, q.lng) <= spec.range:
                    out.append(
                        {"actionId": aid, "label": label, "targetId": q.id, "targetName": q.name}
                    )
        else:
            for it in world.items.values():
                free = it.held_by is None and it.kind in spec.target.item_kinds
                if free and math.hypot(it.x - p.x, it.y - p.y) <= spec.range:
                    out.append(
                        {"actionId": aid, "label": label, "targetId": it.id, "targetName": it.kind}
                    )
    return out
