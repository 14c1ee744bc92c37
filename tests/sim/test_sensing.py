"""Sensor models against their own statistics: Pd vs range, MDV, false alarms, reach."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from scipy import stats

from standoff.platforms import SENSORS
from standoff.platforms.footprint import sector_polygon
from standoff.sim import demo_scenario, gmti_pd
from standoff.sim.sensing import Look, eoir_look, gmti_scan

GMTI = SENSORS["gmti"]
EOIR = SENSORS["eoir"]
ALT_M = 7600.0


def _ring_movers(ranges_m: np.ndarray, per: int, speed_mps: float) -> tuple[np.ndarray, ...]:
    """``per`` movers at each ground range, due north of the aircraft, driving away."""
    y = np.repeat(ranges_m, per).astype(np.float64)
    x = np.zeros_like(y)
    return x, y, np.zeros_like(y), np.full_like(y, speed_mps)


def test_detection_rate_follows_the_range_model() -> None:
    settings = demo_scenario().gmti
    ranges = np.array([5_000.0, 15_000.0, 22_000.0, 25_000.0, 27_000.0, 28_500.0])
    per, scans = 200, 25
    x, y, vx, vy = _ring_movers(ranges, per, 15.0)
    look = Look(0.0, 0.0, ALT_M, 0.0, 10_000.0)
    rng = np.random.default_rng(3)
    hits = np.zeros(len(ranges))
    for _ in range(scans):
        r = gmti_scan(look, x, y, vx, vy, GMTI, settings, rng)
        true = r.truth_index[r.truth_index >= 0]
        hits += np.bincount(true // per, minlength=len(ranges))
    n = per * scans
    expected = gmti_pd(np.hypot(ranges, ALT_M), np.arctan2(ALT_M, ranges), GMTI, settings)
    assert expected[0] > 0.85 > 0.1 > expected[-1] * 0  # the model falls with range
    assert np.all(np.diff(expected) <= 0)
    for k in range(len(ranges)):
        lo, hi = stats.binom.interval(0.999, n, expected[k])
        assert lo <= hits[k] <= hi, (ranges[k], hits[k], n * expected[k])


def test_no_detection_below_the_mdv() -> None:
    settings = demo_scenario().gmti
    rng = np.random.default_rng(5)
    n = 4000
    ang = rng.uniform(0, 2 * np.pi, n)
    rg = rng.uniform(2_000, 25_000, n)
    x, y = rg * np.sin(ang), rg * np.cos(ang)
    heading = rng.uniform(0, 2 * np.pi, n)
    speed = rng.uniform(0, 30, n)
    vx, vy = speed * np.sin(heading), speed * np.cos(heading)
    look = Look(0.0, 0.0, ALT_M, 0.0, 1.0)
    spec = GMTI
    seen = 0
    for _ in range(10):
        r = gmti_scan(look, x, y, vx, vy, spec, settings, rng)
        true = r.truth_index[r.truth_index >= 0]
        slant = np.sqrt(rg[true] ** 2 + ALT_M**2)
        radial = np.abs(vx[true] * x[true] + vy[true] * y[true]) / slant
        assert np.all(radial >= spec.mdv_mps)
        seen += len(true)
    assert seen > 1000
    # Parked vehicles are never seen.
    r = gmti_scan(look, x, y, np.zeros(n), np.zeros(n), spec, settings, rng)
    assert np.all(r.truth_index < 0)


def test_false_alarm_count_is_poisson() -> None:
    settings = demo_scenario().gmti
    rng = np.random.default_rng(9)
    look = Look(0.0, 0.0, ALT_M, 5_000.0, 5_000.0)
    empty = np.zeros(0)
    scans = 200
    total = 0
    area = 0.0
    reach = GMTI.ground_reach_m(ALT_M)
    for _ in range(scans):
        r = gmti_scan(look, empty, empty, empty, empty, GMTI, settings, rng)
        total += len(r.x_m)
        area = r.footprint_m2
        # False alarms lie in the footprint (plus noise) and in the sector.
        assert np.all(np.hypot(r.x_m, r.y_m) <= reach + 5 * r.sigma_m)
    assert area == np.radians(GMTI.fov_deg) / 2 * reach**2
    lam = settings.false_alarms_per_km2 * area / 1e6 * scans
    lo, hi = stats.poisson.interval(0.999, lam)
    assert lo <= total <= hi


def test_eoir_sees_parked_and_moving_objects_in_its_footprint() -> None:
    settings = demo_scenario().eoir
    rng = np.random.default_rng(1)
    site = (3_000.0, 12_000.0)
    x = np.array([site[0], site[0] + 50.0, site[0] + 5_000.0])
    y = np.array([site[1], site[1] - 40.0, site[1]])
    look = Look(0.0, 0.0, ALT_M, *site)
    found = np.zeros(3)
    for _ in range(100):
        r = eoir_look(look, x, y, EOIR, settings, rng)
        found += np.bincount(r.truth_index, minlength=3)
        assert np.all(np.isnan(r.radial_velocity_mps))
    assert found[2] == 0  # outside the narrow footprint
    assert found[0] > 45
    assert found[1] > 45
    # Beyond the slant range: nothing.
    far = Look(0.0, 0.0, ALT_M, 0.0, 40_000.0)
    r = eoir_look(far, np.array([0.0]), np.array([40_000.0]), EOIR, settings, rng)
    assert len(r.x_m) == 0


def test_gmti_scans_only_the_aois_within_reach() -> None:
    """With AOIs, movers outside them are never detected, false alarms fall inside them, and
    their count is Poisson over the footprint's area (AOI within reach and sector)."""
    from shapely.geometry import box

    from standoff.sim.sensing import gmti_footprint

    settings = demo_scenario().gmti
    rng = np.random.default_rng(11)
    aoi = box(-6_500.0, 9_500.0, 6_500.0, 20_500.0)  # wholly inside reach and the sector
    look = Look(0.0, 0.0, ALT_M, 0.0, 1.0)
    fp = gmti_footprint(look, GMTI, aoi)
    assert fp is not None
    assert abs(fp.area_m2 - aoi.area) < 1e-6 * aoi.area
    # Movers on a grid, all driving away from the aircraft fast enough to be seen.
    gx, gy = np.meshgrid(np.linspace(-20_000, 20_000, 41), np.linspace(2_000, 26_000, 25))
    x, y = gx.ravel(), gy.ravel()
    rg = np.hypot(x, y)
    vx, vy = 15.0 * x / rg, 15.0 * y / rg
    inside = (np.abs(x) <= 6_500) & (y >= 9_500) & (y <= 20_500)
    total_fa = 0
    seen = np.zeros(len(x), dtype=bool)
    scans = 300
    for _ in range(scans):
        r = gmti_scan(look, x, y, vx, vy, GMTI, settings, rng, aoi)
        true = r.truth_index[r.truth_index >= 0]
        seen[true] = True
        fa = r.truth_index < 0
        total_fa += int(fa.sum())
        margin = 5 * r.sigma_m[fa]
        assert np.all((np.abs(r.x_m[fa]) <= 6_500 + margin) & (r.y_m[fa] >= 9_500 - margin))
        assert np.all(r.y_m[fa] <= 20_500 + margin)
        assert r.footprint_m2 == fp.area_m2
    assert not seen[~inside].any()
    assert seen[inside].mean() > 0.99
    lam = settings.false_alarms_per_km2 * aoi.area / 1e6 * scans
    lo, hi = stats.poisson.interval(0.999, lam)
    assert lo <= total_fa <= hi
    # An AOI beyond reach: no scan at all.
    far = box(-1_000.0, 60_000.0, 1_000.0, 62_000.0)
    assert gmti_footprint(look, GMTI, far) is None
    r = gmti_scan(look, x, y, vx, vy, GMTI, settings, rng, far)
    assert len(r.x_m) == 0


