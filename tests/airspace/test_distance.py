"""Distances and verdicts: exact against brute-force geodesic oracles, PolyCARP-style bands."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon

from standoff.airspace import INTL, Airspace, NoFlyZone, Verdict
from standoff.geo.geodesy import WGS84, geodesic_distance_m


def _boundary_oracle(
    geoms: list[shapely.Geometry], lon: float, lat: float, step_deg: float = 2e-5
) -> float:
    """Geodesic distance to boundaries densified every ~2 m, with Karney's algorithm."""
    lines = shapely.union_all([shapely.boundary(g) for g in geoms])
    coords = shapely.get_coordinates(shapely.segmentize(lines, step_deg))
    _, _, d = WGS84.inv(
        np.full(len(coords), lon), np.full(len(coords), lat), coords[:, 0], coords[:, 1]
    )
    return float(np.min(d))


def test_boundary_distance_matches_brute_force_geodesics(small_world: Airspace) -> None:
    rng = np.random.default_rng(7)
    lon = rng.uniform(-100.3, -98.7, 40)
    lat = rng.uniform(29.7, 31.0, 40)
    ours = small_world.boundary_distance_m(lon, lat)
    for i in range(len(lon)):
        oracle = _boundary_oracle(list(small_world.geometries), lon[i], lat[i])
        assert abs(ours[i] - oracle) < 0.5, (lon[i], lat[i], ours[i], oracle)


def test_clearance_is_distance_to_foreign_airspace_only(small_world: Airspace) -> None:
    # A point inside AAA, 0.1 degree west of the AAA/BBB border: clearance for AAA is the
    # distance to BBB, not to AAA's own hole or outer edge.
    lon, lat = -99.6, 30.25
    expected = float(geodesic_distance_m(lon, lat, -99.5, lat))
    assert small_world.clearance_m([lon], [lat], "AAA")[0] == pytest.approx(expected, abs=0.5)
    assert small_world.clearance_m([lon], [lat], "BBB")[0] == 0.0
    assert small_world.nearest_forbidden([lon], [lat], "AAA")[0] == "BBB"


def test_clearance_is_zero_inside_and_outside_data_counts_as_forbidden(
    small_world: Airspace,
) -> None:
    assert small_world.clearance_m([-99.25], [30.25], "AAA")[0] == 0.0
    # Near the data box edge, the edge itself is the nearest forbidden thing.
    d = small_world.clearance_m([-100.99], [30.9], "AAA")[0]
    assert d == pytest.approx(float(geodesic_distance_m(-100.99, 30.9, -101.0, 30.9)), abs=0.5)
    assert small_world.nearest_forbidden([-100.99], [30.9], "AAA")[0] == "OUTSIDE_DATA"


def test_holes_are_not_the_owners_airspace(small_world: Airspace) -> None:
    assert small_world.owner_at([-99.75], [30.25])[0] == INTL
    assert small_world.owner_at([-99.85], [30.25])[0] == "AAA"


def _meters_east(lon: float, lat: float, metres: float) -> float:
    lon2, _, _ = WGS84.fwd(lon, lat, 90.0, metres)
    return float(lon2)


@pytest.mark.parametrize("tolerance_m", [1.0, 5.0])
def test_three_valued_verdict_around_an_edge(small_world: Airspace, tolerance_m: float) -> None:
    lat = 30.25
    edge = -99.5  # the AAA/BBB border, a vertical edge
    offsets = np.array([-3 * tolerance_m, -tolerance_m / 2, 0.0, tolerance_m / 2, 3 * tolerance_m])
    lon = np.array([_meters_east(edge, lat, o) for o in offsets])
    v = small_world.verdict(lon, np.full(5, lat), "AAA", tolerance_m=tolerance_m)
    assert list(v) == [
        Verdict.OUTSIDE,
        Verdict.UNCERTAIN,
        Verdict.UNCERTAIN,
        Verdict.UNCERTAIN,
        Verdict.INSIDE,
    ]


