"""Each analytic on a small fixed world of hand-built tracks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from standoff.airspace import Airspace
from standoff.domain.findings import Corridor
from standoff.intel import (
    cluster_points,
    detect_stops,
    find_approaches,
    find_corridors,
    find_sites,
)
from standoff.intel.border import BorderParams, Port, load_ports, nearest_port
from standoff.intel.io import RunInfo, ScanTable
from standoff.intel.pattern import change_alert, local_profiles, looked_s
from standoff.intel.routes import CorridorParams

from .conftest import drive, table

SITE = (5000.0, -20000.0)  # a dead end well inside Mexico, far from the border


def _border_lat(airspace: Airspace, lon: float) -> float:
    """Latitude where the meridian ``lon`` leaves Mexico for the USA (to about 10 m)."""
    lat = np.arange(31.0, 32.0, 0.0001)
    owner = airspace.owner_at(np.full(lat.shape, lon), lat)
    return float(lat[np.argmax(owner == "USA")])


def _site_visits(n: int) -> list[dict[str, np.ndarray]]:
    """``n`` vehicles drive in from the south to SITE, stay 20 min, drive back out."""
    parts = []
    for k in range(n):
        t0 = 3600.0 * (k + 1)
        far = (SITE[0] + 300.0 * k, SITE[1] - 6000.0)
        arrive = drive(2 * k + 1, t0, far, SITE, 12.0)
        t_back = arrive["t_s"][-1] + 1200.0
        parts += [arrive, drive(2 * k + 2, t_back, SITE, far, 12.0)]
    return parts


def test_detect_stops_finds_a_pause_and_nothing_while_moving() -> None:
    t = np.arange(0.0, 1000.0, 10.0)
    x = np.where(t < 300, t * 10, np.where(t < 600, 3000.0, 3000 + (t - 600) * 10))
    ids = np.r_[np.zeros(100, int), np.ones(100, int)]
    s = detect_stops(
        ids, np.r_[t, t], np.r_[x, t * 10], np.zeros(200), max_diameter_m=100, min_duration_s=120
    )
    assert len(s) == 1
    assert s.traj_id[0] == 0
    assert s.start_s[0] == 300
    assert s.end_s[0] == 600
    assert s.x_m[0] == pytest.approx(3000.0)


def test_stops_do_not_cross_trajectories() -> None:
    # Two trajectories each stationary for only 60 s; glued they would be 120 s.
    t = np.r_[np.arange(0, 70, 10.0), np.arange(70, 140, 10.0)]
    ids = np.r_[np.zeros(7, int), np.ones(7, int)]
    s = detect_stops(ids, t, np.zeros(14), np.zeros(14), max_diameter_m=50, min_duration_s=120)
    assert len(s) == 0


def test_cluster_points_joins_close_points() -> None:
    labels = cluster_points([0, 100, 190, 5000], [0, 0, 0, 0], 150.0)
    assert labels[0] == labels[1] == labels[2] != labels[3]


def test_sites_from_out_and_back_gaps(info: RunInfo) -> None:
    sites, _ev, _ = find_sites(table(*_site_visits(6)), None, info)
    assert len(sites) == 1
    s = sites[0]
    x, y = info.frame.to_xy(s.lon_deg, s.lat_deg)
    assert np.hypot(x - SITE[0], y - SITE[1]) < 100
    assert s.visit_count == 6
    assert s.mean_dwell_s == pytest.approx(1200.0, abs=30)
    assert sum(s.visits_by_hour) == 6
    assert s.confidence.words == "likely"  # GMTI only: six out-and-back visits
    assert "visits=6" in s.confidence.basis
    assert s.first_seen_utc < s.last_seen_utc


def test_no_site_from_through_traffic(info: RunInfo) -> None:
    # Tracks that break and continue in the same direction are not stops.
    parts = []
    for k in range(6):
        t0 = 3600.0 * (k + 1)
        a = drive(2 * k + 1, t0, (0.0, -30000.0), (0.0, -25000.0), 12.0)
        parts += [a, drive(2 * k + 2, a["t_s"][-1] + 600, (0.0, -24900.0), (0.0, -20000.0), 12.0)]
    sites, _, _ = find_sites(table(*parts), None, info)
    assert sites == []


def test_one_visit_is_not_a_site(info: RunInfo) -> None:
    sites, _, _ = find_sites(table(*_site_visits(1)), None, info)
    assert sites == []


def test_corridor_between_site_and_border(info: RunInfo) -> None:
    airspace = Airspace.load()
    sites, _, _ = find_sites(table(*_site_visits(6)), None, info)
    # Convoys from SITE towards the border near Sasabe (north), three passes.
    bx, by = (float(v) for v in info.frame.to_xy(-111.68, _border_lat(airspace, -111.68) - 0.005))
    runs = [drive(100 + k, 20000.0 + 3000 * k, SITE, (bx, by), 14.0) for k in range(3)]
    corridors, trav = find_corridors(table(*_site_visits(6), *runs), info, airspace, sites)
    conv = [c for c in corridors if c.border_lat_deg is not None]
    assert len(conv) == 1
    c = conv[0]
    assert c.traversal_count == 3
    # the members that began a pass are the corridor's traversals (what alerts count)
    k = corridors.index(c)
    assert int((trav.first_of_pass & (trav.corridor == k)).sum()) == 3
    assert c.from_site_id == sites[0].id
    assert c.typical_speed_mps == pytest.approx(14.0)
    assert c.path_lonlat_deg[-1][1] > c.path_lonlat_deg[0][1]  # oriented towards the border


def test_border_approaches_ended_and_turned_back(info: RunInfo) -> None:
    airspace = Airspace.load()
    lon = -111.70  # about 16 km west of Sasabe
    lat = _border_lat(airspace, lon) - 0.008  # a little south of the line
    x_end, y_end = (float(v) for v in info.frame.to_xy(lon, lat))
    d = float(airspace.boundary_distance_m([lon], [lat])[0])
    ended = drive(1, 100.0, (x_end, y_end - 8000), (x_end, y_end), 12.0)
    out = drive(2, 100.0, (x_end + 3000, y_end - 8000), (x_end + 3000, y_end), 12.0)
    back = drive(
        2, out["t_s"][-1] + 10, (x_end + 3000, y_end - 100), (x_end + 3000, y_end - 4000), 12.0
    )
    far = drive(3, 100.0, (0.0, -40000.0), (0.0, -30000.0), 12.0)
    ev = find_approaches(table(ended, out, back, far), info, airspace)
    kinds = {a.track_id: a.kind for a in ev}
    assert kinds == {1: "ended", 2: "turned_back"}
    a = next(a for a in ev if a.track_id == 1)
    assert a.border_distance_m == pytest.approx(d, abs=50)
    assert a.nearest_port == "Sasabe"
    assert a.evidence.track_ids == (1,)


def test_approach_at_a_port_is_ignored(info: RunInfo) -> None:
    lat = _border_lat(Airspace.load(), -111.70) - 0.008
    ports = (Port("Here", lat, -111.70),)
    x_end, y_end = (float(v) for v in info.frame.to_xy(-111.70, lat))
    ended = drive(1, 100.0, (x_end, y_end - 8000), (x_end, y_end), 12.0)
    ev = find_approaches(
        table(ended), info, Airspace.load(), BorderParams(port_radius_m=500), ports=ports
    )
    assert ev == []


def test_ports_table_and_nearest_port() -> None:
    ports = load_ports()
    names = {p.name for p in ports}
    assert {"Sasabe", "Lukeville", "San Ysidro", "Brownsville (Gateway)"} <= names
    idx, d = nearest_port(ports, [-111.5445], [31.4828])
    assert ports[int(idx[0])].name == "Sasabe"
    assert d[0] < 1.0


def test_local_profiles_use_the_scenario_clock(info: RunInfo) -> None:
    # Start 02:00 UTC on Friday 20 March 2026 = 19:00 local on Thursday 19 March (UTC-7).
    hours, days = local_profiles([0.0, 3600.0, 6 * 3600.0], info)
    assert hours[19] == 1
    assert hours[20] == 1
    assert hours[1] == 1
    assert days[3] == 2
    assert days[4] == 1


DAY = 86_400.0


def test_change_alert_poisson(info: RunInfo) -> None:
    """Three days of steady activity (an event every 3,000 s), then a burst in the last
    10,000 s of the third: 12 events where its hours of the day predict 3.3."""
    end = 3 * DAY
    base = np.arange(0.0, end - 10_000.0, 3_000.0)
    burst = np.linspace(end - 9_000.0, end - 1_000.0, 12)
    times = np.r_[base, burst]
    alert = change_alert("a1", "site-001", times, np.arange(len(times)), info,
                         window_s=10_000.0, end_s=end)  # fmt: skip
    assert alert is not None
    assert alert.direction == "increase"
    assert alert.observed_count == 12
    assert alert.p_value < 0.001
    assert alert.confidence.words == "almost certain"
    assert "hour by hour" in alert.confidence.basis
    steady = np.arange(0.0, end, 3_000.0)
    assert change_alert("a2", "site-001", steady, np.arange(len(steady)), info,
                        window_s=10_000.0, end_s=end) is None  # fmt: skip


def test_change_alerts_follow_the_daily_rhythm(info: RunInfo) -> None:
    """A site visited every 20 min from 19:00 to 03:00 local, every night.  Its last hours
    of the night and the quiet morning are no change; a night without visits is."""
    start_local_h = (info.start_utc.hour + info.utc_offset_h) % 24
    assert start_local_h == 19.0  # the run starts at 19:00 local
    t = np.arange(0.0, 3 * DAY, 1_200.0)
    hour = ((start_local_h * 3600.0 + t) % DAY) // 3600.0
    visits = t[(hour >= 19) | (hour < 3)]
    end = 3 * DAY - 12 * 3600.0  # the third night's 07:00
    one_night = visits[visits < 0.5 * DAY]
    # one night only: its last hours were never seen before, so nothing to compare
    assert change_alert("a1", "site-001", one_night, np.arange(len(one_night)), info,
                        window_s=4 * 3600.0, end_s=0.5 * DAY) is None  # fmt: skip
    # three nights: the window 01:00-07:00 holds two visiting hours and four quiet ones
    ok = visits[visits <= end]
    assert change_alert("a2", "site-001", ok, np.arange(len(ok)), info,
                        window_s=6 * 3600.0, end_s=end) is None  # fmt: skip
    # the third night stops at 23:00: 01:00-03:00 lose their visits, a real decrease
    quiet = ok[(ok < end - 8 * 3600.0)]
    drop = change_alert("a3", "site-001", quiet, np.arange(len(quiet)), info,
                        window_s=6 * 3600.0, end_s=end)  # fmt: skip
    assert drop is not None
    assert drop.direction == "decrease"
    assert drop.observed_count == 0


def _scans(t_s: np.ndarray, centre_rad: np.ndarray) -> ScanTable:
    """A radar 30 km south of the origin, 40 degrees wide, reaching 60 km."""
    n = len(t_s)
    return ScanTable(
        np.asarray(t_s, float), np.zeros(n), np.full(n, -30_000.0), np.zeros(n),
        np.full(n, 60_000.0), np.asarray(centre_rad, float), np.full(n, np.radians(20.0)),
    )  # fmt: skip


def test_scan_table_looks_and_dwells() -> None:
    t = np.r_[np.arange(0.0, 100.0, 10.0), 5000.0, 5010.0]
    sc = _scans(t, np.where(np.arange(len(t)) % 2, 0.0, np.pi / 2))
    seen = sc.looked([0.0, 30_000.0], [0.0, -30_000.0 + 1.0])
    assert seen.shape == (len(t), 2)
    np.testing.assert_array_equal(seen[:, 0], np.arange(len(t)) % 2 == 1)  # north: odd scans
    np.testing.assert_array_equal(seen[:, 1], np.arange(len(t)) % 2 == 0)  # east: even scans
    dwell = sc.dwell_s()
    assert dwell[0] == 10.0
    assert dwell[9] == 30.0  # the gap to 5,000 s is not looking: at most 3 x 10 s
    assert dwell[-1] == 10.0


def test_change_alerts_count_only_the_time_the_radar_looked(info: RunInfo) -> None:
    """A steady event every 1,000 s at the subject for six days, seen only while the radar
    looked there: in the baseline it looked a quarter of the time, in the last 10,000 s all
    of it.  By the clock that is a fourfold increase; by the looking, nothing changed."""
    end = 6 * DAY
    w0 = end - 10_000.0
    t = np.arange(0.0, end, 10.0)
    on = np.where((t <= w0) & (t % 4_000.0 >= 1_000.0), np.pi, 0.0)  # away 3/4 of the time
    sc = _scans(t, on)
    x, y = np.array([0.0]), np.array([0.0])
    seen_at = t[sc.looked(x, y)[:, 0]]
    events = seen_at[seen_at % 1_000.0 == 0.0]
    by_clock = change_alert("a1", "site-001", events, np.arange(len(events)), info,
                            window_s=10_000.0, end_s=end)  # fmt: skip
    assert by_clock is not None
    assert by_clock.direction == "increase"
    looked = (sc.t_s, looked_s(sc, x, y))
    assert change_alert("a2", "site-001", events, np.arange(len(events)), info,
                        window_s=10_000.0, end_s=end, looked=looked) is None  # fmt: skip
    # A real change is still found: the window's traffic stops while the radar looks.
    quiet = events[events <= w0]
    drop = change_alert("a3", "site-001", quiet, np.arange(len(quiet)), info,
                        window_s=10_000.0, end_s=end, looked=looked)  # fmt: skip
    assert drop is not None
    assert drop.direction == "decrease"
    assert drop.baseline_rate_per_day == pytest.approx(86.4, rel=0.02)  # 1 per 1,000 s looked
    assert "looked" in drop.confidence.basis
    # Never looked at in the window: nothing to compare, no alert.
    blind = (sc.t_s, np.where(sc.t_s > w0, 0.0, looked[1]))
    assert change_alert("a4", "site-001", quiet, np.arange(len(quiet)), info,
                        window_s=10_000.0, end_s=end, looked=blind) is None  # fmt: skip


def _leg_points(
    track_id: int, t0: float, path: list[tuple[float, float]], frm: float, to: float
) -> dict[str, np.ndarray]:
    """A track along the polyline ``path`` from fraction ``frm`` to ``to`` of its length, at
    14 m/s, a row every 10 s."""
    xy = np.asarray(path, float)
    seg = np.hypot(*np.diff(xy, axis=0).T)
    cum = np.r_[0.0, np.cumsum(seg)]
    s = np.arange(frm * cum[-1], to * cum[-1], 140.0)
    x, y = np.interp(s, cum, xy[:, 0]), np.interp(s, cum, xy[:, 1])
    k = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(seg) - 1)
    ux, uy = np.diff(xy[:, 0])[k] / seg[k], np.diff(xy[:, 1])[k] / seg[k]
    n = len(s)
    return {
        "track_id": np.full(n, track_id), "t_s": t0 + (s - s[0]) / 14.0, "x_m": x, "y_m": y,
        "vx_mps": ux * 14.0, "vy_mps": uy * 14.0, "det_id": np.arange(n) + 1000 * track_id,
    }  # fmt: skip


def _convoy_legs(
    track_id: int, t0: float, path: list[tuple[float, float]], frm: float, to: float
) -> list[dict[str, np.ndarray]]:
    """A convoy of two vehicles 40 s apart (tracks ``track_id`` and ``track_id + 50``) along
    ``path`` from fraction ``frm`` to ``to``."""
    return [
        _leg_points(track_id, t0, path, frm, to),
        _leg_points(track_id + 50, t0 + 40.0, path, frm, to),
    ]


def test_corridor_drawn_whole_from_passes_that_each_see_part_of_it(info: RunInfo) -> None:
    """A route with a bend (west along a road, then north to the border), where no pass is
    seen end to end (a moving-target radar is blind across its line of sight): the corridor
    still runs from the site to the border, within a few hundred metres of the road."""
    airspace = Airspace.load()
    sites, _, _ = find_sites(table(*_site_visits(6)), None, info)
    bx, by = (float(v) for v in info.frame.to_xy(-111.74, _border_lat(airspace, -111.74) - 0.004))
    bend = (bx, SITE[1])
    path = [SITE, bend, (bx, by)]
    seen = [(0.0, 0.7), (0.3, 1.0), (0.0, 0.65), (0.35, 1.0)]
    runs = [
        leg
        for k, (a, b) in enumerate(seen)
        for leg in _convoy_legs(200 + k, 20000.0 + 3000 * k, path, a, b)
    ]
    corridors, trav = find_corridors(table(*_site_visits(6), *runs), info, airspace, sites)
    conv = [c for c in corridors if c.border_lat_deg is not None]
    assert len(conv) == 1
    lon, lat = np.asarray(conv[0].path_lonlat_deg).T
    line = shapely.LineString(np.column_stack(info.frame.to_xy(lon, lat)))
    route = shapely.LineString(path)
    probe = shapely.line_interpolate_point(route, np.linspace(0.0, route.length, 200))
    assert float(np.max(shapely.distance(probe, line))) < 300.0
    assert conv[0].traversal_count == 4
    assert conv[0].observed_share == 1.0  # every part seen on some pass
    # a convoy's vehicles are one pass: only its first vehicle's track begins it
    k = corridors.index(conv[0])
    starts = trav.start_s[(trav.corridor == k) & trav.first_of_pass]
    assert len(starts) == 4
    assert (np.diff(np.sort(starts)) > CorridorParams().same_pass_s).all()


def test_corridor_pieces_that_share_no_cell_are_bridged(info: RunInfo) -> None:
    """Two kinds of pass along one bent route, each kind seeing a different part, and the
    second kind a little to the side (a parallel lane of cells, within the link distance
    but sharing no cell with the first): the trace is two pieces, bridged into one line
    from the site to the border."""
    airspace = Airspace.load()
    sites, _, _ = find_sites(table(*_site_visits(6)), None, info)
    bx, by = (float(v) for v in info.frame.to_xy(-111.74, _border_lat(airspace, -111.74) - 0.004))
    path = [SITE, (bx, SITE[1]), (bx, by)]
    aside = [(x + 270.0, y + 270.0) for x, y in path]
    runs = [
        leg
        for k, (route, a, b) in enumerate(
            [(path, 0.0, 0.8), (aside, 0.3, 1.0), (path, 0.0, 0.8), (aside, 0.3, 1.0)]
        )
        for leg in _convoy_legs(300 + k, 20000.0 + 3000 * k, route, a, b)
    ]
    params = CorridorParams()
    line = {}
    for bridge in (params.bridge_m, 0.001):
        corridors, _ = find_corridors(
            table(*_site_visits(6), *runs),
            info,
            airspace,
            sites,
            CorridorParams(bridge_m=bridge),
        )
        mine = [c for c in corridors if set(c.evidence.track_ids) & {300, 301, 302, 303}]
        assert len(mine) == 1  # the site's visitors (from the south) are a corridor too
        lon, lat = np.asarray(mine[0].path_lonlat_deg).T
        line[bridge] = shapely.LineString(np.column_stack(info.frame.to_xy(lon, lat)))
    route = shapely.LineString(path)
    probe = shapely.line_interpolate_point(route, np.linspace(0.0, route.length, 200))
    assert float(np.max(shapely.distance(probe, line[params.bridge_m]))) < 500.0
    # Without bridges the line stops where the first piece ends.
    assert float(np.max(shapely.distance(probe, line[0.001]))) > 2000.0


def test_border_drives_are_a_corridor_when_they_keep_company(info: RunInfo) -> None:
    """Drives seen only on their way to the border (never near a site): single vehicles are
    passing traffic and make no corridor; the same drives by two-vehicle convoys, the
    second 40 s behind the first, do."""
    airspace = Airspace.load()
    bx, by = (float(v) for v in info.frame.to_xy(-111.74, _border_lat(airspace, -111.74) - 0.004))
    path = [(bx, by - 15000.0), (bx, by)]
    singles = [_leg_points(600 + k, 20000.0 + 3000 * k, path, 0.0, 1.0) for k in range(4)]
    corridors, _ = find_corridors(table(*singles), info, airspace, [])
    assert corridors == []
    convoys = [
        leg for k in range(4) for leg in _convoy_legs(600 + k, 20000.0 + 3000 * k, path, 0.0, 1.0)
    ]
    corridors, _ = find_corridors(table(*convoys), info, airspace, [])
    assert len(corridors) == 1
    assert corridors[0].traversal_count == 4
    assert corridors[0].border_lat_deg is not None


def test_drives_first_seen_away_from_a_site_are_traversals(info: RunInfo) -> None:
    """Vehicles leaving a site are first confirmed 1.5 km out (never within the touch
    radius): their drives still form a corridor from the site; vehicles driving past the
    site at that distance do not."""
    airspace = Airspace.load()
    sites, _, _ = find_sites(table(*_site_visits(6)), None, info)
    away = [
        drive(
            400 + k,
            20000.0 + 3000 * k,
            (SITE[0] + 1500.0, SITE[1]),
            (SITE[0] + 9000.0, SITE[1]),
            14.0,
        )
        for k in range(3)
    ]
    west = SITE[0] - 1500.0
    past = [
        drive(500 + k, 20000.0 + 3000 * k, (west, SITE[1] - 4000.0), (west, SITE[1] + 4000.0), 14.0)
        for k in range(3)
    ]
    corridors, _ = find_corridors(table(*_site_visits(6), *away, *past), info, airspace, sites)
    mine = [c for c in corridors if set(c.evidence.track_ids) & {400, 401, 402, 500, 501, 502}]
    assert len(mine) == 1  # the site's visitors (from the south) are a corridor too
    assert mine[0].from_site_id == sites[0].id
    assert set(mine[0].evidence.track_ids) == {400, 401, 402}


def _route_and_branch(
    info: RunInfo, airspace: Airspace, short_deg: float = 0.004
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """A convoy route from SITE west 8 km to a junction, then north to ``short_deg`` south of
    the border; and a branch from the same junction 20 km on to the west."""
    jx = SITE[0] - 8000.0
    jlon, _ = info.frame.to_lonlat(np.array([jx]), np.array([SITE[1]]))
    lon = float(jlon[0])
    _, by = info.frame.to_xy(np.array([lon]), np.array([_border_lat(airspace, lon) - short_deg]))
    junction = (jx, SITE[1])
    return [SITE, junction, (jx, float(by[0]))], [SITE, junction, (jx - 20000.0, SITE[1])]


def _line_xy(info: RunInfo, corridor: Corridor) -> shapely.LineString:
    lon, lat = np.asarray(corridor.path_lonlat_deg).T
    return shapely.LineString(np.column_stack(info.frame.to_xy(lon, lat)))


def _off_line_m(road: list[tuple[float, float]], line: shapely.LineString) -> float:
    """How far ``line`` strays from the polyline ``road`` at most (probed along the road)."""
    r = shapely.LineString(road)
    probe = shapely.line_interpolate_point(r, np.linspace(0.0, r.length, 200))
    return float(np.max(shapely.distance(probe, line)))


def test_corridor_line_follows_the_convoys_not_a_longer_branch(info: RunInfo) -> None:
    """Convoys drive from the site to a point 7 km short of the border (no route to the
    border, so the line is the corridor's heaviest path); lone vehicles leave the site by
    the same road and drive on along a longer branch.  Convoy passes seen only up to the
    junction put both in one corridor.  Its line follows the convoys' road (a lone drive
    supports the trace a quarter as much as a convoy's); the longest path through the
    trace, from the branch's end to the convoys' end, would leave out the site's road, and
    it is what the line becomes when a lone drive counts as much as a convoy's."""
    airspace = Airspace.load()
    sites, _, _ = find_sites(table(*_site_visits(6)), None, info)
    route, branch = _route_and_branch(info, airspace, short_deg=0.065)
    to_junction = 8000.0 / shapely.LineString(route).length
    runs = [
        leg
        for k, b in enumerate([1.0, to_junction, 1.0, to_junction])
        for leg in _convoy_legs(700 + k, 20000.0 + 3000 * k, route, 0.0, b)
    ]
    lone = [_leg_points(800 + k, 21500.0 + 2000 * k, branch, 0.02, 1.0) for k in range(6)]
    lines = {}
    for weight in (CorridorParams().lone_weight, 1.0):
        corridors, _ = find_corridors(
            table(*_site_visits(6), *runs, *lone),
            info,
            airspace,
            sites,
            CorridorParams(lone_weight=weight),
        )
        mine = [c for c in corridors if set(c.evidence.track_ids) & {700, 701, 702, 703}]
        assert len(mine) == 1
        assert mine[0].border_lat_deg is None
        assert set(mine[0].evidence.track_ids) >= {800, 801, 802, 803, 804, 805}
        lines[weight] = _line_xy(info, mine[0])
    branch_end = shapely.Point(branch[-1])
    line = lines[CorridorParams().lone_weight]
    assert _off_line_m(route, line) < 300.0
    assert shapely.distance(branch_end, line) > 15000.0
    # Counted like convoys, the lone drives pull the line onto their branch.
    assert shapely.distance(branch_end, lines[1.0]) < 500.0
    assert _off_line_m(route, lines[1.0]) > 5000.0


def test_a_sites_route_to_the_border_is_drawn_whatever_the_branches(info: RunInfo) -> None:
    """The same convoys drive on to the border.  The corridor's line is the site's route to
    the border, however much the lone drives along the longer branch weigh; they are no
    evidence of it."""
    airspace = Airspace.load()
    sites, _, _ = find_sites(table(*_site_visits(6)), None, info)
    route, branch = _route_and_branch(info, airspace)
    to_junction = 8000.0 / shapely.LineString(route).length
    runs = [
        leg
        for k, b in enumerate([1.0, to_junction, 1.0, to_junction])
        for leg in _convoy_legs(700 + k, 20000.0 + 3000 * k, route, 0.0, b)
    ]
    lone = [_leg_points(800 + k, 21500.0 + 2000 * k, branch, 0.02, 1.0) for k in range(6)]
    for weight in (CorridorParams().lone_weight, 1.0):
        corridors, _ = find_corridors(
            table(*_site_visits(6), *runs, *lone),
            info,
            airspace,
            sites,
            CorridorParams(lone_weight=weight),
        )
        mine = [c for c in corridors if set(c.evidence.track_ids) & {700, 701, 702, 703}]
        assert len(mine) == 1
        assert mine[0].from_site_id == sites[0].id
        assert mine[0].border_lat_deg is not None
        assert mine[0].traversal_count == 4
        assert not set(mine[0].evidence.track_ids) & {800, 801, 802, 803, 804, 805}
        line = _line_xy(info, mine[0])
        assert _off_line_m(route, line) < 300.0
        assert shapely.distance(shapely.Point(branch[-1]), line) > 15000.0


def test_two_routes_that_share_a_road_are_two_corridors(info: RunInfo) -> None:
    """Convoys leave the site by one road and, at a junction 8 km on, some turn north to the
    border and some drive west to another border crossing 20 km away.  Their drives share
    the site's road, so they are one component, yet each route is drawn whole, with the
    passes that drove it (the heaviest path alone would draw only the longer one).  The
    shared road is evidence of both."""
    airspace = Airspace.load()
    sites, _, _ = find_sites(table(*_site_visits(6)), None, info)
    north, _ = _route_and_branch(info, airspace)
    jx, jy = north[1]
    west_lon = float(info.frame.to_lonlat(np.array([jx - 20000.0]), np.array([jy]))[0][0])
    _, wy = info.frame.to_xy(np.array([west_lon]), np.array([_border_lat(airspace, west_lon)]))
    west = [SITE, (jx, jy), (jx - 20000.0, jy), (jx - 20000.0, float(wy[0]) - 400.0)]
    runs = [
        leg
        for k in range(3)
        for path, base in ((north, 700), (west, 720))
        for leg in _convoy_legs(base + k, 20000.0 + 6000 * k + 3000 * (base == 720), path, 0, 1)
    ]
    corridors, _ = find_corridors(table(*_site_visits(6), *runs), info, airspace, sites)
    mine = [c for c in corridors if c.border_lat_deg is not None]
    assert len(mine) == 2
    by_route = {}
    for c in mine:
        line = _line_xy(info, c)
        name = "north" if _off_line_m(north, line) < 300.0 else "west"
        assert _off_line_m(north if name == "north" else west, line) < 300.0
        assert c.from_site_id == sites[0].id
        assert c.traversal_count == 3
        by_route[name] = set(c.evidence.track_ids)
    assert by_route["north"] == {700, 701, 702, 750, 751, 752}
    assert by_route["west"] == {720, 721, 722, 770, 771, 772}


def test_drive_lost_in_a_turn_is_joined_across_it(info: RunInfo) -> None:
    """Each convoy pass is lost 40 s before a right-angle junction and found again 40 s
        after it, 800 m away and heading north: the two pieces are one drive, so the corridor
        runs from the site to the border in one, each pass one traversal.  (Under the old rule,
    turns were only joined within ``join_radius_m``, and this made two corridors.)"""
    airspace = Airspace.load()
    sites, _, _ = find_sites(table(*_site_visits(6)), None, info)
    route, _ = _route_and_branch(info, airspace)
    road = shapely.LineString(route)
    lost = (8000.0 - 40 * 14.0) / road.length
    found = (8000.0 + 40 * 14.0) / road.length
    runs = []
    for k in range(4):
        t0 = 20000.0 + 3000 * k
        before = _convoy_legs(700 + k, t0, route, 0.0, lost)
        after = _convoy_legs(760 + k, before[0]["t_s"][-1] + 80.0, route, found, 1.0)
        for b, a in zip(before, after, strict=True):
            a["t_s"] = a["t_s"] - a["t_s"][0] + b["t_s"][-1] + 80.0
        runs += before + after
    corridors, _ = find_corridors(table(*_site_visits(6), *runs), info, airspace, sites)
    mine = [c for c in corridors if set(c.evidence.track_ids) & set(range(700, 830))]
    assert len(mine) == 1
    assert mine[0].from_site_id == sites[0].id
    assert mine[0].border_lat_deg is not None
    assert mine[0].traversal_count == 4
    assert not set(mine[0].evidence.track_ids) & set(range(760, 830))  # joined to 700..753
    lon, lat = np.asarray(mine[0].path_lonlat_deg).T
    line = shapely.LineString(np.column_stack(info.frame.to_xy(lon, lat)))
    probe = shapely.line_interpolate_point(road, np.linspace(0.0, road.length, 200))
    # The unseen corner is cut (by about 400 m) and the rest follows the road.
    assert float(np.max(shapely.distance(probe, line))) < 500.0


def test_read_scans_in_the_run_frame_or_from_lat_lon(info: RunInfo, tmp_path: Path) -> None:
    import pandas as pd

    from standoff.core.errors import InputError
    from standoff.intel.io import read_scans

    x, y = np.array([1_000.0, 2_000.0]), np.array([-3_000.0, -3_500.0])
    lon, lat = info.frame.to_lonlat(x, y)
    az = info.frame.true_azimuth_deg(x, y, np.radians([10.0, 200.0]))
    frame = pd.DataFrame(
        {
            "time": ["2026-03-20T02:00:10Z", "2026-03-20T02:00:20Z"],
            "sensor": "gmti",
            "lat": lat,
            "lon": lon,
            "x_m": x,
            "y_m": y,
            "r_min_m": 0.0,
            "r_max_m": 29_000.0,
            "azimuth_deg": az,
            "frame_azimuth_deg": [10.0, 200.0],
            "half_width_deg": 60.0,
        }
    )
    frame.to_csv(tmp_path / "scans.csv", index=False)
    sc = read_scans(tmp_path / "scans.csv", info)
    np.testing.assert_allclose(sc.t_s, [10.0, 20.0])
    np.testing.assert_allclose(sc.centre_rad, np.radians([10.0, 200.0]))
    frame.drop(columns=["x_m", "y_m", "frame_azimuth_deg"]).to_csv(
        tmp_path / "geo.csv", index=False
    )
    geo = read_scans(tmp_path / "geo.csv", info)
    np.testing.assert_allclose(geo.x_m, x, atol=0.01)
    np.testing.assert_allclose(
        (geo.centre_rad - np.radians([10.0, 200.0]) + np.pi) % (2 * np.pi) - np.pi, 0.0, atol=1e-6
    )
    frame.loc[1, "half_width_deg"] = 0.0
    frame.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InputError) as err:
        read_scans(tmp_path / "bad.csv", info)
    assert (err.value.source, err.value.row, err.value.field) == (
        str(tmp_path / "bad.csv"),
        3,
        "half_width_deg",
    )
