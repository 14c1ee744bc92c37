"""The planner: conformant plans, coverage, transits around forbidden airspace, clear errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from standoff.airspace import Airspace, FlightPath, check_path
from standoff.core.errors import InfeasiblePlan
from standoff.domain.mission import MissionPlan
from standoff.geo.geodesy import WGS84
from standoff.plan import DEMO_MISSION_YAML, parse_mission, plan_mission


def _mission(**changes: Any) -> dict[str, Any]:
    doc = yaml.safe_load(DEMO_MISSION_YAML)
    if "aoi" in changes:  # the demo's look points lie in the demo's AOIs
        doc.pop("look_points", None)
    doc.update(changes)
    return doc  # type: ignore[no-any-return]


def _box(lon0: float, lat0: float, lon1: float, lat1: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]],
    }


@pytest.fixture(scope="module")
def demo_plan(airspace: Airspace) -> MissionPlan:
    return plan_mission(airspace, parse_mission(_mission(), source="demo"))


def _assert_sound(airspace: Airspace, plan: MissionPlan) -> None:
    result = check_path(
        airspace, FlightPath(plan.path_lon_deg, plan.path_lat_deg), plan.operator, plan.margin_m
    )
    assert result.conformant, result.incursions[:1]
    assert plan.min_clearance_m >= plan.margin_m
    assert np.all(np.diff(plan.path_time_s) > 0)
    # The path starts and ends at the base.
    for i in (0, -1):
        _, _, d = WGS84.inv(
            plan.path_lon_deg[i], plan.path_lat_deg[i], plan.base_lon_deg, plan.base_lat_deg
        )
        assert d < 1.0


def test_demo_plan_is_conformant_and_covers_the_coverable(
    airspace: Airspace, demo_plan: MissionPlan
) -> None:
    _assert_sound(airspace, demo_plan)
    for cov in demo_plan.coverage:
        assert 0.0 < cov.coverable_fraction <= 1.0
        assert 0.9 <= cov.coverage_efficiency <= 1.0 + 1e-9, cov
        assert cov.on_station_s > 0
    assert demo_plan.endurance_reserve_s >= 0
    assert demo_plan.on_station_s + demo_plan.transit_s == pytest.approx(
        demo_plan.duration_s, rel=1e-9
    )


def test_orbits_fly_the_physical_turn_radius_and_stay_in_their_airspace(
    airspace: Airspace, demo_plan: MissionPlan
) -> None:
    req = parse_mission(_mission(), source="demo")
    minimum = req.aircraft.turn_radius_m()
    for orbit in demo_plan.orbits:
        assert orbit.radius_m >= minimum
        assert set(airspace.owner_at(orbit.lon_deg, orbit.lat_deg)) <= {"USA", "INTL"}
        assert airspace.clearance_m(orbit.lon_deg, orbit.lat_deg, "USA").min() >= req.margin_m


def test_the_whole_path_is_flyable_at_the_turn_radius_without_corners(
    demo_plan: MissionPlan,
) -> None:
    """Transits join and leave orbits on tangents: nowhere along the path (transits, joins,
    orbits) does the heading change faster than a turn of the orbit radius allows."""
    from standoff.geo.frame import LocalFrame

    frame = LocalFrame(float(demo_plan.base_lon_deg), float(demo_plan.base_lat_deg))
    x, y = frame.to_xy(demo_plan.path_lon_deg, demo_plan.path_lat_deg)
    step = np.diff(np.column_stack([x, y]), axis=0)
    length = np.hypot(*step.T)
    heading = np.arctan2(step[:, 0], step[:, 1])
    turn = np.abs((np.diff(heading) + np.pi) % (2 * np.pi) - np.pi)
    assert np.degrees(turn).max() < 20.0
    # Heading change accumulated over every 400 m window, as a radius of turn.
    at = np.cumsum(length)[:-1]
    total = np.concatenate([[0.0], np.cumsum(turn)])
    end = np.minimum(np.searchsorted(at, at + 400.0), len(at) - 1)
    rate = (total[end] - total[: len(at)]) / np.maximum(at[end] - at, 1.0)
    radius = demo_plan.orbits[0].radius_m
    assert 1.0 / rate.max() >= 0.9 * radius


def test_an_aoi_deep_in_mexico_is_an_error_with_numbers(airspace: Airspace) -> None:
    doc = _mission(aoi=[{"name": "corridor-9", "geometry": _box(-110.0, 29.5, -109.8, 29.7)}])
    with pytest.raises(
        InfeasiblePlan,
        match=r"corridor-9 lies [\d,]+ km inside MEX.*gmti ground reach at 7,600 m is 29 km"
        r".*nothing is visible",
    ):
        plan_mission(airspace, parse_mission(doc, source="m.yaml"))


def test_aois_that_do_not_fit_the_endurance_are_reported(airspace: Airspace) -> None:
    doc = _mission(aircraft={"profile": "mq9", "endurance_s": 1800, "reserve_s": 600})
    with pytest.raises(InfeasiblePlan, match="do not fit the endurance"):
        plan_mission(airspace, parse_mission(doc, source="m.yaml"))


def test_a_base_inside_the_margin_cannot_depart(airspace: Airspace) -> None:
    doc = _mission(
        base="KBRO",
        margin_m=8000,
        aoi=[{"name": "matamoros", "geometry": _box(-97.6, 25.7, -97.4, 25.85)}],
    )
    with pytest.raises(InfeasiblePlan, match=r"KBRO lies .* inside the 8,000 m margin"):
        plan_mission(airspace, parse_mission(doc, source="m.yaml"))


def test_transit_routes_around_forbidden_airspace(airspace: Airspace) -> None:
    # From Fort Huachuca to Tijuana: the great circle crosses Sonora and Baja California.
    doc = _mission(
        aoi=[{"name": "tijuana-east", "geometry": _box(-116.95, 32.40, -116.75, 32.52)}],
        on_station_s=7200,
    )
    plan = plan_mission(airspace, parse_mission(doc, source="m.yaml"))
    _assert_sound(airspace, plan)
    straight = WGS84.line_length([plan.base_lon_deg, -116.85], [plan.base_lat_deg, 32.46])
    out_leg = next(leg for leg in plan.legs if leg.kind == "transit_out")
    assert out_leg.end_s * plan.cruise_speed_mps > straight  # it had to go around
    direct = FlightPath(
        np.array([plan.base_lon_deg, -116.85]), np.array([plan.base_lat_deg, 32.46])
    )
    assert not check_path(airspace, direct, "USA", 3000).conformant


# Points along the US-Mexico land border, from Tijuana to Matamoros.
def _border_points(airspace: Airspace) -> np.ndarray:
    usa = airspace.geometries[airspace.codes.index("USA")]
    mex = airspace.geometries[airspace.codes.index("MEX")]
    shared = shapely.intersection(usa.boundary, mex.boundary)
    coords = shapely.get_coordinates(shapely.segmentize(shared, 0.05))
    return coords[(coords[:, 0] > -117.0) & (coords[:, 0] < -97.3)]


BASES = {
    "KNZY": (-117.213, 32.698),
    "KNYL": (-114.606, 32.656),
    "KFHU": (-110.344, 31.588),
    "KBIF": (-106.380, 31.850),
    "KNGP": (-97.290, 27.693),
}


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pick=st.floats(0.0, 1.0),
    south_km=st.floats(3.0, 25.0),
    size_km=st.floats(5.0, 30.0),
    margin_m=st.sampled_from([2_000.0, 3_000.0]),
)
def test_random_border_aois_give_conformant_plans(
    airspace: Airspace, pick: float, south_km: float, size_km: float, margin_m: float
) -> None:
    border = _border_points(airspace)
    lon, lat = border[int(pick * (len(border) - 1))]
    c_lon, c_lat, _ = WGS84.fwd(lon, lat, 180.0, south_km * 1000.0 + size_km * 500.0)
    half = size_km / 2 / 111.0
    aoi = _box(c_lon - half, c_lat - half, c_lon + half, c_lat + half)
    base = min(BASES, key=lambda k: (BASES[k][0] - lon) ** 2 + (BASES[k][1] - lat) ** 2)
    doc = _mission(
        base=base,
        margin_m=margin_m,
        on_station_s=3600,
        max_orbits=2,
        aoi=[{"name": "random", "geometry": aoi}],
    )
    req = parse_mission(doc, source="hypothesis")
    try:
        plan = plan_mission(airspace, req)
    except InfeasiblePlan as exc:
        message = str(exc)
        assert "nothing is visible" in message, message
        return
    _assert_sound(airspace, plan)
    for orbit in plan.orbits:
        assert orbit.radius_m >= req.aircraft.turn_radius_m()
    for cov in plan.coverage:
        assert cov.coverage_efficiency <= 1.0 + 1e-9


def test_an_aoi_beyond_the_endurance_is_reported_not_dropped(airspace: Airspace) -> None:
    doc = _mission(
        aircraft={"profile": "mq9", "endurance_s": 6 * 3600},
        on_station_s=3600,
        aoi=[
            {"name": "near", "geometry": _box(-111.6, 31.1, -111.2, 31.35)},
            {"name": "matamoros", "geometry": _box(-97.7, 25.6, -97.4, 25.8)},
        ],
    )
    plan = plan_mission(airspace, parse_mission(doc, source="m.yaml"))
    _assert_sound(airspace, plan)
    by_name = {c.name: c for c in plan.coverage}
    assert by_name["near"].reachable
    assert by_name["near"].coverage_efficiency >= 0.9
    assert not by_name["matamoros"].reachable
    assert "endurance" in by_name["matamoros"].note
    assert by_name["matamoros"].covered_m2 == 0.0
    assert plan.endurance_reserve_s >= 0


def test_look_points_stay_in_their_sensors_reach(
    airspace: Airspace, demo_plan: MissionPlan
) -> None:
    """Each of the demo's look points is within the camera's slant range for a real share of
    the time on station (the planner keeps it in reach all the way round some orbit)."""
    report = demo_plan.extra["look_points"]
    assert [p["name"] for p in report] == ["tip-1", "tip-2", "tip-3", "tip-4"]
    for point in report:
        assert point["reachable"], point
        assert point["in_reach_share"] >= 0.1, point
        assert point["nearest_slant_m"] <= 20_000.0
    # A mission without look points gets no report of them.
    doc = _mission()
    doc.pop("look_points")
    plain = plan_mission(airspace, parse_mission(doc, source="m.yaml"))
    assert plain.extra["look_points"] == []


def test_a_look_point_nothing_legal_can_reach_is_reported_with_numbers(
    airspace: Airspace,
) -> None:
    """Like an AOI beyond the endurance, a look point no legal orbit can keep in reach is
    reported (not reachable, with the distances), not silently dropped; the plan stands."""
    doc = _mission(look_points=[{"name": "deep", "lon_deg": -111.45, "lat_deg": 31.0}])
    plan = plan_mission(airspace, parse_mission(doc, source="m.yaml"))
    (point,) = plan.extra["look_points"]
    assert point["reachable"] is False
    assert point["in_reach_share"] == 0.0
    assert "closest legal orbit flies" in point["note"]
    assert "eoir ground reach at 7,600 m is 18.5 km" in point["note"]


def test_fillet_is_tangent_to_both_legs_at_the_turn_radius() -> None:
    from standoff.plan.planner import _fillet

    a, v, b = np.array([0.0, 0.0]), np.array([10_000.0, 0.0]), np.array([16_000.0, 6_000.0])
    arc = _fillet(a, v, b, 1_000.0, 50.0)
    assert arc is not None
    # Starts on the first leg, ends on the second, every point at the radius from one centre.
    assert abs(arc[0][1]) < 1e-6
    assert 0.0 < arc[0][0] < v[0]
    d2 = (b - v) / np.hypot(*(b - v))
    off = arc[-1] - v
    assert abs(off[0] * d2[1] - off[1] * d2[0]) < 1e-6
    centre = arc[0] + np.array([0.0, 1_000.0])  # a left turn: the centre is on the left
    assert np.allclose(np.hypot(*(arc - centre).T), 1_000.0)
    # Too short a leg for the arc, or no bend at all: no fillet.
    assert _fillet(a, v, v + np.array([300.0, 300.0]), 1_000.0, 50.0) is None
    assert _fillet(a, v, np.array([20_000.0, 0.0]), 1_000.0, 50.0) is None


def test_radar_sector_share_is_what_the_aimed_sector_sweeps(
    airspace: Airspace, demo_plan: MissionPlan
) -> None:
    """The share of each AOI the radar's 120° sector sweeps from the orbits is within what
    the orbits cover; the altar valley, wider than the sector seen from its orbits, is
    swept along well under its covered part.  With a 360° radar the sweep is the covered
    part (to the 2 km sampling round the orbits)."""
    for cov in demo_plan.coverage:
        assert cov.radar_m2 is not None
        assert cov.radar_m2 <= cov.covered_m2 * 1.01 + 1.0
    valley = next(c for c in demo_plan.coverage if c.name == "altar-valley")
    assert valley.radar_m2 is not None
    assert valley.radar_m2 < 0.7 * valley.covered_m2
    wide = plan_mission(
        airspace,
        parse_mission(_mission(sensors=[{"profile": "gmti", "fov_deg": 360}, "eoir"]), source="t"),
    )
    for cov in wide.coverage:
        assert cov.radar_m2 is not None
        assert cov.radar_m2 == pytest.approx(cov.covered_m2, rel=0.02)
    eo_only = plan_mission(airspace, parse_mission(_mission(sensors=["eoir"]), source="t"))
    assert all(c.radar_m2 is None for c in eo_only.coverage)


def _ring_cells(r0: float, r1: float, step: float = 500.0) -> tuple[Any, Any]:
    gx, gy = np.meshgrid(np.arange(-r1, r1, step), np.arange(-r1, r1, step))
    x, y = gx.ravel(), gy.ravel()
    keep = (np.hypot(x, y) >= r0) & (np.hypot(x, y) <= r1)
    return x[keep], y[keep]


def _circle(frame: Any, on_station_s: float, r: float = 1_500.0) -> Any:
    """A circle orbit of radius ``r`` round ``frame``'s origin, ``on_station_s`` on it."""
    from standoff.domain.mission import Orbit

    a = np.linspace(0.0, 2 * np.pi, 60)
    lon, lat = frame.to_lonlat(r * np.sin(a), r * np.cos(a))
    return Orbit(
        "orbit", frame.lon0_deg, frame.lat0_deg, 0.0, 0.0, r, 7600.0, True, on_station_s, (),
        lon, lat,
    )  # fmt: skip


