"""The same ground watched on several nights (sorties): evidence is weighed per night
watched, places are built up night by night, and the nights fill the weekly profile."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from standoff.airspace import Airspace
from standoff.intel import find_corridors, find_sites
from standoff.intel.io import RunInfo, TrackTable
from standoff.intel.sites import _by_night, _medians

from .conftest import drive, table
from .test_analytics import SITE, _border_lat, _site_visits

DAY = 86_400.0


def _nights(parts: list[dict[str, np.ndarray]], n: int) -> list[dict[str, np.ndarray]]:
    """The same drives on ``n`` nights, a day apart (new track and detection ids)."""
    out = []
    for night in range(n):
        for p in parts:
            q = dict(p)
            q["track_id"] = p["track_id"] + 10_000 * night
            q["det_id"] = p["det_id"] + 10_000_000 * night
            q["t_s"] = p["t_s"] + night * DAY
            out.append(q)
    return out


NIGHTS = tuple((k * DAY, k * DAY + 40_000.0) for k in range(3))


@pytest.fixture
def info3(info: RunInfo) -> RunInfo:
    return dataclasses.replace(info, duration_s=2 * DAY + 40_000.0, sorties=NIGHTS)


def test_times_fall_in_their_sortie(info: RunInfo, info3: RunInfo) -> None:
    t = [5.0, DAY + 29_000.0, DAY - 1.0, 2 * DAY + 1.0, -3.0]
    assert info3.sortie_of(t).tolist() == [0, 1, 0, 2, 0]
    assert info3.nights == 3
    assert info.nights == 1
    assert info.sortie_of(t).tolist() == [0] * 5


def test_three_like_nights_read_as_one(info: RunInfo, info3: RunInfo) -> None:
    """A site with six out-and-back visits a night: the same site, at the same confidence,
    from three such nights (18 visits) as from one."""
    [one] = find_sites(table(*_site_visits(6)), None, info)[0]
    [three] = find_sites(table(*_nights(_site_visits(6), 3)), None, info3)[0]
    assert three.visit_count == 18
    assert three.confidence.probability == one.confidence.probability
    assert "per night over 3 nights watched: visits=6" in three.confidence.basis
    assert np.hypot(three.lon_deg - one.lon_deg, three.lat_deg - one.lat_deg) < 1e-3
    # The nights fill the weekly profile: one night's, on three days running (a night's
    # visits after midnight fall on the next day).
    one_night = np.asarray(one.visits_by_weekday)
    expected = sum(np.roll(one_night, k) for k in range(3))
    assert list(three.visits_by_weekday) == expected.tolist()
    assert np.count_nonzero(expected) == np.count_nonzero(one_night) + 2


def test_a_weak_place_does_not_become_a_site_by_being_watched_longer(
    info: RunInfo, info3: RunInfo
) -> None:
    """Three out-and-back visits a night are "roughly even chance" on one night; three nights
    of them are the same evidence per night, not nine visits' worth."""
    assert find_sites(table(*_site_visits(3)), None, info)[0] == []
    assert find_sites(table(*_nights(_site_visits(3), 3)), None, info3)[0] == []


def test_places_are_joined_night_by_night_not_chained() -> None:
    """Single linkage over all nights chains two places 300 m apart through the evidence in
    between; joined night by night, each night's place stays where it was."""
    x = np.array([0.0, 150.0, 300.0, 450.0])
    y = np.zeros(4)
    assert len(set(_by_night(x, y, np.zeros(4, np.int64), 200.0).tolist())) == 1
    night = np.array([0, 0, 1, 1])
    lab = _by_night(x, y, night, 200.0)
    assert lab[0] == lab[1] != lab[2] == lab[3]
    # The same place on two nights is one place.
    same = _by_night(np.array([0.0, 100.0, 20.0, 110.0]), y, night, 200.0)
    assert len(set(same.tolist())) == 1


def test_a_night_that_chained_along_a_road_still_joins_its_place() -> None:
    """On the second night the place's evidence chained 750 m along a road: the night's
    cluster has its mean 210 m off the place (a second "site" when nights were joined by
    their means) and its median on it, so it joins the place's first night."""
    first = [0.0, 5.0, 10.0, -5.0]
    second = [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 150.0, 300.0, 450.0, 600.0, 750.0]
    x = np.array(first + second)
    y = np.zeros(len(x))
    night = np.repeat([0, 1], [len(first), len(second)])
    assert abs(x[night == 1].mean() - x[night == 0].mean()) > 200.0
    lab = _by_night(x, y, night, 150.0)
    assert len(set(lab.tolist())) == 1
    # Two places 400 m apart on both nights stay two.
    two = _by_night(np.array([0.0, 400.0, 10.0, 410.0]), np.zeros(4), np.array([0, 0, 1, 1]), 150.0)
    assert two[0] == two[2] != two[1] == two[3]


