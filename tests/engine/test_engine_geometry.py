"""Geometry: distances, projection, placements, shapes and random points."""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st
from tiers import PURE_ENGINE

from games.engine.geometry import (
    Circle,
    Frame,
    Placement,
    Polygon,
    Rect,
    haversine,
    plane_bounds,
    polygon_is_simple,
    random_point_in,
)

pytestmark = PURE_ENGINE

coord = st.floats(-500, 500)


def test_haversine_matches_a_known_distance() -> None:
    # One degree of latitude is about 111.2 km on a 6371 km sphere.
    assert abs(haversine(0, 0, 1, 0) - 111_195) < 5
    assert haversine(52.37, 4.89, 52.37, 4.89) == 0


@settings(max_examples=60)
@given(x=coord, y=coord)
def test_frame_round_trips_and_agrees_with_haversine(x: float, y: float) -> None:
    f = Frame(52.37, 4.89)
    lat, lng = f.to_latlng(x, y)
    bx, by = f.to_xy(lat, lng)
    assert abs(bx - x) < 1e-6 and abs(by - y) < 1e-6
    assert abs(haversine(52.37, 4.89, lat, lng) - math.hypot(x, y)) < 0.01 + math.hypot(x, y) * 1e-3


@settings(max_examples=60)
@given(
    x=coord,
    y=coord,
    rot=st.floats(-360, 360),
    scale=st.floats(0.1, 10),
    ox=coord,
    oy=coord,
)
def test_placement_inverse_undoes_forward(
    x: float, y: float, rot: float, scale: float, ox: float, oy: float
) -> None:
    p = Placement(ox, oy, rot, scale, 3.0, -2.0)
    wx, wy = p.forward(x, y)
    lx, ly = p.inverse(wx, wy)
    assert abs(lx - x) < 1e-6 and abs(ly - y) < 1e-6


def test_placement_rotates_clockwise_and_scales_about_the_anchor() -> None:
    p = Placement(100, 100, 90, 2, 0, 0)
    x, y = p.forward(10, 0)  # east becomes south, twice as far
    assert abs(x - 100) < 1e-9 and abs(y - 80) < 1e-9


def test_shapes_contain_and_measure() -> None:
    c, r = Circle(0, 0, 10), Rect(0, 0, 20, 10)
    tri = Polygon(((0, 0), (10, 0), (0, 10)))
    assert c.contains(10, 0) and not c.contains(7.1, 7.1)
    assert r.contains(10, 5) and not r.contains(0, 5.1)
    assert tri.contains(2, 2) and not tri.contains(6, 6)
    assert abs(c.area() - math.pi * 100) < 1e-9 and r.area() == 200 and tri.area() == 50
    cx, cy = tri.centre()
    assert abs(cx - 10 / 3) < 1e-9 and abs(cy - 10 / 3) < 1e-9
    assert not polygon_is_simple(((0, 0), (10, 10), (10, 0), (0, 10)))


@settings(max_examples=30)
@given(seed=st.integers(0, 10_000))
def test_random_points_stay_inside_and_avoid_exclusions(seed: int) -> None:
    rng = random.Random(seed)
    zone, here = Rect(0, 0, 100, 100), Placement(0, 0)
    hole = (Circle(0, 0, 30), Placement(0, 0))
    for _ in range(20):
        x, y = random_point_in(zone, rng, [hole], here)
        assert zone.contains(x, y) and not hole[0].contains(x, y)


@settings(max_examples=300)
@given(
    lat0=st.floats(-70, 70),
    a=st.tuples(st.floats(-5000, 5000), st.floats(-5000, 5000)),
    b=st.tuples(st.floats(-5000, 5000), st.floats(-5000, 5000)),
    limit=st.floats(1, 3000),
)
def test_plane_bounds_never_decide_a_distance_the_sphere_disagrees_with(
    lat0: float, a: tuple[float, float], b: tuple[float, float], limit: float
) -> None:
    """Visibility and action ranges are decided on the world plane except near their limit:
    a pair the plane calls surely inside (or surely outside) is so on the sphere too."""
    f = Frame(lat0, 4.89)
    sure2, reach2 = plane_bounds(limit)
    d2 = (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2
    metres = haversine(*f.to_latlng(*a), *f.to_latlng(*b))
    if d2 <= sure2:
        assert metres <= limit
    if d2 > reach2:
        assert metres > limit