def test_eoir_footprint_is_the_projected_field_of_view() -> None:
    """Near and far edges at h cot(theta +- fov/2), width growing with range, and the area
    formula against a Monte-Carlo count; objects just outside an edge are never seen."""
    from standoff.sim.sensing import eoir_footprint

    settings = demo_scenario().eoir
    site = (0.0, 12_000.0)
    look = Look(0.0, 0.0, ALT_M, *site)
    fp = eoir_footprint(look, EOIR)
    assert fp is not None
    theta = np.arctan2(ALT_M, 12_000.0)
    half = np.radians(EOIR.fov_deg) / 2
    assert np.isclose(fp.near_m, ALT_M / np.tan(theta + half))
    assert np.isclose(fp.far_m, ALT_M / np.tan(theta - half))
    assert fp.near_m < 12_000.0 < fp.far_m
    # Monte-Carlo area of the trapezoid (bounding box sampling).
    rng = np.random.default_rng(2)
    w = np.hypot(fp.far_m, ALT_M) * fp.tan_half
    px = rng.uniform(-w, w, 400_000)
    py = rng.uniform(fp.near_m, fp.far_m, 400_000)
    inside = np.abs(px) <= np.sqrt(py * py + ALT_M**2) * fp.tan_half
    box_area = 2 * w * (fp.far_m - fp.near_m)
    assert abs(inside.mean() * box_area - fp.area_m2) < 0.01 * fp.area_m2
    # Edges: a parked object just inside each edge is seen, just outside never.
    width_near = np.hypot(fp.near_m, ALT_M) * fp.tan_half
    x = np.array([0.0, 0.0, 0.0, 0.0, width_near - 5.0, width_near + 5.0])
    y = np.array(
        [fp.near_m + 5, fp.near_m - 5, fp.far_m - 5, fp.far_m + 5, fp.near_m + 10, fp.near_m + 10]
    )
    found = np.zeros(len(x))
    for _ in range(200):
        r = eoir_look(look, x, y, EOIR, settings, rng)
        found += np.bincount(r.truth_index, minlength=len(x))
    assert found[[1, 3, 5]].sum() == 0
    assert np.all(found[[0, 2, 4]] > 100)


