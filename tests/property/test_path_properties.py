"""Hypothesis: check_path is sound (never misses forbidden airspace) and honest (every
reported incursion is real), judged by independent oracles: dense geodesic sampling with
shapely's exact point-in-polygon test, and shapely distances in a local projection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import Polygon

from standoff.airspace import Airspace, FlightPath, NoFlyZone, check_path
from standoff.geo.geodesy import WGS84, geodesic_interpolate

ZONE = Polygon([(-99.80, 30.80), (-99.70, 30.80), (-99.75, 30.90)])
SLACK_REL = 2e-3  # local azimuthal projection error over the small world, generous

_settings = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def world(small_world_file: Path) -> Airspace:
    return Airspace.from_geojson(small_world_file, [NoFlyZone("tri", ZONE)])


@pytest.fixture(scope="module")
def oracle(world: Airspace) -> tuple[Transformer, shapely.Geometry]:
    """Forbidden region for AAA (BBB, CCC, the zone) in a local azimuthal projection."""
    tr = Transformer.from_crs(
        "EPSG:4326", "+proj=aeqd +lon_0=-99.5 +lat_0=30.4 +ellps=WGS84 +units=m", always_xy=True
    )
    forbidden = shapely.union_all([world.geometries[1], world.geometries[2], ZONE])
    local = shapely.transform(
        shapely.segmentize(forbidden, 0.001),
        lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])),
    )
    shapely.prepare(local)
    return tr, local


def _dense(path: FlightPath, step_m: float = 15.0) -> tuple[np.ndarray, np.ndarray]:
    lons, lats = [path.lon_deg], [path.lat_deg]
    for i in range(len(path) - 1):
        _, _, d = WGS84.inv(
            path.lon_deg[i], path.lat_deg[i], path.lon_deg[i + 1], path.lat_deg[i + 1]
        )
        f = np.linspace(0.0, 1.0, max(2, int(d / step_m) + 2))
        lo, la = geodesic_interpolate(
            path.lon_deg[i], path.lat_deg[i], path.lon_deg[i + 1], path.lat_deg[i + 1], f
        )
        lons.append(lo)
        lats.append(la)
    return np.concatenate(lons), np.concatenate(lats)


def _oracle_signed(
    oracle: tuple[Transformer, shapely.Geometry], lon: np.ndarray, lat: np.ndarray
) -> np.ndarray:
    tr, local = oracle
    x, y = tr.transform(lon, lat)
    pts = shapely.points(x, y)
    dist = shapely.distance(local.boundary, pts)
    inside = shapely.intersects(local, pts)
    return np.where(inside, -dist, dist)


fixes = st.lists(
    st.tuples(st.floats(-99.95, -99.05), st.floats(30.05, 30.95)), min_size=1, max_size=6
)


@_settings
@given(points=fixes, margin=st.sampled_from([0.0, 250.0, 1_000.0, 3_000.0]))
def test_never_conformant_when_sampling_finds_forbidden_airspace(
    world: Airspace,
    oracle: tuple[Transformer, shapely.Geometry],
    points: list[tuple[float, float]],
    margin: float,
) -> None:
    arr = np.asarray(points)
    path = FlightPath(arr[:, 0], arr[:, 1])
    result = check_path(world, path, "AAA", margin)
    lon, lat = _dense(path)
    # Exact owner test (shapely, no tolerance) at every sample.
    forbidden = np.zeros(len(lon), dtype=bool)
    for geom in (world.geometries[1], world.geometries[2], ZONE):
        forbidden |= shapely.intersects_xy(geom, lon, lat)
    if forbidden.any():
        assert not result.conformant
    if result.conformant:
        signed = _oracle_signed(oracle, lon, lat)
        assert signed.min() >= margin - SLACK_REL * max(margin, 1.0) - 2.0


@_settings
@given(points=fixes, margin=st.sampled_from([0.0, 500.0, 2_000.0]))
def test_every_reported_incursion_is_real(
    world: Airspace,
    oracle: tuple[Transformer, shapely.Geometry],
    points: list[tuple[float, float]],
    margin: float,
) -> None:
    arr = np.asarray(points)
    path = FlightPath(arr[:, 0], arr[:, 1])
    result = check_path(world, path, "AAA", margin)
    for inc in result.incursions:
        deepest = _oracle_signed(
            oracle, np.array([inc.deepest_lon_deg]), np.array([inc.deepest_lat_deg])
        )[0]
        slack = SLACK_REL * max(abs(deepest), margin, 1.0) + 2.0
        assert deepest < margin + result.tolerance_m + slack
        assert abs(deepest - inc.min_clearance_m) <= slack
        if inc.entered:
            assert deepest < slack


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(points=fixes, m1=st.floats(0, 3_000), m2=st.floats(0, 3_000))
def test_a_larger_margin_never_turns_unsafe_into_safe(
    world: Airspace, points: list[tuple[float, float]], m1: float, m2: float
) -> None:
    arr = np.asarray(points)
    path = FlightPath(arr[:, 0], arr[:, 1])
    small, large = sorted((m1, m2))
    if not check_path(world, path, "AAA", small).conformant:
        assert not check_path(world, path, "AAA", large).conformant


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    points=st.lists(
        st.tuples(st.floats(-111.6, -110.2), st.floats(31.20, 31.60)), min_size=2, max_size=5
    ),
    margin=st.sampled_from([0.0, 3_000.0]),
)
def test_real_border_soundness(
    airspace: Airspace, points: list[tuple[float, float]], margin: float
) -> None:
    arr = np.asarray(points)
    path = FlightPath(arr[:, 0], arr[:, 1])
    result = check_path(airspace, path, "USA", margin)
    lon, lat = _dense(path, step_m=25.0)
    owners = airspace._states.owner_of(lon, lat)
    usa = airspace.codes.index("USA")
    if ((owners != usa) & (owners >= 0)).any():
        assert not result.conformant
    if result.conformant and margin > 0:
        assert airspace.clearance_m(lon, lat, "USA").min() >= margin
