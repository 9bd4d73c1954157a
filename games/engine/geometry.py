"""Geometry for real-world games: local metres, placements, shapes and distances.

Two frames are involved. A ruleset draws its map in a *local* frame of metres (x east, y north).
The world works in a *world* frame of metres around a reference latitude/longitude fixed when the
first zone is placed (or the first position arrives); a :class:`Placement` maps local to world
(scale, then clockwise rotation, then translation) and back. World metres convert to latitude and
longitude with an equirectangular projection, which is exact to well under a metre over the few
kilometres a game covers; distances between players use the haversine formula.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

EARTH_RADIUS_M = 6_371_008.8
_M_PER_DEG = math.pi / 180.0 * EARTH_RADIUS_M


def haversine(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres between two latitude/longitude points."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def plane_bounds(metres: float) -> tuple[float, float]:
    """Squared world-plane distances bracketing a great-circle distance of ``metres``.

    The projection is far better than 1 % and a metre either way over a game's few kilometres,
    so a pair closer on the world plane than the first bound is within ``metres`` on the sphere
    too and a pair farther than the second is not: only the pairs between pay for the haversine.
    """
    sure = (metres - 1.0) / 1.01
    return (sure * sure if sure > 0.0 else -1.0), (metres * 1.01 + 1.0) ** 2


@dataclass(slots=True, frozen=True)
class Frame:
    """Equirectangular projection between latitude/longitude and world metres around a point."""

    lat0: float
    lng0: float
    _kx: float = field(init=False, repr=False, compare=False)  # metres per degree east

    def __post_init__(self) -> None:
        object.__setattr__(self, "_kx", _M_PER_DEG * math.cos(math.radians(self.lat0)))

    def to_xy(self, lat: float, lng: float) -> tuple[float, float]:
        """World metres (east, north) of a latitude/longitude."""
        return (lng - self.lng0) * self._kx, (lat - self.lat0) * _M_PER_DEG

    def to_latlng(self, x: float, y: float) -> tuple[float, float]:
        """Latitude/longitude of world metres."""
        return self.lat0 + y / _M_PER_DEG, self.lng0 + x / self._kx


@dataclass(slots=True, frozen=True)
class Placement:
    """Maps a zone's local metres onto world metres: the anchor lands on the origin."""

    ox: float
    oy: float
    rotation: float = 0.0  # degrees, clockwise like a compass bearing
    scale: float = 1.0
    ax: float = 0.0
    ay: float = 0.0
    _cos: float = field(init=False, repr=False, compare=False)
    _sin: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        t = math.radians(self.rotation)
        object.__setattr__(self, "_cos", math.cos(t))
        object.__setattr__(self, "_sin", math.sin(t))

    def forward(self, x: float, y: float) -> tuple[float, float]:
        """World metres of a local point."""
        c, s = self._cos, self._sin
        dx, dy = (x - self.ax) * self.scale, (y - self.ay) * self.scale
        return self.ox + dx * c + dy * s, self.oy - dx * s + dy * c

    def inverse(self, x: float, y: float) -> tuple[float, float]:
        """Local metres of a world point."""
        c, s = self._cos, self._sin
        dx, dy = x - self.ox, y - self.oy
        lx, ly = dx * c - dy * s, dx * s + dy * c
        return self.ax + lx / self.scale, self.ay + ly / self.scale

    def to_dict(self) -> dict[str, float]:
        """Plain-dict form for serialisation."""
        return {
            "ox": self.ox,
            "oy": self.oy,
            "rotation": self.rotation,
            "scale": self.scale,
            "ax": self.ax,
            "ay": self.ay,
        }

    @classmethod
    def from_dict(cls, d: dict[str, float]) -> Placement:
        """Inverse of :meth:`to_dict`."""
        return cls(d["ox"], d["oy"], d["rotation"], d["scale"], d["ax"], d["ay"])


class Shape:
    """A zone outline in local metres."""

    kind: str = ""

    def contains(self, x: float, y: float) -> bool:
        """Whether a local point lies inside (boundary counts as inside)."""
        raise NotImplementedError

    def area(self) -> float:
        """Area in square local metres."""
        raise NotImplementedError

    def centre(self) -> tuple[float, float]:
        """The anchor a placement puts on its origin."""
        raise NotImplementedError

    def bbox(self) -> tuple[float, float, float, float]:
        """(min x, min y, max x, max y)."""
        raise NotImplementedError

    def outline(self) -> list[tuple[float, float]]:
        """Vertices in local metres (empty for circles, which are drawn from centre/radius)."""
        raise NotImplementedError


@dataclass(slots=True, frozen=True)
class Circle(Shape):
    """A circle given by centre and radius."""

    cx: float
    cy: float
    radius: float
    kind = "circle"

    def contains(self, x: float, y: float) -> bool:
        """Whether a local point lies inside."""
        dx, dy = x - self.cx, y - self.cy
        return dx * dx + dy * dy <= self.radius * self.radius

    def area(self) -> float:
        """Area in square local metres."""
        return math.pi * self.radius * self.radius

    def centre(self) -> tuple[float, float]:
        """Centre point."""
        return self.cx, self.cy

    def bbox(self) -> tuple[float, float, float, float]:
        """Bounding box."""
        r = self.radius
        return self.cx - r, self.cy - r, self.cx + r, self.cy + r

    def outline(self) -> list[tuple[float, float]]:
        """Circles have no vertices."""
        return []