def test_verdict_on_vertices_and_horizontal_edges(small_world: Airspace) -> None:
    # BBB's corners and its south edge (a horizontal edge, degenerate for ray casting).
    lon = np.array([-99.0, -99.0, -99.25, -99.25])
    lat = np.array([30.0, 30.5, 30.0, 30.5])
    assert set(small_world.verdict(lon, lat, "AAA")) == {Verdict.UNCERTAIN}


def test_margin_grows_the_forbidden_region(small_world: Airspace) -> None:
    lon = np.array([_meters_east(-99.5, 30.25, -m) for m in (500.0, 1500.0, 2500.0)])
    lat = np.full(3, 30.25)
    v = small_world.verdict(lon, lat, "AAA", margin_m=2000.0)
    assert list(v) == [Verdict.INSIDE, Verdict.INSIDE, Verdict.OUTSIDE]


@pytest.mark.parametrize(("reverse", "rotate"), [(True, 0), (False, 1), (True, 2), (False, 3)])
def test_answers_do_not_depend_on_vertex_order(
    small_world: Airspace, small_world_factory: Callable[..., Airspace], reverse: bool, rotate: int
) -> None:
    other = small_world_factory(reverse=reverse, rotate=rotate)
    rng = np.random.default_rng(3)
    lon = rng.uniform(-100.5, -98.5, 500)
    lat = rng.uniform(29.5, 31.5, 500)
    assert list(other.owner_at(lon, lat)) == list(small_world.owner_at(lon, lat))
    assert np.allclose(
        other.clearance_m(lon, lat, "AAA"), small_world.clearance_m(lon, lat, "AAA"), atol=1e-6
    )


def test_owner_grid_agrees_with_exact_tests(airspace: Airspace) -> None:
    rng = np.random.default_rng(11)
    n = 200_000  # large enough to go through the precomputed grid
    lon = rng.uniform(-125, -80, n)
    lat = rng.uniform(10, 37, n)
    grid = airspace._owner_index(lon, lat)
    exact = airspace._states.owner_of(lon, lat)
    assert np.array_equal(grid, exact)


def test_owner_grid_agrees_near_the_border(airspace: Airspace) -> None:
    rng = np.random.default_rng(12)
    n = 50_000
    lon = rng.uniform(-111.5, -108.0, n)
    lat = rng.uniform(31.25, 31.45, n)
    grid = airspace._owner_grid().owner(lon, lat)
    exact = airspace._states.owner_of(lon, lat)
    assert np.array_equal(grid, exact)


def test_real_clearance_against_brute_force(airspace: Airspace) -> None:
    # Points north of the Arizona border: clearance for USA = distance to Mexico's airspace.
    mex = airspace.geometries[airspace.codes.index("MEX")]
    window = shapely.box(-112.0, 30.5, -109.0, 32.5)
    rng = np.random.default_rng(5)
    lon = rng.uniform(-111.5, -109.5, 15)
    lat = rng.uniform(31.45, 32.0, 15)
    ours = airspace.clearance_m(lon, lat, "USA")
    for i in range(len(lon)):
        oracle = _boundary_oracle(
            [shapely.intersection(mex, window)], lon[i], lat[i], step_deg=5e-5
        )
        assert abs(ours[i] - oracle) < 1.0, (lon[i], lat[i], ours[i], oracle)


def test_no_fly_zone_is_forbidden_for_everyone(tmp_path: object) -> None:
    zone = NoFlyZone(
        "range-1", Polygon([(-110.5, 31.6), (-110.4, 31.6), (-110.4, 31.7), (-110.5, 31.7)])
    )
    air = Airspace.load([zone])
    inside = ([-110.45], [31.65])
    assert air.owner_at(*inside)[0] == "USA"  # sovereignty is unchanged
    assert air.clearance_m(*inside, "USA")[0] == 0.0
    assert air.clearance_m(*inside, "MEX")[0] == 0.0
    assert air.zone_at(*inside)[0] == 0
    near = ([-110.52], [31.65])
    assert air.nearest_forbidden(*near, "USA")[0] == "NFZ:range-1"
    expected = float(geodesic_distance_m(-110.52, 31.65, -110.5, 31.65))
    assert air.clearance_m(*near, "USA")[0] == pytest.approx(expected, abs=0.5)
