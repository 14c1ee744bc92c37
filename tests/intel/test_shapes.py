"""Stationary sightings as site anchors, fragment joining, travel in company and corridor
centre lines that follow a bend (small hand-built worlds)."""

from __future__ import annotations

import dataclasses

import numpy as np
import shapely

from standoff.airspace import Airspace
from standoff.intel import find_corridors, find_sites
from standoff.intel.io import DetectionTable, RunInfo
from standoff.intel.sites import SiteParams, _stationary

from .conftest import drive, table

SITE = (5000.0, -20000.0)


def _eoir(xy_t: list[tuple[float, float, float]]) -> DetectionTable:
    a = np.asarray(xy_t, dtype=float).reshape(-1, 3)
    return DetectionTable(
        np.arange(len(a), dtype=np.int64) + 90_000, a[:, 2], np.full(len(a), "eoir"), a[:, 0],
        a[:, 1],
    )  # fmt: skip


def _parked(n_looks: int, t0: float, xy: tuple[float, float]) -> list[tuple[float, float, float]]:
    """A parked vehicle seen every 240 s with metres of noise."""
    rng = np.random.default_rng(1)
    return [(xy[0] + rng.normal(0, 5), xy[1] + rng.normal(0, 5), t0 + 240.0 * k)
            for k in range(n_looks)]  # fmt: skip


def _gap_visits(n: int, end_offset_m: float) -> list[dict[str, np.ndarray]]:
    """Radar sees visitors only until ``end_offset_m`` south of SITE (they slow below the
    radar's minimum detectable velocity there), and again when they leave."""
    parts = []
    stop = (SITE[0], SITE[1] - end_offset_m)
    for k in range(n):
        t0 = 3600.0 * (k + 1)
        far = (SITE[0] + 300.0 * k, SITE[1] - 6000.0)
        arrive = drive(2 * k + 1, t0, far, stop, 12.0)
        parts += [arrive, drive(2 * k + 2, arrive["t_s"][-1] + 1500.0, stop, far, 12.0)]
    return parts


def test_stationary_sightings_keep_parked_and_drop_passing() -> None:
    parked = _parked(4, 1000.0, SITE)
    passing = [(SITE[0] + 400.0 + 10.0 * k * 240, SITE[1], 1000.0 + 240.0 * k) for k in range(4)]
    still = _stationary(_eoir(parked + passing), SiteParams())
    assert still.tolist() == [True] * 4 + [False] * 4


def test_sightings_a_moving_track_took_are_not_a_parked_vehicle() -> None:
    # Two vehicles drive along one road, minutes apart; a camera sees each at the same spot.
    spot = [(SITE[0] + 3.0, SITE[1]), (SITE[0] - 4.0, SITE[1] + 2.0)]
    looks = _eoir([(x, y, 1000.0 + 600.0 * k) for k, (x, y) in enumerate(spot)])
    assert _stationary(looks, SiteParams()).tolist() == [True, True]  # alike by position
    legs = [drive(k + 1, 1000.0 + 600.0 * k - 50.0, (SITE[0] - 500.0, SITE[1]),
                  (SITE[0] + 500.0, SITE[1]), 10.0) for k in range(2)]  # fmt: skip
    for k, leg in enumerate(legs):  # each track took its sighting at full speed
        leg["det_id"][5] = looks.det_id[k]
    assert _stationary(looks, SiteParams(), table(*legs)).tolist() == [False, False]
    # A parked vehicle's sightings stay, whatever the tracks.
    parked = dataclasses.replace(_eoir(_parked(3, 1000.0, SITE)), det_id=np.arange(3) + 95_000)
    assert _stationary(parked, SiteParams(), table(*legs)).tolist() == [True] * 3


def test_site_centred_on_sightings_with_radar_visits_attached(info: RunInfo) -> None:
    # Tracks end 450 m short of the site; a camera sees the parked vehicles at the site.
    tracks = table(*_gap_visits(3, 450.0))
    looks = [look for k in range(3) for look in _parked(4, 3600.0 * (k + 1) + 600.0, SITE)]
    sites, _, _ = find_sites(tracks, _eoir(looks), info)
    assert len(sites) == 1
    s = sites[0]
    x, y = info.frame.to_xy(s.lon_deg, s.lat_deg)
    assert np.hypot(x - SITE[0], y - SITE[1]) < 20  # not 225 m south (the gap midpoints)
    assert s.visit_count == 3
    assert s.evidence.sensors == ("eoir", "gmti")
    # Three out-and-back gaps alone are not enough (coverage gaps look alike).
    assert find_sites(tracks, None, info)[0] == []


