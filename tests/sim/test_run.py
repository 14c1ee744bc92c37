"""The whole stage: determinism, reach, MDV in the world, the flown path, the stream."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import shapely
import yaml

from standoff.airspace import Airspace, FlightPath, check_path
from standoff.core.errors import InputError
from standoff.domain.detections import DetectionBatch
from standoff.domain.mission import MissionPlan
from standoff.plan import plan_mission
from standoff.plan.demo import DEMO_MISSION_YAML
from standoff.plan.mission_file import parse_mission
from standoff.platforms import AIRCRAFT, SENSORS
from standoff.share import read_plan_json, write_plan_json
from standoff.sim import Scenario, SimWorld, iter_scans, iter_steps, prepare, simulate


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def world(demo_plan: MissionPlan, small_scenario: Scenario) -> SimWorld:
    return prepare(demo_plan, small_scenario)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_same_bytes_other_seed_other_bytes(
    demo_plan: MissionPlan,
    small_scenario: Scenario,
    sim_airspace: Airspace,
    tmp_path: Path,
    fmt: str,
) -> None:
    a = simulate(demo_plan, small_scenario, sim_airspace, tmp_path / "a", fmt=fmt)  # type: ignore[arg-type]
    simulate(demo_plan, small_scenario, sim_airspace, tmp_path / "b", fmt=fmt)  # type: ignore[arg-type]
    other = dataclasses.replace(small_scenario, seed=small_scenario.seed + 1)
    simulate(demo_plan, other, sim_airspace, tmp_path / "c", fmt=fmt)  # type: ignore[arg-type]
    da, db, dc = (_digests(tmp_path / k) for k in "abc")
    assert da == db
    assert da[f"detections.{fmt}"] != dc[f"detections.{fmt}"]
    assert da[f"truth.{fmt}"] != dc[f"truth.{fmt}"]
    assert a.detections > 100
    assert a.truth_rows > 1000
    assert set(a.files) == set(da)


def test_files_and_meta(
    demo_plan: MissionPlan, small_scenario: Scenario, sim_airspace: Airspace, tmp_path: Path
) -> None:
    import pandas as pd

    s = simulate(demo_plan, small_scenario, sim_airspace, tmp_path)
    det = pd.read_csv(tmp_path / "detections.csv")
    assert list(det.columns) == [
        "det_id",
        "time",
        "sensor",
        "lat",
        "lon",
        "x_m",
        "y_m",
        "sigma_m",
        "radial_velocity_mps",
    ]
    assert det["time"].str.endswith("Z").all()
    assert set(det["sensor"]) <= {"gmti", "eoir"}
    truth = pd.read_csv(tmp_path / "truth.csv")
    assert list(truth.columns) == ["time", "truth_id", "kind", "lat", "lon", "speed_mps"]
    assert set(truth["kind"]) == {"background", "site_visit", "convoy"}
    # Where every GMTI scan looked, in the run's frame and as a true azimuth.
    scans = pd.read_csv(tmp_path / "scans.csv")
    assert list(scans.columns) == [
        "time",
        "sensor",
        "lat",
        "lon",
        "x_m",
        "y_m",
        "r_min_m",
        "r_max_m",
        "azimuth_deg",
        "frame_azimuth_deg",
        "half_width_deg",
        "area_km2",
    ]
    assert len(scans) == s.meta["counts"]["scans_by_sensor"]["gmti"]
    assert set(det.loc[det["sensor"] == "gmti", "time"]) <= set(scans["time"])
    assert (scans["half_width_deg"] == 60.0).all()
    assert (np.abs(scans["azimuth_deg"] - scans["frame_azimuth_deg"]) < 2.0).all()
    flight = pd.read_csv(tmp_path / "flight.csv")
    assert list(flight.columns) == [
        "sortie", "time", "lat", "lon", "alt_m", "heading_deg", "speed_mps",
    ]  # fmt: skip
    assert (flight["sortie"] == 1).all()
    meta = s.meta
    assert meta["frame"]["proj4"].startswith("+proj=aeqd")
    assert meta["flight"]["path_check"]["status"] == s.path_check.status
    assert meta["counts"]["detections"] == len(det)
    # The local frame in meta reproduces x_m, y_m from lon/lat.
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", meta["frame"]["proj4"], always_xy=True)
    x, y = tr.transform(det["lon"].to_numpy(), det["lat"].to_numpy())
    assert np.allclose(x, det["x_m"], atol=0.05)
    assert np.allclose(y, det["y_m"], atol=0.05)
    # The world's truth as GeoJSON: roads, the site, the border point, the convoy's road path
    # from the site to the border point.
    world = json.loads((tmp_path / "world.geojson").read_text(encoding="utf-8"))
    kinds = {f["properties"]["kind"] for f in world["features"]}
    assert kinds == {"road", "site", "border_point", "route"}
    (route,) = [f for f in world["features"] if f["properties"]["kind"] == "route"]
    assert route["properties"]["from_site"] == "s1"
    assert route["properties"]["to"] == "b1"
    line = np.asarray(route["geometry"]["coordinates"])
    assert np.abs(line[0] - [-111.3, 31.3]).max() < 0.02
    assert np.abs(line[-1] - [-111.3, 31.395]).max() < 0.02
    # The road map (no truth in it) reads back as a scenario's roads, and the convoy's road
    # path runs along it.
    from standoff.sim.scenario import _read_roads_geojson

    roads = json.loads((tmp_path / "roads.geojson").read_text(encoding="utf-8"))
    assert {f["properties"]["kind"] for f in roads["features"]} == {"road"}
    lines = _read_roads_geojson("roads.geojson", "test", tmp_path)
    assert {r.road_class for r in lines} <= {"highway", "secondary", "dirt"}
    import shapely

    net = shapely.MultiLineString([np.column_stack([r.lon_deg, r.lat_deg]) for r in lines])
    assert float(shapely.distance(shapely.points(line), net).max()) < 1e-6


def test_detections_within_reach_and_above_mdv(world: SimWorld) -> None:
    gmti, eoir = world.gmti, world.eoir
    assert gmti is not None
    assert eoir is not None
    alt = world.plan.altitude_m
    checked = 0
    for step in iter_steps(world):
        b = step.batch
        if b is None:
            continue
        assert np.unique(b.sensor_x_m).size <= 1
        rg = np.hypot(b.x_m - b.sensor_x_m, b.y_m - b.sensor_y_m)
        for spec in (gmti, eoir):
            sel = b.sensor == spec.name
            assert np.all(rg[sel] <= spec.ground_reach_m(alt) + 5 * b.sigma_m[sel])
        truth = step.truth
        assert truth is not None  # truth sampled at every scan in the small scenario
        pos = {int(t): i for i, t in enumerate(truth.truth_id)}
        for k in np.flatnonzero((b.sensor == "gmti") & (step.detection_truth_id >= 0)):
            i = pos[int(step.detection_truth_id[k])]
            dx, dy = truth.x_m[i] - b.sensor_x_m[k], truth.y_m[i] - b.sensor_y_m[k]
            assert np.hypot(dx, dy) <= gmti.ground_reach_m(alt)
            radial = (truth.vx_mps[i] * dx + truth.vy_mps[i] * dy) / np.sqrt(
                dx * dx + dy * dy + alt * alt
            )
            assert abs(radial) >= gmti.mdv_mps
            # GMTI scans the plan's AOIs: every true detection is of a mover inside one.
            assert world.aois_xy is not None
            assert shapely.contains_xy(world.aois_xy, truth.x_m[i], truth.y_m[i])
            checked += 1
    assert checked > 50


def test_scan_stream(world: SimWorld) -> None:
    times = []
    for t, batch in iter_scans(world):
        assert isinstance(batch, DetectionBatch)
        assert batch.time_s == t
        times.append(t)
    assert times == sorted(times)
    assert len(set(times)) == len(times)
    assert times[1] - times[0] == pytest.approx(world.gmti.revisit_s if world.gmti else 0)


@pytest.mark.parametrize(("speed_mps", "from_deg"), [(15.0, 250.0), (15.0, 20.0)])
def test_flown_path_in_wind_stays_conformant(
    demo_plan: MissionPlan,
    small_scenario: Scenario,
    sim_airspace: Airspace,
    speed_mps: float,
    from_deg: float,
) -> None:
    sc = dataclasses.replace(small_scenario, wind_speed_mps=speed_mps, wind_from_deg=from_deg)
    w = prepare(demo_plan, sc)
    assert w.flown.completed
    lon, lat = w.frame.to_lonlat(w.flown.x_m, w.flown.y_m)
    check = check_path(
        sim_airspace,
        FlightPath(lon, lat, w.flight_time_s, epoch=sc.start_utc),
        demo_plan.operator,
        demo_plan.margin_m,
    )
    assert check.status == "conformant", check.incursions[:1]
    # Deviation is bounded: tight on average; the plan has no corners (tangential orbit
    # joins), so even in wind above the planning allowance the worst overshoot, flown at the
    # planning bank, stays within a quarter turn radius; the schedule holds within minutes.
    assert np.percentile(w.flown.cross_track_m, 95) < 100.0
    assert w.flown.cross_track_m.max() < 0.25 * demo_plan.extra["turn_radius_m"]
    assert abs(w.flight_time_s[-1] - w.flight_offset_s - demo_plan.duration_s) < 600.0
    assert np.abs(w.flown.bank_deg).max() <= w.bank_limit_deg + 1e-9


def test_movers_stay_on_the_network(world: SimWorld) -> None:
    from standoff.sim.movers import DRIVING, build_movers

    m = build_movers(
        world.scenario, world.network, np.random.default_rng(1), np.random.default_rng(2)
    )
    for t in np.arange(10.0, 1200.0, 37.0):
        m.advance(float(t))
        on = m.state == DRIVING
        assert np.all(m.s[on] <= world.network.edge_len_m[m.edge[on]] + 1e-6)
        assert np.all(m.s >= 0)
    snap = m.snapshot()
    assert snap.speed_mps.max() < 40.0


def test_sensors_fly_as_the_mission_planned_them(
    sim_airspace: Airspace, small_scenario: Scenario, tmp_path: Path
) -> None:
    """A mission that changes a sensor profile's figures is simulated with them (the plan
    records its sensors), not with the catalogue's; a plan file's broken record is refused
    with the field named."""
    doc = yaml.safe_load(DEMO_MISSION_YAML)
    doc["sensors"] = [{"profile": "gmti", "fov_deg": 200.0, "max_slant_range_m": 40_000.0}, "eoir"]
    plan = plan_mission(sim_airspace, parse_mission(doc, source="custom"))
    write_plan_json(plan, tmp_path / "plan.json")
    again = read_plan_json(tmp_path / "plan.json")
    world = prepare(again, small_scenario)
    assert world.gmti is not None
    assert world.eoir is not None
    assert world.gmti.fov_deg == 200.0
    assert world.gmti.max_slant_range_m == 40_000.0
    assert world.gmti.mdv_mps == SENSORS["gmti"].mdv_mps  # the rest of the profile
    assert world.eoir == SENSORS["eoir"]
    broken = dataclasses.replace(
        again,
        extra={**again.extra, "sensor_profiles": {"gmti": {**again.extra["sensor_profiles"]["gmti"],
                                                        "fov_deg": "wide"}}},
    )  # fmt: skip
    with pytest.raises(InputError) as err:
        prepare(broken, small_scenario)
    assert err.value.field == "extra.sensor_profiles.gmti.fov_deg"
    assert "fov_deg" in str(err.value)


def test_the_aircraft_banks_as_the_mission_planned(
    sim_airspace: Airspace, small_scenario: Scenario, demo_plan: MissionPlan, tmp_path: Path
) -> None:
    """A mission that changes its aircraft's bank limit is flown with it: the planner sized
    every turn for that bank, and the plan records it."""
    doc = yaml.safe_load(DEMO_MISSION_YAML)
    doc["aircraft"] = {"profile": "mq9", "bank_limit_deg": 30.0}
    plan = plan_mission(sim_airspace, parse_mission(doc, source="custom"))
    write_plan_json(plan, tmp_path / "plan.json")
    again = read_plan_json(tmp_path / "plan.json")
    assert again.extra["aircraft_profile"] == {"profile": "mq9", "bank_limit_deg": 30.0}
    assert prepare(again, small_scenario).bank_limit_deg == 30.0
    assert prepare(demo_plan, small_scenario).bank_limit_deg == AIRCRAFT["mq9"].bank_limit_deg
    broken = dataclasses.replace(
        again, extra={**again.extra, "aircraft_profile": {"profile": "mq9", "bank_limit_deg": 95}}
    )
    with pytest.raises(InputError) as err:
        prepare(broken, small_scenario)
    assert err.value.field == "extra.aircraft_profile.bank_limit_deg"


def test_the_radar_looks_where_the_plan_tasks_it(
    sim_airspace: Airspace, demo_plan: MissionPlan, small_scenario: Scenario
) -> None:
    """With ``radar_aim: planned``, on an orbit the radar's sector is centred on the orbit's
    planned azimuth, and on the transit out on the AOIs in reach; a plan without azimuths
    (the default) is centred on the AOIs throughout."""
    doc = yaml.safe_load(DEMO_MISSION_YAML)
    doc["radar_aim"] = "planned"
    tasked = plan_mission(sim_airspace, parse_mission(doc, source="demo"))
    world = prepare(tasked, small_scenario)
    leg = next(g for g in tasked.legs if g.kind == "orbit" and g.name == "orbit-1")
    planned = next(o for o in tasked.orbits if o.name == "orbit-1").radar_azimuth_deg
    assert planned is not None
    assert world.flight_offset_s == 0.0  # the small scenario starts with the plan
    on_orbit: list[float] = []
    transit: list[float] = []
    for step in iter_steps(world):
        if step.footprint is None:
            continue
        if leg.start_s <= step.time_s < leg.end_s:
            on_orbit.append(step.footprint.centre_rad)
        elif step.time_s < leg.start_s:
            transit.append(step.footprint.centre_rad)
    assert len(on_orbit) > 30
    assert len(transit) > 10
    orbit = next(o for o in tasked.orbits if o.name == "orbit-1")
    expected = float(
        world.frame.frame_azimuth_rad(orbit.centre_lon_deg, orbit.centre_lat_deg, planned)
    )
    assert np.allclose(on_orbit, expected, atol=1e-12)  # the plan's azimuth, in the run's frame
    off = (np.asarray(on_orbit) - np.radians(planned) + np.pi) % (2 * np.pi) - np.pi
    assert np.all(np.abs(off) < np.radians(1.0))  # the frame's north is near true north
    assert np.all(np.abs(on_orbit) <= np.pi)  # as the AOI-centred sector: (-pi, pi]
    # On the transit the sector follows the AOIs as the aircraft moves.
    assert np.ptp(transit) > np.radians(2.0)
    assert all(o.radar_azimuth_deg is None for o in demo_plan.orbits)
    untasked = dataclasses.replace(
        tasked,
        orbits=tuple(dataclasses.replace(o, radar_azimuth_deg=None) for o in tasked.orbits),
    )
    other = prepare(untasked, small_scenario)
    assert other.radar_azimuths == ()
    centred = [
        s.footprint.centre_rad
        for s in iter_steps(other)
        if s.footprint is not None and leg.start_s <= s.time_s < leg.end_s
    ]
    assert len(centred) == len(on_orbit)
    off = (np.asarray(centred) - np.radians(planned) + np.pi) % (2 * np.pi) - np.pi
    assert np.abs(off).max() > np.radians(2.0)


def test_an_interleaved_sweep_alternates_the_plans_azimuth_and_the_aois(
    sim_airspace: Airspace, demo_plan: MissionPlan, small_scenario: Scenario
) -> None:
    """With ``gmti.sweep: interleaved`` the scans on an orbit alternate between the plan's
    azimuth and the sector centred on the AOIs, scan by scan; where the plan sets no
    azimuth the sweep is the aimed one, scan for scan."""
    doc = yaml.safe_load(DEMO_MISSION_YAML)
    doc["radar_aim"] = "planned"
    tasked = plan_mission(sim_airspace, parse_mission(doc, source="demo"))
    scenario = dataclasses.replace(
        small_scenario, gmti=dataclasses.replace(small_scenario.gmti, sweep="interleaved")
    )
    leg = next(g for g in tasked.legs if g.kind == "orbit" and g.name == "orbit-1")
    orbit = next(o for o in tasked.orbits if o.name == "orbit-1")
    assert orbit.radar_azimuth_deg is not None

    def centres(plan: MissionPlan, sc: Scenario) -> list[tuple[float, float]]:
        w = prepare(plan, sc)
        return [
            (s.time_s, s.footprint.centre_rad)
            for s in iter_steps(w)
            if s.footprint is not None and leg.start_s <= s.time_s < leg.end_s
        ]

    both = centres(tasked, scenario)
    world = prepare(tasked, scenario)
    planned = float(
        world.frame.frame_azimuth_rad(
            orbit.centre_lon_deg, orbit.centre_lat_deg, orbit.radar_azimuth_deg
        )
    )
    on_plan = np.isclose([c for _, c in both], planned, atol=1e-12)
    assert len(both) > 30
    # Every other scan, whichever the orbit's first scan was.
    assert np.all(on_plan[1:] != on_plan[:-1])
    untasked = dataclasses.replace(
        tasked,
        orbits=tuple(dataclasses.replace(o, radar_azimuth_deg=None) for o in tasked.orbits),
    )
    aois = centres(untasked, small_scenario)
    # The other scans are the aimed sweep's own, at the same instants.
    aimed = dict(aois)
    others = [(t, c) for (t, c), p in zip(both, on_plan, strict=True) if not p]
    assert all(aimed[t] == c for t, c in others)
    assert np.ptp([c for _, c in others]) > 0  # following the AOIs round the orbit
    # Without the plan's azimuths, interleaved is aimed.
    assert centres(untasked, scenario) == aois
