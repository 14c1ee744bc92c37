"""Scoring tracks against truth: GOSPA and CLEAR-MOT identity switches, vectorised.

GOSPA (Rahmathullah, Garcia-Fernandez, Svensson 2017) with ``p = 1``, ``alpha = 2``:
per scan, the optimal assignment of truths to tracks with cost ``min(d, c)``, plus
``c / 2`` for every missed truth and every false track; the mean over scans is
returned.  Identity switches follow CLEAR MOT (Bernardin and Stiefelhagen 2008): per
scan, a truth keeps its previous track while that track is within ``c``; the others
are assigned optimally among pairs closer than ``c``; a switch is counted whenever a
truth is matched to a track different from the last one it was matched to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

__all__ = ["Score", "score_tracks"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Score:
    gospa_m: float
    localisation_m: float
    missed_per_scan: float
    false_per_scan: float
    id_switches: int


def _groups(time_s: FloatArray) -> dict[float, npt.NDArray[np.intp]]:
    order = np.argsort(time_s, kind="stable")
    t_sorted = time_s[order]
    starts = np.flatnonzero(np.r_[True, t_sorted[1:] != t_sorted[:-1]])
    return {
        float(t_sorted[a]): order[a:b]
        for a, b in zip(starts, np.r_[starts[1:], t_sorted.size], strict=True)
    }


def score_tracks(
    truth_time_s: FloatArray,
    truth_id: IntArray,
    truth_xy_m: FloatArray,
    track_time_s: FloatArray,
    track_id: IntArray,
    track_xy_m: FloatArray,
    *,
    c_m: float = 100.0,
) -> Score:
    """Score tracks against truth over the truth's scan times."""
    tg = _groups(truth_time_s)
    kg = _groups(track_time_s)
    empty = np.zeros(0, dtype=np.intp)
    total = 0.0
    loc: list[float] = []
    missed = false = 0
    switches = 0
    current: dict[int, int] = {}
    last: dict[int, int] = {}
    for t in sorted(tg):
        ti = tg[t]
        ki = kg.get(t, empty)
        T = truth_xy_m[ti]
        E = track_xy_m[ki]
        D = np.hypot(T[:, None, 0] - E[None, :, 0], T[:, None, 1] - E[None, :, 1])
        matched = 0
        if ti.size and ki.size:
            r, c = linear_sum_assignment(np.minimum(D, c_m))
            d = D[r, c]
            ok = d < c_m
            loc.extend(d[ok].tolist())
            matched = int(ok.sum())
            total += float(d[ok].sum())
        total += c_m / 2.0 * (ti.size - matched + ki.size - matched)
        missed += ti.size - matched
        false += ki.size - matched
        # CLEAR MOT correspondences
        tids = truth_id[ti].tolist()
        kids = track_id[ki].tolist()
        kpos = {k: j for j, k in enumerate(kids)}
        used_t: set[int] = set()
        used_k: set[int] = set()  # columns (positions in this scan), not track ids
        new_current: dict[int, int] = {}
        for i, tid in enumerate(tids):
            k = current.get(tid)
            if k is not None and k in kpos and D[i, kpos[k]] < c_m and kpos[k] not in used_k:
                new_current[tid] = k
                used_t.add(i)
                used_k.add(kpos[k])
        free_t = [i for i in range(len(tids)) if i not in used_t]
        free_k = [j for j in range(len(kids)) if j not in used_k]
        if free_t and free_k:
            sub = D[np.ix_(free_t, free_k)]
            r, c = linear_sum_assignment(np.where(sub < c_m, sub, 1e9))
            for a, b in zip(r, c, strict=True):
                if sub[a, b] < c_m:
                    tid, k = tids[free_t[a]], kids[free_k[b]]
                    if tid in last and last[tid] != k:
                        switches += 1
                    new_current[tid] = k
        for tid, k in new_current.items():
            last[tid] = k
        current = new_current
    n_scans = max(len(tg), 1)
    return Score(
        gospa_m=total / n_scans,
        localisation_m=float(np.mean(loc)) if loc else float("nan"),
        missed_per_scan=missed / n_scans,
        false_per_scan=false / n_scans,
        id_switches=switches,
    )