def test_repeated_sightings_alone_make_a_likely_site(info: RunInfo) -> None:
    """No radar visit at all: a camera sees vehicles parked at one place in 14 ten-minute
    bins over a night, and that is "likely" a site; in 6 bins it is not reported."""
    far = table(drive(1, 0.0, (0.0, 0.0), (5000.0, 0.0), 10.0))  # elsewhere
    for bins, reported in ((14, True), (6, False)):
        looks = [look for k in range(bins) for look in _parked(2, 3600.0 + 1800.0 * k, SITE)]
        sites, _, _ = find_sites(far, _eoir(looks), info)
        assert (len(sites) == 1) is reported
        if reported:
            assert sites[0].confidence.words == "likely"
            assert "sightings=14" in sites[0].confidence.basis
            assert sites[0].evidence.sensors == ("eoir",)


def test_moving_eoir_detections_make_no_site(info: RunInfo) -> None:
    passing = [(SITE[0] + 10.0 * k * 240, SITE[1], 1000.0 + 240.0 * k) for k in range(12)]
    sites, ev, _ = find_sites(table(drive(1, 0.0, (0.0, 0.0), (5000.0, 0.0), 10.0)),
                              _eoir(passing), info)  # fmt: skip
    assert sites == []
    assert len(ev) == 0


def _bend(t0: float, track0: int, gaps: bool, dx: float = 0.0) -> list[dict[str, np.ndarray]]:
    """An L-shaped drive east 8 km then north 8 km; with ``gaps`` the radar loses it for
    60 s three times (four tracks)."""
    a, c, b = (-30000.0 + dx, -30000.0), (-22000.0 + dx, -30000.0), (-22000.0 + dx, -22000.0)
    legs = [drive(track0, t0, a, c, 12.0)]
    legs.append(drive(track0, legs[-1]["t_s"][-1] + 10.0, c, b, 12.0))
    if not gaps:
        return legs
    out = []
    for leg in legs:  # cut each leg in two, drop 6 rows (60 s) in the middle
        n = len(leg["t_s"])
        for sl in (slice(0, n // 2 - 3), slice(n // 2 + 3, n)):
            out.append({k: v[sl] for k, v in leg.items()})
            out[-1]["track_id"] = np.full(len(out[-1]["t_s"]), track0 * 10 + len(out))
    return out


def test_fragments_joined_and_centre_line_follows_the_bend(info: RunInfo) -> None:
    # Two convoys of two vehicles (company), each drive cut into four tracks.
    parts = []
    for p, t0 in enumerate((1000.0, 15000.0)):
        for v in range(2):
            parts += _bend(t0 + 20.0 * v, 100 * (p + 1) + v, gaps=True, dx=15.0 * v)
    corridors, trav = find_corridors(table(*parts), info, Airspace.load(), [])
    assert len(corridors) == 1
    c = corridors[0]
    assert c.traversal_count == 2
    assert len(trav.track_id) == 4  # four joined trajectories, not sixteen fragments
    line = shapely.LineString(np.column_stack(info.frame.to_xy(*np.asarray(c.path_lonlat_deg).T)))
    truth = shapely.LineString([(-30000, -30000), (-22000, -30000), (-22000, -22000)])
    samples = shapely.line_interpolate_point(truth, np.arange(0.0, truth.length, 100.0))
    assert (shapely.distance(samples, line) <= 300.0).mean() > 0.95  # the corner included


def test_lone_drives_far_from_sites_and_border_are_no_corridor(info: RunInfo) -> None:
    parts = _bend(1000.0, 1, gaps=False) + _bend(15000.0, 2, gaps=False)
    corridors, _ = find_corridors(table(*parts), info, Airspace.load(), [])
    assert corridors == []
