"""Synthetic mission plans near KFHU (Sierra Vista, Arizona), built without the planner.

The test-side geometry is independent of ``standoff.share``: orbits are drawn in an azimuthal
equidistant frame at their centre, transits are densified geodesics, times follow the speeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from pyproj import Geod, Transformer

from standoff.domain.mission import AoiCoverage, MissionPlan, Orbit, PlanLeg

KFHU_LAT = 31.588461
KFHU_LON = -110.344375
KFHU_ELEV_M = 1438.3
BORDER_LAT = 31.3271  # the Arizona-Sonora border west of -110 in the vendored data (a parallel)
CRUISE_MPS = 77.2
LOITER_MPS = 60.0
_GEOD = Geod(ellps="WGS84")

PlanFactory = Callable[..., MissionPlan]


def orbit_loop(
    lon0: float, lat0: float, heading_deg: float, leg_m: float, radius_m: float, cw: bool
) -> tuple[np.ndarray, np.ndarray]:
    """A closed racetrack (or circle) from the start of its first leg, ~200 m spacing."""
    h = math.radians(heading_deg)
    along = np.array([math.sin(h), math.cos(h)])
    right = np.array([math.cos(h), -math.sin(h)])
    side = -right if cw else right  # first leg on the left when clockwise
    turn = 1.0 if cw else -1.0
    pts: list[np.ndarray] = []
    n_leg = max(2, int(leg_m / 200))
    n_arc = max(8, int(math.pi * radius_m / 200))
    for k, sgn in ((0, 1.0), (1, -1.0)):
        c = sgn * 0.5 * leg_m * along  # the turn's centre
        start = -sgn * 0.5 * leg_m * along + (side if k == 0 else -side) * radius_m
        end = sgn * 0.5 * leg_m * along + (side if k == 0 else -side) * radius_m
        if leg_m > 0:
            for f in np.linspace(0, 1, n_leg, endpoint=False):
                pts.append(start + f * (end - start))
        a0 = math.atan2(*(end - c)[::-1])
        for f in np.linspace(0, 1, n_arc, endpoint=False):
            a = a0 - turn * math.pi * f
            pts.append(c + radius_m * np.array([math.cos(a), math.sin(a)]))
    xy = np.array([*pts, pts[0]])
    inv = Transformer.from_crs(
        f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m",
        "EPSG:4326",
        always_xy=True,
    )
    lon, lat = inv.transform(xy[:, 0], xy[:, 1])
    return np.asarray(lon), np.asarray(lat)


def geodesic(lon1: float, lat1: float, lon2: float, lat2: float) -> tuple[np.ndarray, np.ndarray]:
    """Densified geodesic (about 1 km spacing), both ends included."""
    _, _, dist = _GEOD.inv(lon1, lat1, lon2, lat2)
    n = max(0, int(dist / 1000))
    mid = _GEOD.npts(lon1, lat1, lon2, lat2, n) if n else []
    lon = np.array([lon1, *(p[0] for p in mid), lon2])
    lat = np.array([lat1, *(p[1] for p in mid), lat2])
    return lon, lat


def _seg_lengths(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    _, _, d = _GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    return np.asarray(d)


def make_plan(
    *,
    centre_lon: float = -110.65,
    centre_lat: float = 31.55,
    heading_deg: float = 90.0,
    leg_m: float = 20_000.0,
    radius_m: float = 4_000.0,
    clockwise: bool = True,
    laps: int = 3,
    base_lon: float = KFHU_LON,
    base_lat: float = KFHU_LAT,
    base_elev_m: float = KFHU_ELEV_M,
    margin_m: float = 3000.0,
    orbit_alt_m: float = 6000.0,
    **overrides: Any,
) -> MissionPlan:
    """A one-orbit sortie from the base: out, ``laps`` laps, back."""
    o_lon, o_lat = orbit_loop(centre_lon, centre_lat, heading_deg, leg_m, radius_m, clockwise)
    lap_m = float(_seg_lengths(o_lon, o_lat).sum())
    out_lon, out_lat = geodesic(base_lon, base_lat, o_lon[0], o_lat[0])
    back_lon, back_lat = geodesic(o_lon[0], o_lat[0], base_lon, base_lat)
    loop_lon = np.concatenate([o_lon[:-1]] * laps + [o_lon[:1]])
    loop_lat = np.concatenate([o_lat[:-1]] * laps + [o_lat[:1]])
    parts = [
        (out_lon, out_lat, CRUISE_MPS),
        (loop_lon, loop_lat, LOITER_MPS),
        (back_lon, back_lat, CRUISE_MPS),
    ]
    lons, lats, times, bounds = [], [], [], []
    t = 0.0
    for k, (lon, lat, v) in enumerate(parts):
        seg_t = np.concatenate([[0.0], np.cumsum(_seg_lengths(lon, lat) / v)])
        skip = 0 if k == 0 else 1  # the first vertex repeats the previous part's last
        lons.append(lon[skip:])
        lats.append(lat[skip:])
        times.append(t + seg_t[skip:])
        bounds.append((t, t + float(seg_t[-1])))
        t += float(seg_t[-1])
    on_station_s = laps * lap_m / LOITER_MPS
    orbit = Orbit(
        name="orbit-1",
        centre_lon_deg=centre_lon,
        centre_lat_deg=centre_lat,
        axis_heading_deg=heading_deg,
        leg_length_m=leg_m,
        radius_m=radius_m,
        alt_m=orbit_alt_m,
        clockwise=clockwise,
        on_station_s=on_station_s,
        aoi_names=("aoi-a",),
        lon_deg=o_lon,
        lat_deg=o_lat,
        radar_azimuth_deg=180.0,  # across the border to the south
    )
    legs = (
        PlanLeg("transit_out", "out", *bounds[0]),
        PlanLeg("orbit", "orbit-1", *bounds[1]),
        PlanLeg("transit_back", "back", *bounds[2]),
    )
    fields: dict[str, Any] = dict(
        mission_name="test-sortie",
        operator="USA",
        base_icao="KFHU",
        base_lon_deg=base_lon,
        base_lat_deg=base_lat,
        base_elevation_m=base_elev_m,
        start_utc=datetime(2026, 3, 20, 2, 0, 0, 250_000, tzinfo=UTC),
        aircraft_name="test-ISR",
        sensors=("eo-ir", "gmti"),
        altitude_m=7620.0,
        margin_m=margin_m,
        cruise_speed_mps=CRUISE_MPS,
        loiter_speed_mps=LOITER_MPS,
        endurance_s=86_400.0,
        reserve_s=3600.0,
        orbits=(orbit,),
        legs=legs,
        coverage=(
            AoiCoverage("aoi-a", 1.0, 5.0e8, 4.0e8, 3.1e8, on_station_s),
            AoiCoverage("aoi-b", 0.5, 2.0e8, 0.0, 0.0, 0.0, reachable=False, note="too far"),
        ),
        path_lon_deg=np.concatenate(lons),
        path_lat_deg=np.concatenate(lats),
        path_time_s=np.concatenate(times),
        min_clearance_m=15_000.0,
        airspace_sha256="0" * 64,
        transit_s=bounds[0][1] - bounds[0][0] + bounds[2][1] - bounds[2][0],
        on_station_s=bounds[1][1] - bounds[1][0],
        endurance_reserve_s=40_000.0,
        extra={"note": "synthetic", "seed": 7},
    )
    fields.update(overrides)
    return MissionPlan(**fields)


@pytest.fixture
def plan_factory() -> PlanFactory:
    return make_plan


@pytest.fixture(scope="session")
def border_plan() -> MissionPlan:
    """The default sortie: a racetrack ~20 km north of the Sonora border."""
    return make_plan()


@pytest.fixture(scope="session")
def texas_plan() -> MissionPlan:
    """A sortie far from any foreign airspace (central Texas): its fence is empty."""
    return make_plan(
        centre_lon=-99.3, centre_lat=33.0, base_lon=-99.0, base_lat=32.9, base_elev_m=400.0
    )
