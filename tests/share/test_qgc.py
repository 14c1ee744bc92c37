"""QGC .plan and WPL 110: the schema facts, [lat, lon] order, pymavlink as the WPL oracle."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pymavlink import mavwp  # type: ignore[import-untyped]
from pymavlink.dialects.v20 import common as mavlink_common  # type: ignore[import-untyped]
from pyproj import Geod, Transformer
from shapely.geometry import LineString

from standoff.airspace import Airspace
from standoff.domain.mission import MissionPlan
from standoff.share import (
    build_autopilot_fence,
    build_mission_items,
    write_fence_wpl,
    write_ground_control_outputs,
    write_qgc_plan,
    write_review_outputs,
    write_wpl,
)
from standoff.share import mavlink as consts

KFHU_ELEV_M = 1438.3
KFHU_LAT = 31.588461
KFHU_LON = -110.344375
PlanFactory = Callable[..., MissionPlan]  # the plan_factory fixture (conftest.py)


def _qgc_load(doc: dict[str, Any]) -> list[tuple[float, float]]:
    """The checks QGroundControl's loader makes (MissionController::_loadJsonMissionFileV2,
    GeoFenceController, QGCFencePolygon); returns every (lat, lon) the file positions."""
    assert doc["fileType"] == "Plan"
    assert doc["version"] == 1
    assert isinstance(doc["groundStation"], str)
    mission = doc["mission"]
    assert mission["version"] == 2
    assert mission["firmwareType"] == consts.MAV_AUTOPILOT_ARDUPILOTMEGA == 3
    assert mission["vehicleType"] == consts.MAV_TYPE_FIXED_WING == 1
    assert isinstance(mission["cruiseSpeed"], float)
    home = mission["plannedHomePosition"]
    assert len(home) == 3
    positions = [(home[0], home[1])]
    assert mission["items"], "at least one item"
    for n, item in enumerate(mission["items"], start=1):
        assert item["type"] == "SimpleItem"
        assert set(item) == {"type", "autoContinue", "command", "doJumpId", "frame", "params"}
        assert item["doJumpId"] == n
        assert isinstance(item["autoContinue"], bool)
        assert isinstance(item["command"], int)
        assert isinstance(item["frame"], int)
        assert len(item["params"]) == 7
        if item["frame"] != consts.MAV_FRAME_MISSION:
            positions.append((item["params"][4], item["params"][5]))
    fence = doc["geoFence"]
    assert fence["version"] == 2
    assert fence["circles"] == []
    for poly in fence["polygons"]:
        assert poly["version"] == 1
        assert poly["inclusion"] is False
        assert poly["fenceAction"] == 0
        vertices = poly["polygon"]
        assert len(vertices) >= 3
        assert vertices[0] != vertices[-1]
        assert all(len(v) == 2 for v in vertices)
        positions += [(v[0], v[1]) for v in vertices]
    rally = doc["rallyPoints"]
    assert rally["version"] == 2
    positions += [(p[0], p[1]) for p in rally["points"]]
    return positions


def test_plan_file_matches_the_schema_facts(
    border_plan: MissionPlan, airspace: Airspace, tmp_path: Path
) -> None:
    path = tmp_path / "mission.plan"
    fence = write_qgc_plan(border_plan, airspace, path)
    doc = json.loads(path.read_text())
    positions = _qgc_load(doc)
    assert doc["mission"]["plannedHomePosition"] == [KFHU_LAT, KFHU_LON, KFHU_ELEV_M]
    assert doc["rallyPoints"]["points"][0][:2] == [KFHU_LAT, KFHU_LON]
    # [lat, lon]: every position is at latitude ~31.5, longitude ~-110.5 (swapped: nonsense)
    lat, lon = np.array(positions).T
    assert np.all((lat > 30) & (lat < 33))
    assert np.all((lon > -112) & (lon < -109))
    polys = doc["geoFence"]["polygons"]
    assert len(polys) == len(fence.polygons) >= 1
    for poly, rec in zip(polys, fence.polygons, strict=True):
        got = np.array(poly["polygon"])
        np.testing.assert_array_equal(got[:, 0], rec.lat_deg)
        np.testing.assert_array_equal(got[:, 1], rec.lon_deg)


def test_empty_fence_plan_is_still_valid(
    texas_plan: MissionPlan, airspace: Airspace, tmp_path: Path
) -> None:
    path = tmp_path / "mission.plan"
    fence = write_qgc_plan(texas_plan, airspace, path)
    assert fence.polygons == ()
    assert fence.forbidden_names == ()
    assert math.isinf(fence.path_distance_m)
    doc = json.loads(path.read_text())
    _qgc_load(doc)
    assert doc["geoFence"] == {"version": 2, "polygons": [], "circles": []}
    fence_wpl = write_fence_wpl(fence, tmp_path / "fence.waypoints")
    assert fence_wpl.read_text() == "QGC WPL 110\n"


def test_mission_items_in_flight_order(border_plan: MissionPlan) -> None:
    items = build_mission_items(border_plan)
    cmds = [it.command for it in items]
    assert cmds[0] == consts.MAV_CMD_NAV_TAKEOFF
    assert cmds[-1] == consts.MAV_CMD_NAV_RETURN_TO_LAUNCH
    assert (items[0].lat_deg, items[0].lon_deg) == (KFHU_LAT, KFHU_LON)
    jump_at = cmds.index(consts.MAV_CMD_DO_JUMP)
    jump = items[jump_at]
    target = int(jump.param1)  # sequence number: items are 1-based (home is 0)
    corners = items[target - 1 : jump_at]
    assert len(corners) == 6
    assert all(c.command == consts.MAV_CMD_NAV_WAYPOINT for c in corners)
    assert all(c.alt_m == border_plan.orbits[0].alt_m for c in corners)
    assert jump.param2 == 2  # three laps planned: the first flown, then two jumps back
    entry = items[target - 2]
    start = border_plan.legs[1].start_s
    k = int(np.searchsorted(border_plan.path_time_s, start))
    assert (entry.lon_deg, entry.lat_deg) == pytest.approx(
        (border_plan.path_lon_deg[k], border_plan.path_lat_deg[k]), abs=1e-9
    )
    # clockwise: the corner ring has negative signed area in (lon, lat)
    x = np.array([c.lon_deg for c in corners])
    y = np.array([c.lat_deg for c in corners])
    area = 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)
    assert area < 0
    assert all(len(it.params) == 7 for it in items)


def test_counter_clockwise_racetrack_and_circle(plan_factory: PlanFactory) -> None:
    ccw = build_mission_items(plan_factory(clockwise=False))
    jump_at = [it.command for it in ccw].index(consts.MAV_CMD_DO_JUMP)
    corners = ccw[int(ccw[jump_at].param1) - 1 : jump_at]
    x = np.array([c.lon_deg for c in corners])
    y = np.array([c.lat_deg for c in corners])
    assert 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) > 0
    for clockwise, sign in ((True, 1.0), (False, -1.0)):
        plan = plan_factory(leg_m=0.0, radius_m=5000.0, clockwise=clockwise)
        items = build_mission_items(plan)
        loiter = [it for it in items if it.command == consts.MAV_CMD_NAV_LOITER_TIME]
        assert len(loiter) == 1
        assert loiter[0].param3 == sign * 5000.0
        assert loiter[0].param1 == pytest.approx(plan.orbits[0].on_station_s)
        assert (loiter[0].lat_deg, loiter[0].lon_deg) == (31.55, -110.65)
        assert consts.MAV_CMD_DO_JUMP not in [it.command for it in items]


def test_transit_waypoints_follow_the_path(border_plan: MissionPlan) -> None:
    geod = Geod(ellps="WGS84")
    items = build_mission_items(border_plan)
    transit = [it for it in items[1:] if it.alt_m == border_plan.altitude_m]
    lon = np.array([border_plan.base_lon_deg, *(it.lon_deg for it in transit)])
    lat = np.array([border_plan.base_lat_deg, *(it.lat_deg for it in transit)])
    path = set(zip(border_plan.path_lon_deg, border_plan.path_lat_deg, strict=True))
    assert all(p in path for p in zip(lon, lat, strict=True))  # waypoints are path vertices
    jump_at = [it.command for it in items].index(consts.MAV_CMD_DO_JUMP)
    entry_at = int(items[jump_at].param1) - 2  # index of the orbit's entry waypoint
    for leg, ends in (
        (border_plan.legs[0], range(1, entry_at)),
        (border_plan.legs[2], range(jump_at + 1, len(items) - 1)),
    ):
        assert len(ends) >= 1
        sel = (border_plan.path_time_s >= leg.start_s) & (border_plan.path_time_s <= leg.end_s)
        plon, plat = border_plan.path_lon_deg[sel], border_plan.path_lat_deg[sel]
        # the waypoint chain of this leg, from its first path vertex to its last
        wlon = [plon[0], *(items[i].lon_deg for i in ends), plon[-1]]
        wlat = [plat[0], *(items[i].lat_deg for i in ends), plat[-1]]
        _, _, gaps = geod.inv(wlon[:-1], wlat[:-1], wlon[1:], wlat[1:])
        proj = Transformer.from_crs(
            f"+proj=aeqd +lat_0={plat[0]} +lon_0={plon[0]} +datum=WGS84",
            "EPSG:4326",
            always_xy=True,
        )
        wx, wy = proj.transform(wlon, wlat, direction="INVERSE")
        px, py = proj.transform(plon, plat, direction="INVERSE")
        chain = LineString(np.column_stack([wx, wy]))
        dev = shapely.distance(chain, shapely.points(np.column_stack([px, py])))
        assert np.max(dev) < 30.0
    _, _, gaps = geod.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    assert np.max(gaps) <= 20_000.0 + 1.0


def test_wpl_loads_in_pymavlink_with_exact_coordinates(
    border_plan: MissionPlan, tmp_path: Path
) -> None:
    path = write_wpl(border_plan, tmp_path / "mission.waypoints")
    lines = path.read_text().splitlines()
    assert lines[0] == "QGC WPL 110"
    assert not any(line.lstrip().startswith("#") for line in lines)
    for line in lines[1:]:
        fields = line.split("\t")
        assert len(fields) == 12
        assert len(fields[8].split(".")[1]) >= 7
        assert len(fields[9].split(".")[1]) >= 7
    loader = mavwp.MAVWPLoader()
    items = build_mission_items(border_plan)
    assert loader.load(str(path)) == len(items) + 1
    home = loader.wp(0)
    assert (home.seq, home.current, home.frame) == (0, 1, 0)
    assert home.command == consts.MAV_CMD_NAV_WAYPOINT
    # the swap test: x is latitude, y longitude
    assert (home.x, home.y, home.z) == pytest.approx((KFHU_LAT, KFHU_LON, KFHU_ELEV_M), abs=1e-7)
    for seq, item in enumerate(items, start=1):
        wp = loader.wp(seq)
        assert (wp.seq, wp.current, wp.command, wp.frame) == (seq, 0, item.command, item.frame)
        assert abs(wp.x - item.lat_deg) < 1e-7
        assert abs(wp.y - item.lon_deg) < 1e-7
        assert wp.z == pytest.approx(item.alt_m, abs=1e-6)
        for k in range(1, 5):
            assert getattr(wp, f"param{k}") == pytest.approx(getattr(item, f"param{k}"))
        assert wp.autocontinue == 1


def test_wpl_and_plan_hold_the_same_items(
    border_plan: MissionPlan, airspace: Airspace, tmp_path: Path
) -> None:
    files = {
        **write_review_outputs(border_plan, tmp_path / "out"),
        **write_ground_control_outputs(border_plan, airspace, tmp_path / "out"),
    }
    assert set(files) == {
        "plan.json",
        "path.geojson",
        "mission.plan",
        "mission.waypoints",
        "mission.fence.waypoints",
        "plan.kml",
    }
    assert all(p.is_file() and p.parent == tmp_path / "out" for p in files.values())
    plan_items = json.loads(files["mission.plan"].read_text())["mission"]["items"]
    loader = mavwp.MAVWPLoader()
    loader.load(str(files["mission.waypoints"]))
    assert loader.count() == len(plan_items) + 1
    for item in plan_items:
        wp = loader.wp(item["doJumpId"])
        assert (wp.command, wp.frame) == (item["command"], item["frame"])
        got = [wp.param1, wp.param2, wp.param3, wp.param4, wp.x, wp.y, wp.z]
        np.testing.assert_allclose(got, item["params"], rtol=0, atol=1e-6)


def test_fence_wpl_items(border_plan: MissionPlan, airspace: Airspace, tmp_path: Path) -> None:
    fence = build_autopilot_fence(border_plan, airspace, max_vertices=5)
    assert len(fence.polygons) >= 2
    loader = mavwp.MAVWPLoader()
    n = loader.load(str(write_fence_wpl(fence, tmp_path / "fence.waypoints")))
    assert n == fence.total_vertices
    k = 0
    for poly in fence.polygons:
        for lat, lon in zip(poly.lat_deg, poly.lon_deg, strict=True):
            wp = loader.wp(k)
            assert wp.command == consts.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION
            assert wp.param1 == poly.n_vertices
            assert abs(wp.x - lat) < 1e-7
            assert abs(wp.y - lon) < 1e-7
            k += 1


def test_constants_match_the_mavlink_dialect() -> None:
    for name in consts.__all__:
        assert getattr(consts, name) == getattr(mavlink_common, name), name
    jump = mavlink_common.enums["MAV_CMD"][consts.MAV_CMD_DO_JUMP].param
    assert jump[1].startswith("Sequence")
    assert jump[2].startswith("Repeat")
    loiter = mavlink_common.enums["MAV_CMD"][consts.MAV_CMD_NAV_LOITER_TIME].param
    assert "positive loiter clockwise" in loiter[3]
