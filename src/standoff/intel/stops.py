"""Stops and spatial clustering, vectorised over every point of every trajectory at once.

A *stop* (as in movingpandas' ``TrajectoryStopDetector``) is a stretch of one trajectory that
stays within ``max_diameter_m`` for at least ``min_duration_s``.  Here every point ``i`` opens
a window ``[i, j(i)]`` where ``j(i)`` is the first point at least ``min_duration_s`` later on
the same trajectory; a window whose bounding-box diagonal is below ``max_diameter_m`` is
stationary, and a stop is a maximal run of points covered by stationary windows.  Range
minima/maxima come from a sparse table built level by level (O(n log w) time, two levels of
memory), so there is no Python loop over points or trajectories.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

__all__ = ["Stops", "cluster_points", "cosines", "detect_stops"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Stops:
    """One element per stop: the trajectory, the time span, the centroid, the point count."""

    traj_id: IntArray
    start_s: FloatArray
    end_s: FloatArray
    x_m: FloatArray
    y_m: FloatArray
    n_points: IntArray

    def __len__(self) -> int:
        return int(self.traj_id.shape[0])

    @property
    def duration_s(self) -> FloatArray:
        return np.asarray(self.end_s - self.start_s)


def _window_ranges(
    lo: IntArray, hi: IntArray, *arrays: FloatArray
) -> list[tuple[FloatArray, FloatArray]]:
    """For each window ``[lo, hi]`` (inclusive) the (min, max) of each array."""
    n_win = lo.shape[0]
    length = hi - lo + 1
    level = np.floor(np.log2(np.maximum(length, 1))).astype(np.int64)
    out = [(np.empty(n_win), np.empty(n_win)) for _ in arrays]
    mins = [a.copy() for a in arrays]
    maxs = [a.copy() for a in arrays]
    top = int(level.max()) if n_win else 0
    for k in range(top + 1):  # loop over log2(window) levels, not over points
        sel = np.flatnonzero(level == k)
        if len(sel):
            a, b = lo[sel], hi[sel] - (1 << k) + 1
            for (omin, omax), mn, mx in zip(out, mins, maxs, strict=True):
                omin[sel] = np.minimum(mn[a], mn[b])
                omax[sel] = np.maximum(mx[a], mx[b])
        if k < top:
            step = 1 << k
            for mn, mx in zip(mins, maxs, strict=True):
                mn[:-step] = np.minimum(mn[:-step], mn[step:])
                mx[:-step] = np.maximum(mx[:-step], mx[step:])
    return out


def detect_stops(
    traj_id: npt.ArrayLike,
    t_s: npt.ArrayLike,
    x_m: npt.ArrayLike,
    y_m: npt.ArrayLike,
    *,
    max_diameter_m: float,
    min_duration_s: float,
) -> Stops:
    """Stops of every trajectory (points sorted by trajectory, then time)."""
    ids = np.asarray(traj_id, dtype=np.int64)
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(x_m, dtype=np.float64)
    y = np.asarray(y_m, dtype=np.float64)
    n = ids.shape[0]
    empty = Stops(*(np.zeros(0, dtype=d) for d in (np.int64, float, float, float, float, np.int64)))
    if n < 2:
        return empty
    # Trajectory index of each point and a time that grows across trajectories, so one
    # searchsorted finds j(i) without crossing into the next trajectory.
    change = np.r_[True, ids[1:] != ids[:-1]]
    seg = np.cumsum(change) - 1
    span = float(np.ptp(t)) + 2.0 * min_duration_s + 1.0
    key = t - t.min() + seg * span
    j = np.searchsorted(key, key + min_duration_s, side="left")
    valid = (j < n) & (seg[np.minimum(j, n - 1)] == seg)
    lo = np.flatnonzero(valid)
    hi = j[valid]
    (xmin, xmax), (ymin, ymax) = _window_ranges(lo, hi, x, y)
    still = np.hypot(xmax - xmin, ymax - ymin) < max_diameter_m
    lo, hi = lo[still], hi[still]
    if not len(lo):
        return empty
    cover = np.zeros(n + 1, dtype=np.int64)
    np.add.at(cover, lo, 1)
    np.add.at(cover, hi + 1, -1)
    inside = np.cumsum(cover[:n]) > 0
    start = inside & ~np.r_[False, inside[:-1]] | (inside & change)
    run = np.cumsum(start) - 1
    idx = np.flatnonzero(inside)
    run_of = run[idx]
    first = idx[np.r_[True, run_of[1:] != run_of[:-1]]]
    last = idx[np.r_[run_of[1:] != run_of[:-1], True]]
    count = (last - first + 1).astype(np.int64)
    csum_x = np.r_[0.0, np.cumsum(x)]
    csum_y = np.r_[0.0, np.cumsum(y)]
    return Stops(
        traj_id=ids[first],
        start_s=t[first],
        end_s=t[last],
        x_m=(csum_x[last + 1] - csum_x[first]) / count,
        y_m=(csum_y[last + 1] - csum_y[first]) / count,
        n_points=count,
    )


def cosines(u: FloatArray, v: FloatArray) -> FloatArray:
    """Row-wise cosine of the angle between vectors ``u`` and ``v`` (n, 2); 0 where either
    is zero."""
    norm = np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1)
    return np.asarray(np.einsum("ij,ij->i", u, v) / np.where(norm > 0, norm, np.inf))


def cluster_points(x_m: npt.ArrayLike, y_m: npt.ArrayLike, eps_m: float) -> IntArray:
    """Connected components of the "closer than ``eps_m``" graph (single linkage, DBSCAN
    with one point per core): a label per point, 0..k-1."""
    xy = np.column_stack([np.asarray(x_m, float), np.asarray(y_m, float)])
    n = xy.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    pairs = cKDTree(xy).query_pairs(eps_m, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)