def test_radar_azimuths_turn_orbits_to_what_nobody_else_sees() -> None:
    """One orbit aims at its cells; two orbits at one place split a ring of cells between
    them rather than both looking at the same part; a look point in reach is held in the
    sector even when the cells lie the other way."""
    from standoff.geo.frame import LocalFrame
    from standoff.plan.planner import PlannerOptions, _radar_azimuths

    frame = LocalFrame(-111.5, 31.5)
    req = parse_mission(_mission(look_points=[], radar_aim="planned"), source="t")
    opt = PlannerOptions()
    x, y = _ring_cells(6_000.0, 24_000.0)
    east = x > 4_000.0
    w = np.ones(len(x))
    (one,) = _radar_azimuths(req, frame, [_circle(frame, 3600.0)], x[east], y[east], w[east], opt)
    assert one == pytest.approx(90.0, abs=5.0)

    a, b = _radar_azimuths(
        req, frame, [_circle(frame, 7200.0), _circle(frame, 7200.0)], x, y, w, opt
    )
    assert a is not None
    assert b is not None
    apart = abs((a - b + 180.0) % 360.0 - 180.0)
    assert apart >= 120.0 - opt.radar_step_deg  # the two 120° sectors barely overlap

    west = frame.to_lonlat(-15_000.0, 0.0)
    tipped = parse_mission(
        _mission(
            look_points=[{"name": "tip", "lon_deg": float(west[0]), "lat_deg": float(west[1])}],
            radar_aim="planned",
        ),
        source="t",
    )
    (held,) = _radar_azimuths(
        tipped, frame, [_circle(frame, 3600.0)], x[east], y[east], w[east], opt
    )
    assert held is not None
    assert abs((held - 270.0 + 180.0) % 360.0 - 180.0) <= 60.0
    # An all-round radar, or none: no azimuth to set.
    wide = parse_mission(
        _mission(
            sensors=[{"profile": "gmti", "fov_deg": 360}], look_points=[], radar_aim="planned"
        ),
        source="t",
    )
    assert _radar_azimuths(wide, frame, [_circle(frame, 3600.0)], x, y, w, opt) == [None]
    eo = parse_mission(_mission(sensors=["eoir"], look_points=[], radar_aim="planned"), source="t")
    assert _radar_azimuths(eo, frame, [_circle(frame, 3600.0)], x, y, w, opt) == [None]
    # Unless the mission asks for it, the sector stays on the AOIs in reach.
    default = parse_mission(_mission(look_points=[]), source="t")
    assert _radar_azimuths(default, frame, [_circle(frame, 3600.0)], x, y, w, opt) == [None]


