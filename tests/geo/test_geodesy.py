"""Geodesy: the fast chord path against Karney's exact geodesics (T1.9)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from standoff.geo.geodesy import (
    WGS84,
    chord_to_geodesic_m,
    ecef_from_lonlat,
    geodesic_distance_m,
    geodesic_interpolate,
    lonlat_from_ecef,
)


def test_chord_conversion_matches_geod_over_the_theatre() -> None:
    rng = np.random.default_rng(20260320)
    n = 1_000
    lon1 = rng.uniform(-125, -80, n)
    lat1 = rng.uniform(10, 37, n)
    dist = rng.uniform(1.0, 300_000.0, n)
    lon2, lat2, _ = WGS84.fwd(lon1, lat1, rng.uniform(0, 360, n), dist)
    chord = np.linalg.norm(ecef_from_lonlat(lon1, lat1) - ecef_from_lonlat(lon2, lat2), axis=1)
    approx = chord_to_geodesic_m(chord, 0.5 * (lat1 + lat2))
    err = np.abs(approx - dist)
    assert err.max() < 0.5, err.max()
    assert (err / dist).max() < 2e-6


def test_ecef_round_trip() -> None:
    rng = np.random.default_rng(1)
    lon = rng.uniform(-180, 180, 1000)
    lat = rng.uniform(-89, 89, 1000)
    lon2, lat2 = lonlat_from_ecef(ecef_from_lonlat(lon, lat))
    assert np.allclose(lon, lon2, atol=1e-10)
    assert np.allclose(lat, lat2, atol=1e-10)


def test_known_distances() -> None:
    # One degree of longitude along the equator is a * pi / 180 on WGS 84.
    assert float(geodesic_distance_m(0.0, 0.0, 1.0, 0.0)) == pytest.approx(111_319.490793, abs=1e-5)
    # One degree of latitude from the equator: the meridian arc, 110,574.389 m.
    assert float(geodesic_distance_m(0.0, 0.0, 0.0, 1.0)) == pytest.approx(110_574.389, abs=1e-2)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-125, -80),
    st.floats(10, 37),
    st.floats(-125, -80),
    st.floats(10, 37),
    st.floats(0, 1),
)
def test_interpolated_point_lies_on_the_geodesic(
    lon1: float, lat1: float, lon2: float, lat2: float, f: float
) -> None:
    lon, lat = geodesic_interpolate(lon1, lat1, lon2, lat2, f)
    total = float(geodesic_distance_m(lon1, lat1, lon2, lat2))
    first = float(geodesic_distance_m(lon1, lat1, lon, lat))
    second = float(geodesic_distance_m(lon, lat, lon2, lat2))
    assert abs(first - f * total) < 1e-3 + 1e-9 * total
    assert abs(first + second - total) < 1e-3 + 1e-9 * total


@settings(max_examples=60, deadline=None)
@given(
    x=st.floats(-300_000.0, 300_000.0),
    y=st.floats(-300_000.0, 300_000.0),
    az=st.floats(-3.1, 3.1),
)
def test_frame_and_true_azimuths_round_trip(x: float, y: float, az: float) -> None:
    """A frame direction as a true azimuth and back; frame north is true north at the
    origin and turns away from it by the meridians' convergence elsewhere."""
    from standoff.geo.frame import LocalFrame

    f = LocalFrame(-111.0, 31.3)
    true = f.true_azimuth_deg([x], [y], [az])
    lon, lat = f.to_lonlat([x], [y])
    back = f.frame_azimuth_rad(lon, lat, true)
    assert abs((back[0] - az + np.pi) % (2 * np.pi) - np.pi) < 1e-6
    at_origin = f.true_azimuth_deg([0.0], [0.0], [az])
    assert abs((np.radians(at_origin[0]) - az + np.pi) % (2 * np.pi) - np.pi) < 1e-6
    convergence = abs((np.radians(true[0]) - az + np.pi) % (2 * np.pi) - np.pi)
    assert convergence < np.radians(3.5)  # |dlon| sin(lat) within 300 km of the origin