@dataclass(slots=True, frozen=True)
class Rect(Shape):
    """An axis-aligned rectangle (in local metres) given by centre, width and height."""

    cx: float
    cy: float
    width: float
    height: float
    kind = "rectangle"

    def contains(self, x: float, y: float) -> bool:
        """Whether a local point lies inside."""
        return abs(x - self.cx) <= self.width / 2 and abs(y - self.cy) <= self.height / 2

    def area(self) -> float:
        """Area in square local metres."""
        return self.width * self.height

    def centre(self) -> tuple[float, float]:
        """Centre point."""
        return self.cx, self.cy

    def bbox(self) -> tuple[float, float, float, float]:
        """Bounding box."""
        hw, hh = self.width / 2, self.height / 2
        return self.cx - hw, self.cy - hh, self.cx + hw, self.cy + hh

    def outline(self) -> list[tuple[float, float]]:
        """Corners, counter-clockwise from south-west."""
        x0, y0, x1, y1 = self.bbox()
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


@dataclass(slots=True, frozen=True)
class Polygon(Shape):
    """A simple polygon given by its vertices."""

    points: tuple[tuple[float, float], ...]
    kind = "polygon"

    def contains(self, x: float, y: float) -> bool:
        """Whether a local point lies inside (even-odd ray casting)."""
        inside = False
        pts = self.points
        j = len(pts) - 1
        for i in range(len(pts)):
            xi, yi = pts[i]
            xj, yj = pts[j]
            if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                inside = not inside
            j = i
        return inside

    def area(self) -> float:
        """Area by the shoelace formula."""
        return abs(_signed_area(self.points))

    def centre(self) -> tuple[float, float]:
        """Area centroid (falls back to the vertex mean for degenerate polygons)."""
        a = _signed_area(self.points)
        pts = self.points
        if abs(a) < 1e-12:
            n = len(pts)
            return sum(p[0] for p in pts) / n, sum(p[1] for p in pts) / n
        cx = cy = 0.0
        for i in range(len(pts)):
            x0, y0 = pts[i]
            x1, y1 = pts[(i + 1) % len(pts)]
            cross = x0 * y1 - x1 * y0
            cx += (x0 + x1) * cross
            cy += (y0 + y1) * cross
        return cx / (6 * a), cy / (6 * a)

    def bbox(self) -> tuple[float, float, float, float]:
        """Bounding box."""
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        return min(xs), min(ys), max(xs), max(ys)

    def outline(self) -> list[tuple[float, float]]:
        """Vertices."""
        return list(self.points)


def _signed_area(pts: tuple[tuple[float, float], ...]) -> float:
    s = 0.0
    for i in range(len(pts)):
        x0, y0 = pts[i]
        x1, y1 = pts[(i + 1) % len(pts)]
        s += x0 * y1 - x1 * y0
    return s / 2


def polygon_is_simple(pts: tuple[tuple[float, float], ...]) -> bool:
    """Whether no two non-adjacent edges of a polygon cross."""
    n = len(pts)
    edges = [(pts[i], pts[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue
            if _segments_cross(*edges[i], *edges[j]):
                return False
    return True


def _segments_cross(
    a: tuple[float, float], b: tuple[float, float], c: tuple[float, float], d: tuple[float, float]
) -> bool:
    def orient(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    o1, o2, o3, o4 = orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b)
    return (o1 > 0) != (o2 > 0) and (o3 > 0) != (o4 > 0) and o1 * o2 < 0 and o3 * o4 < 0


def random_point_in(
    shape: Shape,
    rng: random.Random,
    avoid: list[tuple[Shape, Placement]] | None = None,
    placement: Placement | None = None,
    tries: int = 200,
) -> tuple[float, float]:
    """A uniformly random local point inside ``shape`` and outside every ``avoid`` zone.

    ``avoid`` zones are tested in world metres through their own placements, so ``placement``
    (the shape's own) is needed when they are given. Falls back to the centre when the shape is
    almost entirely excluded, so spawning never loops forever.
    """
    x0, y0, x1, y1 = shape.bbox()
    for _ in range(tries):
        x = rng.uniform(x0, x1)
        y = rng.uniform(y0, y1)
        if not shape.contains(x, y):
            continue
        if avoid and placement is not None:
            wx, wy = placement.forward(x, y)
            if any(s.contains(*p.inverse(wx, wy)) for s, p in avoid):
                continue
        return x, y
    return shape.centre()


def move_towards(
    x: float, y: float, tx: float, ty: float, dist: float
) -> tuple[float, float, bool]:
    """Step from (x, y) at most ``dist`` metres towards (tx, ty); third value: arrived."""
    dx, dy = tx - x, ty - y
    d = math.hypot(dx, dy)
    if d <= dist or d == 0.0:
        return tx, ty, True
    k = dist / d
    return x + dx * k, y + dy * k, False
