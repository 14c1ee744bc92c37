"""Scan footprints: a tracker counts a miss only where the scan looked."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from standoff.domain.detections import DetectionBatch, ScanFootprint
from standoff.track import Tracker, TrackerConfig, _kernels

SENSOR = (0.0, -30_000.0)


def _towards(x: float, y: float) -> float:
    return math.atan2(x - SENSOR[0], y - SENSOR[1])


def test_contains_rings_sectors_and_the_wrap_at_south() -> None:
    fp = ScanFootprint(0.0, 0.0, 1_000.0, 10_000.0, math.pi, math.radians(30))  # due south
    pts = np.array(
        [
            [0.0, -5_000.0],  # south: inside
            [0.0, -500.0],  # inside r_min
            [0.0, -11_000.0],  # beyond r_max
            [-2_000.0, -5_000.0],  # 21.8 deg west of south: inside across the +-pi wrap
            [2_000.0, -5_000.0],  # 21.8 deg east of south: inside
            [5_000.0, -5_000.0],  # 45 deg off: outside
            [0.0, 5_000.0],  # north: outside
        ]
    )
    np.testing.assert_array_equal(
        fp.contains(pts[:, 0], pts[:, 1]), [True, False, False, True, True, False, False]
    )
    full = ScanFootprint(0.0, 0.0, 0.0, 10_000.0, 0.3, math.pi)
    assert full.contains([0.0, 9_000.0, -9_000.0], [0.0, -1.0, 0.5]).all()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"r_min_m": -1.0},
        {"r_max_m": 10.0, "r_min_m": 20.0},
        {"half_rad": 0.0},
        {"half_rad": 4.0},
        {"centre_rad": float("nan")},
    ],
)
def test_an_impossible_footprint_is_refused(kwargs: dict[str, float]) -> None:
    base = {
        "sensor_x_m": 0.0,
        "sensor_y_m": 0.0,
        "r_min_m": 0.0,
        "r_max_m": 10_000.0,
        "centre_rad": 0.0,
        "half_rad": 1.0,
    }
    with pytest.raises(ValueError, match="ScanFootprint"):
        ScanFootprint(**{**base, **kwargs})


def _sweeping_run(with_footprint: bool, backend: str, looks_away: int = 3) -> list[set[int]]:
    """One vehicle driving east at 15 m/s; the radar looks at it one scan in
    ``1 + looks_away`` and elsewhere (where a false alarm lies) in between."""
    rng = np.random.default_rng(5)
    tracker = Tracker(
        config=TrackerConfig(clutter_density_per_m2=1e-9),
        backend="auto" if backend == "compiled" else "numpy",
    )
    assert tracker.compiled == (backend == "compiled")
    ids: list[set[int]] = []
    for k in range(120):
        t = 10.0 * k
        x, y = -9_000.0 + 15.0 * t, 5_000.0
        at_it = k % (1 + looks_away) == 0
        centre = _towards(x, y) if at_it else _towards(x, y) + 1.2
        fp = ScanFootprint(*SENSOR, 0.0, 80_000.0, centre, math.radians(20))
        if at_it:
            dx, dy = x + rng.normal(0, 20.0), y + rng.normal(0, 20.0)
        else:  # a false alarm somewhere the radar looked
            r = rng.uniform(20_000.0, 70_000.0)
            dx, dy = SENSOR[0] + r * math.sin(centre), SENSOR[1] + r * math.cos(centre)
        batch = DetectionBatch.create(t, [dx], [dy], 20.0, footprint=fp if with_footprint else None)
        ids.append(set(tracker.step(batch).track_id.tolist()))
    return ids


@pytest.mark.parametrize(
    "backend",
    ["numpy", pytest.param("compiled", marks=pytest.mark.skipif(not _kernels.AVAILABLE,
                                                               reason="numba not installed"))],
)  # fmt: skip
def test_a_track_outside_the_scan_is_not_missed(backend: str) -> None:
    aware = _sweeping_run(True, backend)
    blind = _sweeping_run(False, backend)
    # With footprints: after a few looks, one track, reported at every scan to the end
    # (a false alarm's short-lived track may come and go before).
    tail = aware[12:]
    assert all(len(s) == 1 for s in tail)
    assert len(set().union(*tail)) == 1
    # Without them, three misses in four scans keep the vehicle from ever being held.
    assert sum(1 for s in blind[12:] if s) < 0.5 * len(tail)


@pytest.mark.skipif(not _kernels.AVAILABLE, reason="numba not installed")
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), half_deg=st.floats(10.0, 180.0))
def test_compiled_and_numpy_paths_agree_with_footprints(seed: int, half_deg: float) -> None:
    """Movers and clutter; every scan's footprint alternates between two sectors."""
    from standoff.track.scenario import generate_scenario

    sc = generate_scenario(12, 10.0, seed=seed, duration_s=400.0, size_m=20_000.0)
    out = []
    for backend in ("auto", "numpy"):
        tracker = Tracker(
            config=TrackerConfig(clutter_density_per_m2=10.0 / 20_000.0**2), backend=backend
        )
        reports = []
        for k, b in enumerate(sc.batches):
            centre = 0.6 if k % 2 else -0.6
            fp = ScanFootprint(10_000.0, -40_000.0, 0.0, 90_000.0, centre, math.radians(half_deg))
            keep = fp.contains(b.x_m, b.y_m)
            batch = DetectionBatch.create(
                b.time_s, b.x_m[keep], b.y_m[keep], b.sigma_m[keep], footprint=fp
            )
            reports.append(tracker.step(batch))
        out.append(reports)
    for a, b in zip(*out, strict=True):
        np.testing.assert_array_equal(a.track_id, b.track_id)
        np.testing.assert_array_equal(a.det_index, b.det_index)
        np.testing.assert_allclose(a.x_m, b.x_m, rtol=1e-7, atol=1e-6)
        np.testing.assert_allclose(a.vy_mps, b.vy_mps, rtol=1e-7, atol=1e-6)