def test_medians_per_label() -> None:
    v = np.array([5.0, 1.0, 3.0, 10.0, 20.0, 7.0])
    label = np.array([0, 0, 0, 1, 1, 2])
    assert _medians(label, v).tolist() == [3.0, 15.0, 7.0]


def test_a_corridor_needs_its_passes_on_the_mean_night(info: RunInfo, info3: RunInfo) -> None:
    airspace = Airspace.load()
    bx, by = (float(v) for v in info.frame.to_xy(-111.68, _border_lat(airspace, -111.68) - 0.005))

    def world(passes: int, nights: int, inf: RunInfo) -> tuple[TrackTable, list]:
        runs = [drive(100 + k, 20000.0 + 3000 * k, SITE, (bx, by), 14.0) for k in range(passes)]
        tracks = table(*_nights([*_site_visits(6), *runs], nights))
        return tracks, find_sites(tracks, None, inf)[0]

    tracks, sites = world(3, 1, info)
    [one] = [c for c in find_corridors(tracks, info, airspace, sites)[0] if c.border_lat_deg]
    tracks, sites = world(3, 3, info3)
    [three] = [c for c in find_corridors(tracks, info3, airspace, sites)[0] if c.border_lat_deg]
    assert three.traversal_count == 9
    assert three.confidence.probability == one.confidence.probability
    assert "per night over 3 nights" in three.confidence.basis
    # One pass a night is one pass's evidence, however many nights: no corridor.
    tracks, sites = world(1, 3, info3)
    assert not [c for c in find_corridors(tracks, info3, airspace, sites)[0] if c.border_lat_deg]


def _convoy_world(info: RunInfo, quiet_last_night: bool) -> tuple[TrackTable, RunInfo]:
    """Four nights: a site visited six times a night; from it, each night, six convoys of
    two vehicles drive to the border and lone cars drive the same road.  The convoys may
    stop after the third night; the lone cars keep driving."""
    airspace = Airspace.load()
    bx, by = (float(v) for v in info.frame.to_xy(-111.68, _border_lat(airspace, -111.68) - 0.005))
    nights = tuple((k * DAY, k * DAY + 40_000.0) for k in range(4))
    parts: list[dict[str, np.ndarray]] = []
    tid = 1000
    for night in range(4):
        t0 = night * DAY
        for k in range(6):
            if not (quiet_last_night and night == 3):
                for v in range(2):  # two vehicles 20 s apart, a few metres to one side
                    lead = (SITE[0] + 15.0 * v, SITE[1])
                    parts.append(
                        drive(
                            tid, t0 + 18_000.0 + 3_000 * k + 20 * v, lead, (bx + 15 * v, by), 14.0
                        )
                    )
                    tid += 1
            parts.append(drive(tid, t0 + 19_500.0 + 3_000 * k, SITE, (bx, by), 16.0))
            tid += 1
    visits = _nights(_site_visits(6), 4)
    inf = dataclasses.replace(info, duration_s=3 * DAY + 40_000.0, sorties=nights)
    return table(*visits, *parts), inf


@pytest.mark.parametrize("quiet", [True, False])
def test_convoys_that_stop_raise_one_alert_and_steady_nights_none(
    info: RunInfo, quiet: bool
) -> None:
    from standoff.intel import analyse
    from standoff.intel.analyse import AnalysisParams

    tracks, inf = _convoy_world(info, quiet)
    # The last night against the three before it.
    findings = analyse(tracks, None, inf, Airspace.load(), AnalysisParams(alert_window_s=DAY))
    assert findings.sites
    assert findings.corridors
    if not quiet:  # the same every night: no alert, site or corridor
        assert findings.alerts == ()
        return
    convoy = [a for a in findings.alerts if a.activity == "convoy passes"]
    assert len(convoy) == 1
    a = convoy[0]
    assert a.direction == "decrease"
    assert a.observed_count == 0
    assert a.subject_id in {c.id for c in findings.corridors}
    assert "Benjamini-Hochberg" in a.confidence.basis
    assert not [x for x in findings.alerts if x.activity == "visits"]
