"""The compiled scan kernel computes what the numpy path computes, scan for scan."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from standoff.domain.detections import DetectionBatch
from standoff.track import (
    ExistenceDeleter,
    GNNAssociator,
    HybridAssociator,
    JPDAAssociator,
    KDTreeGater,
    SinglePointInitiator,
    Tracker,
    TrackerConfig,
    _kernels,
)
from standoff.track.association import Associator
from standoff.track.scenario import generate_scenario
from standoff.track.tracker import TrackBatch

pytestmark = pytest.mark.skipif(not _kernels.AVAILABLE, reason="numba not installed")


def _mixed_batches(seed: int) -> list[DetectionBatch]:
    """Ground movers with clutter; some scans carry radial velocity from a sensor, some
    add a narrow-field EO/IR detection (two sensors in one scan)."""
    sc = generate_scenario(20, 20.0, seed=seed, duration_s=600.0, size_m=20_000.0)
    rng = np.random.default_rng(seed)
    out: list[DetectionBatch] = []
    for k, b in enumerate(sc.batches):
        n = len(b)
        if k % 3 == 1 and n:
            b = replace(
                b,
                radial_velocity_mps=rng.normal(0.0, 10.0, n),
                sensor_x_m=np.full(n, -60_000.0),
                sensor_y_m=np.full(n, -20_000.0),
            )
        if k % 5 == 2 and n:
            b = DetectionBatch.create(
                b.time_s,
                np.append(b.x_m, b.x_m[0] + 3.0),
                np.append(b.y_m, b.y_m[0] - 2.0),
                np.append(b.sigma_m, 4.0),
                sensor=np.append(b.sensor, "eoir"),
                radial_velocity_mps=np.append(b.radial_velocity_mps, np.nan),
                sensor_x_m=np.append(b.sensor_x_m, np.nan),
                sensor_y_m=np.append(b.sensor_y_m, np.nan),
            )
        out.append(b)
    return out


def _run(tracker: Tracker, batches: list[DetectionBatch], lagged: bool) -> list[TrackBatch]:
    if not lagged:
        return [tracker.step(b) for b in batches]
    outs = [tracker.step_lagged(b) for b in batches]
    outs.append(tracker.finish())
    return [o for o in outs if o is not None]


def _assert_same(a: list[TrackBatch], b: list[TrackBatch]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.time_s == y.time_s
        np.testing.assert_array_equal(x.track_id, y.track_id)
        np.testing.assert_array_equal(x.det_index, y.det_index)
        for f in ("x_m", "y_m", "vx_mps", "vy_mps"):
            np.testing.assert_allclose(getattr(x, f), getattr(y, f), rtol=1e-7, atol=1e-6)


@pytest.mark.parametrize("lagged", [False, True], ids=["streaming", "lagged"])
@pytest.mark.parametrize(
    "associator",
    [HybridAssociator(), GNNAssociator(), JPDAAssociator()],
    ids=["hybrid", "gnn", "jpda"],
)
def test_compiled_and_numpy_paths_report_the_same_tracks(
    associator: Associator, lagged: bool
) -> None:
    batches = _mixed_batches(seed=3)
    cfg = TrackerConfig(clutter_density_per_m2=20.0 / 20_000.0**2)
    fast = Tracker(config=cfg, associator=associator)
    slow = Tracker(config=cfg, associator=associator, backend="numpy")
    assert fast.compiled
    assert not slow.compiled
    _assert_same(_run(slow, batches, lagged), _run(fast, batches, lagged))
    assert fast.n_live == slow.n_live


def test_a_large_scan_grows_the_track_arrays() -> None:
    rng = np.random.default_rng(0)
    fast = Tracker()
    slow = Tracker(backend="numpy")
    for k in range(4):
        xy = rng.uniform(0.0, 30_000.0, (700, 2))
        b = DetectionBatch.create(10.0 * k, xy[:, 0], xy[:, 1], 20.0)
        _assert_same([slow.step(b)], [fast.step(b)])
    assert fast.n_live == slow.n_live > 64


@dataclass(frozen=True)
class _WrappedDeleter:
    """A component the kernel does not know: the tracker falls back to numpy."""

    inner: ExistenceDeleter = field(default_factory=ExistenceDeleter)

    def delete(self, r, confirmed, misses, coast_s):  # type: ignore[no-untyped-def]
        return self.inner.delete(r, confirmed, misses, coast_s)


class _MyGater(KDTreeGater):
    pass


@pytest.mark.parametrize(
    "kwargs",
    [
        {"deleter": _WrappedDeleter()},
        {"gater": _MyGater()},
        {"initiator": SinglePointInitiator(r0=0.2)},
    ],
    ids=["custom-deleter", "subclassed-gater", "parameterised-initiator"],
)
def test_custom_components_run_through_the_numpy_path(kwargs: dict[str, object]) -> None:
    tracker = Tracker(**kwargs)  # type: ignore[arg-type]
    expect_compiled = "initiator" in kwargs  # parameters of a built-in component compile
    assert tracker.compiled is expect_compiled
    batches = _mixed_batches(seed=5)[:20]
    ref = Tracker(backend="numpy", **kwargs)  # type: ignore[arg-type]
    _assert_same(_run(ref, batches, False), _run(tracker, batches, False))


@settings(max_examples=60, deadline=None)
@given(
    nr=st.integers(1, 6),
    extra=st.integers(0, 5),
    data=st.data(),
)
def test_assignment_matches_scipy(nr: int, extra: int, data: st.DataObject) -> None:
    nc = nr + extra
    vals = data.draw(st.lists(st.integers(-5, 5), min_size=nr * nc, max_size=nr * nc))
    cost = np.asarray(vals, dtype=np.float64).reshape(nr, nc)
    cols = _kernels._lsa(cost)
    r, c = linear_sum_assignment(cost)
    assert cost[np.arange(nr), cols].sum() == cost[r, c].sum()
    np.testing.assert_array_equal(cols, c)  # same algorithm, same ties
    assert np.unique(cols).size == nr


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 30), nd=st.integers(1, 60))
def test_grid_gating_finds_exactly_the_pairs_within_each_radius(seed: int, n: int, nd: int) -> None:
    rng = np.random.default_rng(seed)
    m = 2
    X = np.zeros((n, m, 4))
    X[:, :, :2] = rng.uniform(0.0, 5_000.0, (n, 1, 2))
    P = np.zeros((n, m, 4, 4))
    P[:, :, 0, 0] = P[:, :, 1, 1] = rng.uniform(10.0, 1e5, (n, 1))
    mu = np.full((n, m), 0.5)
    dx = rng.uniform(-500.0, 5_500.0, nd)
    dy = rng.uniform(-500.0, 5_500.0, nd)
    ti, dj = _kernels._gate(X, P, mu, n, dx, dy, 5.0, 20.0, 1_500.0)
    radius = np.minimum(5.0 * np.sqrt(P[:, 0, 0, 0] * 2 + 2 * 20.0**2), 1_500.0)
    d = np.hypot(X[:, 0, 0, None] - dx[None, :], X[:, 0, 1, None] - dy[None, :])
    want_t, want_d = np.nonzero(d <= radius[:, None])
    np.testing.assert_array_equal(ti, want_t)
    np.testing.assert_array_equal(dj, want_d)