def test_demo_radar_azimuths_hold_the_tips_and_sweep_more_than_aiming_at_the_aois(
    airspace: Airspace, demo_plan: MissionPlan
) -> None:
    """With ``radar_aim: planned`` each demo orbit's sector holds the tipped places within
    the radar's reach, and the planned azimuths sweep more of the AOIs than centring every
    sector on the AOIs in reach (the default, the demo's plan) does."""
    import dataclasses

    from standoff.geo.frame import LocalFrame
    from standoff.plan.planner import _radar_view

    assert all(o.radar_azimuth_deg is None for o in demo_plan.orbits)
    req = parse_mission(_mission(radar_aim="planned"), source="demo")
    planned_plan = plan_mission(airspace, req)
    assert [o.centre_lon_deg for o in planned_plan.orbits] == [
        o.centre_lon_deg for o in demo_plan.orbits
    ]  # the same orbits, only the radar aimed otherwise
    gmti = next(s for s in req.sensors if s.kind == "gmti")
    reach = gmti.ground_reach_m(req.altitude_m)
    for o in planned_plan.orbits:
        assert o.radar_azimuth_deg is not None
        assert 0.0 <= o.radar_azimuth_deg < 360.0
        for lp in req.look_points:
            az, _, d = WGS84.inv(o.centre_lon_deg, o.centre_lat_deg, lp.lon_deg, lp.lat_deg)
            if d < reach - 2 * o.radius_m:
                off = abs((az - o.radar_azimuth_deg + 180.0) % 360.0 - 180.0)
                assert off <= 60.0 + 8.0, (o.name, lp.name)  # 8°: round a 1.6 km circle
    aims = [o.radar_azimuth_deg for o in planned_plan.orbits]
    assert len(set(aims)) > 1 or len(aims) == 1
    frame = LocalFrame(-111.55, 31.45)
    aoi_xy = [frame.geometry_to_xy(a.geometry) for a in req.aois]
    planned = _radar_view(req, frame, aoi_xy, list(planned_plan.orbits))
    centred = _radar_view(
        req,
        frame,
        aoi_xy,
        [dataclasses.replace(o, radar_azimuth_deg=None) for o in planned_plan.orbits],
    )
    assert planned is not None
    assert centred is not None
    aois = shapely.union_all(aoi_xy)
    assert (
        shapely.intersection(planned, aois).area > 1.05 * shapely.intersection(centred, aois).area
    )
