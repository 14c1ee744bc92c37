"""Spatial gating: candidate track/detection pairs from a k-d tree, all tracks at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

__all__ = ["Gater", "KDTreeGater"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


class Gater(Protocol):
    """Coarse gate: pairs whose detection lies within ``radius_m`` of the track."""

    def pairs(
        self, track_xy_m: FloatArray, radius_m: FloatArray, det_xy_m: FloatArray
    ) -> tuple[IntArray, IntArray]:
        """Return ``(track_index, det_index)`` sorted by track then detection."""
        ...


@dataclass(frozen=True, slots=True)
class KDTreeGater:
    """Two k-d trees and one sparse distance query; per-track radii, capped."""

    max_radius_m: float = 5_000.0

    def pairs(
        self, track_xy_m: FloatArray, radius_m: FloatArray, det_xy_m: FloatArray
    ) -> tuple[IntArray, IntArray]:
        empty = np.zeros(0, dtype=np.intp)
        if track_xy_m.shape[0] == 0 or det_xy_m.shape[0] == 0:
            return empty, empty
        radius = np.minimum(radius_m, self.max_radius_m)
        t_tree = cKDTree(track_xy_m)
        d_tree = cKDTree(det_xy_m)
        found = t_tree.sparse_distance_matrix(d_tree, float(radius.max()), output_type="ndarray")
        ti = found["i"].astype(np.intp)
        dj = found["j"].astype(np.intp)
        keep = found["v"] <= radius[ti]
        ti, dj = ti[keep], dj[keep]
        order = np.lexsort((dj, ti))
        return ti[order], dj[order]
