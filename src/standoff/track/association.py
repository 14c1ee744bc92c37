"""Data association on gated pairs, solved per connected cluster.

Every associator receives, per gated pair ``k`` (track ``ti[k]``, detection ``dj[k]``),
the weight ``w[k] = r * sum_m mu_m pd_m g_m / clutter_density`` of "detection from
track" against "detection is clutter" (weight 1), and per track the weight
``w0 = 1 - r * pd`` of "track missed or absent".  It returns association
probabilities ``beta`` per pair and ``beta0`` per track (one-hot for GNN).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

__all__ = [
    "Association",
    "Associator",
    "GNNAssociator",
    "HybridAssociator",
    "JPDAAssociator",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Association:
    """``beta (K,)`` per pair, ``beta0 (n,)`` per track, ``det_claimed (d,)``."""

    beta: FloatArray
    beta0: FloatArray
    det_claimed: BoolArray


class Associator(Protocol):
    def associate(
        self,
        ti: IntArray,
        dj: IntArray,
        w: FloatArray,
        w0: FloatArray,
        n_dets: int,
    ) -> Association: ...


def _clusters(ti: IntArray, dj: IntArray, n_tracks: int, n_dets: int) -> tuple[IntArray, int]:
    """Connected components of the bipartite gate graph; labels for tracks then dets.

    Pairs whose track and detection each have no other pair are components by
    themselves; the rest is labelled by min-label propagation (as many rounds as the
    largest cluster is wide), so the common case costs a few array operations.
    """
    labels = np.arange(n_tracks + n_dets, dtype=np.intp)
    if ti.size:
        deg_t = np.bincount(ti, minlength=n_tracks)
        deg_d = np.bincount(dj, minlength=n_dets)
        busy = (deg_t[ti] > 1) | (deg_d[dj] > 1)
        labels[n_tracks + dj[~busy]] = ti[~busy]
        a, b = ti[busy], n_tracks + dj[busy]
        while a.size:
            lab = np.minimum(labels[a], labels[b])
            before = labels.copy()
            np.minimum.at(labels, a, lab)
            np.minimum.at(labels, b, lab)
            labels = labels[labels]  # pointer jumping
            if np.array_equal(labels, before):
                break
    uniq, inv = np.unique(labels, return_inverse=True)
    return inv.astype(np.intp), int(uniq.size)


def _gnn(
    ti: IntArray,
    dj: IntArray,
    score: FloatArray,
    pair_comp: IntArray,
    comp_tracks: IntArray,
    comp_dets: IntArray,
    active: BoolArray,
) -> BoolArray:
    """Maximise the summed log-likelihood ratio per cluster; ``active`` selects pairs."""
    chosen = np.zeros(ti.shape[0], dtype=bool)
    simple = active & ((comp_tracks[pair_comp] == 1) | (comp_dets[pair_comp] == 1))
    idx = np.flatnonzero(simple)
    if idx.size:
        order = idx[np.lexsort((-score[idx], pair_comp[idx]))]
        first = np.ones(order.size, dtype=bool)
        first[1:] = pair_comp[order][1:] != pair_comp[order][:-1]
        chosen[order[first]] = True
    hard = np.flatnonzero(active & ~simple)
    if hard.size:
        order = hard[np.argsort(pair_comp[hard], kind="stable")]
        bounds = np.flatnonzero(np.diff(pair_comp[order])) + 1
        for grp in np.split(order, bounds):
            tracks, t_loc = np.unique(ti[grp], return_inverse=True)
            dets, d_loc = np.unique(dj[grp], return_inverse=True)
            nt, nd = tracks.size, dets.size
            big = 1e9
            cost = np.full((nt, nd + nt), big)
            cost[t_loc, d_loc] = -score[grp]
            cost[np.arange(nt), nd + np.arange(nt)] = 0.0
            rows, cols = linear_sum_assignment(cost)
            lookup = np.full((nt, nd), -1, dtype=np.intp)
            lookup[t_loc, d_loc] = grp
            ok = cols < nd
            picked = lookup[rows[ok], cols[ok]]
            chosen[picked[picked >= 0]] = True
    return chosen


def _lbp(
    ti: IntArray,
    dj: IntArray,
    w: FloatArray,
    w0: FloatArray,
    n_tracks: int,
    n_dets: int,
    iterations: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """JPDA marginals by loopy belief propagation (Williams & Lau, 2014), all pairs at once.

    Exact on clusters whose gate graph is a tree; returns ``beta``, ``beta0`` and the
    clutter probability of every detection.
    """
    nu = np.ones_like(w)
    mu = w.copy()
    for _ in range(iterations):
        s_t = w0 + np.bincount(ti, w * nu, minlength=n_tracks)
        mu = w / np.maximum(s_t[ti] - w * nu, 1e-300)
        s_d = 1.0 + np.bincount(dj, mu, minlength=n_dets)
        nu_new = 1.0 / np.maximum(s_d[dj] - mu, 1e-300)
        if np.max(np.abs(nu_new - nu), initial=0.0) < 1e-6:
            nu = nu_new
            break
        nu = nu_new
    s_t = w0 + np.bincount(ti, w * nu, minlength=n_tracks)
    s_d = 1.0 + np.bincount(dj, mu, minlength=n_dets)
    clutter: FloatArray = np.asarray(1.0 / s_d, dtype=np.float64)
    return w * nu / s_t[ti], w0 / s_t, clutter


@dataclass(frozen=True, slots=True)
class GNNAssociator:
    """Global nearest neighbour: optimal one-to-one assignment per cluster."""

    def associate(
        self, ti: IntArray, dj: IntArray, w: FloatArray, w0: FloatArray, n_dets: int
    ) -> Association:
        n = w0.shape[0]
        labels, n_comp = _clusters(ti, dj, n, n_dets)
        comp_tracks = np.bincount(labels[:n], minlength=n_comp)
        comp_dets = np.bincount(labels[n:], minlength=n_comp)
        score = np.log(w) - np.log(w0[ti])
        chosen = _gnn(ti, dj, score, labels[ti], comp_tracks, comp_dets, score > 0.0)
        beta = chosen.astype(np.float64)
        beta0: FloatArray = 1.0 - np.bincount(ti, beta, minlength=n).astype(np.float64)
        claimed = np.zeros(n_dets, dtype=bool)
        claimed[dj[chosen]] = True
        return Association(beta=beta, beta0=beta0, det_claimed=claimed)


@dataclass(frozen=True, slots=True)
class JPDAAssociator:
    """Joint probabilistic data association everywhere (marginals by belief propagation)."""

    iterations: int = 30

    def associate(
        self, ti: IntArray, dj: IntArray, w: FloatArray, w0: FloatArray, n_dets: int
    ) -> Association:
        beta, beta0, clutter = _lbp(ti, dj, w, w0, w0.shape[0], n_dets, self.iterations)
        return Association(beta=beta, beta0=beta0, det_claimed=clutter < 0.5)


@dataclass(frozen=True, slots=True)
class HybridAssociator:
    """GNN where a cluster holds one track; JPDA where several tracks compete."""

    iterations: int = 30

    def associate(
        self, ti: IntArray, dj: IntArray, w: FloatArray, w0: FloatArray, n_dets: int
    ) -> Association:
        n = w0.shape[0]
        labels, n_comp = _clusters(ti, dj, n, n_dets)
        comp_tracks = np.bincount(labels[:n], minlength=n_comp)
        comp_dets = np.bincount(labels[n:], minlength=n_comp)
        pair_comp = labels[ti]
        dense = (comp_tracks[pair_comp] > 1) & (comp_dets[pair_comp] > 1)
        score = np.log(w) - np.log(w0[ti])
        chosen = _gnn(ti, dj, score, pair_comp, comp_tracks, comp_dets, (score > 0.0) & ~dense)
        beta = chosen.astype(np.float64)
        claimed = np.zeros(n_dets, dtype=bool)
        claimed[dj[chosen]] = True
        if dense.any():
            k = np.flatnonzero(dense)
            b, _, clutter = _lbp(ti[k], dj[k], w[k], w0, n, n_dets, self.iterations)
            beta[k] = b
            in_dense = np.zeros(n_dets, dtype=bool)
            in_dense[dj[k]] = True
            claimed |= in_dense & (clutter < 0.5)
        beta0 = np.clip(1.0 - np.bincount(ti, beta, minlength=n), 0.0, 1.0)
        return Association(beta=beta, beta0=beta0, det_claimed=claimed)