def test_a_stepped_sweep_covers_the_aois_in_reach_every_few_scans() -> None:
    """A wide AOI around the aircraft: the aimed sector sees a part of it every scan; the
    stepped sweep's n sectors (n = ceil(arc / fov)) see all of it over n scans, then repeat."""
    from shapely.geometry import box

    from standoff.platforms.footprint import swept_sector
    from standoff.sim.sensing import gmti_footprint

    look = Look(0.0, 0.0, ALT_M, 0.0, 1.0)
    aoi = box(-25_000.0, 4_000.0, 25_000.0, 26_000.0)  # spans ~160 degrees seen from (0, 0)
    r_min, r_max = GMTI.ground_min_m(ALT_M), GMTI.ground_reach_m(ALT_M)
    aimed = gmti_footprint(look, GMTI, aoi)
    assert aimed is not None
    steps = [gmti_footprint(look, GMTI, aoi, step=k) for k in range(4)]
    assert all(s is not None for s in steps)
    centres = [s.centre_rad for s in steps if s is not None]
    assert len({round(c, 9) for c in centres[:2]}) == 2  # two sectors for a 160-degree arc
    assert centres[2] == pytest.approx(centres[0])
    assert centres[3] == pytest.approx(centres[1])
    union = shapely.union_all([s.area for s in steps[:2] if s is not None and s.area is not None])
    ring = sector_polygon(0.0, 0.0, r_min, r_max, 0.0, np.pi)
    visible = shapely.intersection(aoi, ring)
    assert union.area == pytest.approx(visible.area, rel=1e-3)
    assert aimed.area_m2 < 0.9 * visible.area  # the aimed sector alone misses some of it
    # A narrow AOI needs one sector, centred on it, whatever the step.
    narrow = box(-2_000.0, 10_000.0, 2_000.0, 20_000.0)
    one = {round(swept_sector(0.0, 0.0, r_min, r_max, GMTI.half_fov_rad, narrow, k)[0], 9)
           for k in range(3)}  # fmt: skip
    assert one == {0.0}
    # Nothing in reach: no scan.
    assert swept_sector(0.0, 0.0, r_min, r_max, GMTI.half_fov_rad, box(0, 9e4, 1, 9.1e4), 0) is None
