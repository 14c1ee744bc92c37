"""Compiled scan kernel: one call per scan runs the whole default pipeline.

This is the fast path of :class:`~standoff.track.tracker.Tracker` for its built-in
components (any :class:`~standoff.track.models.MotionModel`, :class:`KDTreeGater`,
:class:`GNNAssociator` / :class:`JPDAAssociator` / :class:`HybridAssociator`,
:class:`SinglePointInitiator`, :class:`ExistenceDeleter`).  It computes exactly what
the numpy path in ``tracker.py`` computes, step for step (a test runs both on the
same scans), but as loops compiled by numba over the track arrays, so a scan costs
tens of microseconds of fixed overhead instead of hundreds of numpy calls.

State layout (capacity ``C`` rows, ``n`` live; ``M`` modes):

* ``X (C,M,4)``, ``P (C,M,4,4)``, ``mu (C,M)``;
* ``tf (C,TF)`` floats: r, r_vis, last hit time, position at the last hit, birth time;
* ``tn (C,TN)`` ints: track id, hits, misses, confirmed, parent id, uid;
* parked tracks ``pf (Cp,PF)`` floats (stationary position, its variance, position
  and time when last seen, time parked) and ``pn (Cp,2)`` ints (id, moving).

Parameters travel in one float array (``PAR_*`` indices).  numba compiles on first
use and caches the machine code on disk (``cache=True``).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

_numba: Any
try:  # numba is a dependency; without it the tracker uses its numpy path
    _numba = importlib.import_module("numba")
except ImportError:  # pragma: no cover - exercised only without numba
    _numba = None

__all__ = ["AVAILABLE", "combine_rows", "scan"]

AVAILABLE = _numba is not None

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_F = TypeVar("_F", bound=Callable[..., Any])


def _jit(fn: _F) -> _F:
    if _numba is None:  # pragma: no cover
        return fn
    return cast(_F, _numba.njit(cache=True, nogil=True, error_model="numpy")(fn))


# parameter vector
PAR_PD = 0
PAR_DENSITY = 1
PAR_GATE = 2
PAR_RV_VAR = 3
PAR_R_CONFIRM = 4
PAR_R_REPORT = 5
PAR_R_VIS_FLOOR = 6
PAR_PARK_MISSES = 7
PAR_PARK_MU = 8
PAR_MAX_STOPPED = 9
PAR_MAX_LOST = 10
PAR_MAX_SPEED = 11
PAR_START_SIGMA = 12
PAR_SURVIVE = 13
PAR_ASSOC = 14  # 0 GNN, 1 JPDA, 2 hybrid
PAR_ITERATIONS = 15
PAR_INIT_SIGMA_V = 16
PAR_INIT_SIGMA_RV = 17
PAR_INIT_R0 = 18
PAR_INIT_STOPPED = 19
PAR_DEL_R_MIN = 20
PAR_DEL_TENTATIVE = 21
PAR_DEL_MAX_COAST = 22
PAR_MAX_RADIUS = 23
PAR_SIGMA_HINT = 24
PAR_SEES_STOPPED = 25
PAR_LAGGED = 26
PAR_T = 27
PAR_DT = 28
PAR_FP_ON = 29
PAR_FP_X = 30
PAR_FP_Y = 31
PAR_FP_RMIN = 32
PAR_FP_RMAX = 33
PAR_FP_C = 34
PAR_FP_H = 35
N_PAR = 36

# track float columns
TF_R = 0
TF_RVIS = 1
TF_LAST = 2
TF_SX = 3
TF_SY = 4
TF_BORN = 5
N_TF = 6
# track int columns
TN_ID = 0
TN_HITS = 1
TN_MISSES = 2
TN_CONF = 3
TN_PARENT = 4
TN_UID = 5
N_TN = 6
# parked float columns
PF_X = 0
PF_Y = 1
PF_VAR = 2
PF_SX = 3
PF_SY = 4
PF_SEEN = 5
PF_PARKED = 6
N_PF = 7
# parked int columns
PN_ID = 0
PN_MOVING = 1
N_PN = 2

_LOG_2PI = math.log(2.0 * math.pi)


@_jit
def combine_rows(
    X: FloatArray, P: FloatArray, mu: FloatArray, n: int, x_out: FloatArray, P_out: FloatArray
) -> None:
    """Moment-matched Gaussian of rows ``0..n-1`` into ``x_out (n,4)``, ``P_out (n,4,4)``."""
    m = mu.shape[1]
    for i in range(n):
        for a in range(4):
            s = 0.0
            for j in range(m):
                s += mu[i, j] * X[i, j, a]
            x_out[i, a] = s
        for a in range(4):
            for b in range(4):
                s = 0.0
                for j in range(m):
                    da = X[i, j, a] - x_out[i, a]
                    db = X[i, j, b] - x_out[i, b]
                    s += mu[i, j] * (P[i, j, a, b] + da * db)
                P_out[i, a, b] = s


@_jit
def _predict(
    X: FloatArray,
    P: FloatArray,
    mu: FloatArray,
    n: int,
    pi: FloatArray,
    F: FloatArray,
    Q: FloatArray,
    stopped: BoolArray,
    start_sigma: float,
) -> None:
    """IMM mixing and per-mode Kalman prediction, in place."""
    m = mu.shape[1]
    any_stop = False
    any_move = False
    for j in range(m):
        if stopped[j]:
            any_stop = True
        else:
            any_move = True
    c = np.empty(m)
    w = np.empty((m, m))
    X0 = np.empty((m, 4))
    P0 = np.empty((m, 4, 4))
    T = np.empty((4, 4))
    s2 = start_sigma * start_sigma
    for i in range(n):
        for j in range(m):
            s = 0.0
            for k in range(m):
                s += mu[i, k] * pi[k, j]
            c[j] = max(s, 1e-12)
        for k in range(m):
            for j in range(m):
                w[k, j] = mu[i, k] * pi[k, j] / c[j]
        for j in range(m):
            for a in range(4):
                s = 0.0
                for k in range(m):
                    s += w[k, j] * X[i, k, a]
                X0[j, a] = s
            for a in range(4):
                for b in range(4):
                    s = 0.0
                    for k in range(m):
                        s += w[k, j] * (P[i, k, a, b] + X[i, k, a] * X[i, k, b])
                    P0[j, a, b] = s - X0[j, a] * X0[j, b]
            if any_stop and any_move and not stopped[j]:
                ws = 0.0
                for k in range(m):
                    if stopped[k]:
                        ws += w[k, j]
                P0[j, 2, 2] += ws * s2
                P0[j, 3, 3] += ws * s2
        tot = 0.0
        for j in range(m):
            tot += c[j]
        for j in range(m):
            mu[i, j] = c[j] / tot
            Fj = F[j]
            for a in range(4):
                s = 0.0
                for b in range(4):
                    s += Fj[a, b] * X0[j, b]
                X[i, j, a] = s
            for a in range(4):
                for b in range(4):
                    s = 0.0
                    for k in range(4):
                        s += Fj[a, k] * P0[j, k, b]
                    T[a, b] = s
            for a in range(4):
                for b in range(4):
                    s = 0.0
                    for k in range(4):
                        s += T[a, k] * Fj[b, k]
                    P[i, j, a, b] = s + Q[j, a, b]


@_jit
def _update_one(
    x: FloatArray,
    Pm: FloatArray,
    zx: float,
    zy: float,
    var: float,
    has_rv: bool,
    rv: float,
    sx: float,
    sy: float,
    rv_var: float,
    xo: FloatArray,
    Po: FloatArray,
) -> tuple[float, float]:
    """Kalman update of one mode with one detection; returns ``(d2, loglik)``."""
    a = Pm[0, 0] + var
    b = Pm[0, 1]
    d = Pm[1, 1] + var
    det = a * d - b * b
    ia = d / det
    ib = -b / det
    id_ = a / det
    nx = zx - x[0]
    ny = zy - x[1]
    d2 = nx * (ia * nx + ib * ny) + ny * (ib * nx + id_ * ny)
    loglik = -0.5 * (d2 + math.log(det)) - _LOG_2PI
    g0 = np.empty(4)
    g1 = np.empty(4)
    for r in range(4):
        c0 = Pm[r, 0]
        c1 = Pm[r, 1]
        g0[r] = c0 * ia + c1 * ib
        g1[r] = c0 * ib + c1 * id_
    for r in range(4):
        xo[r] = x[r] + g0[r] * nx + g1[r] * ny
    for r in range(4):
        for s in range(4):
            Po[r, s] = Pm[r, s] - g0[r] * Pm[s, 0] - g1[r] * Pm[s, 1]
    if has_rv:
        relx = xo[0] - sx
        rely = xo[1] - sy
        rng = max(math.hypot(relx, rely), 1.0)
        ux = relx / rng
        uy = rely / rng
        vx = xo[2]
        vy = xo[3]
        rvp = ux * vx + uy * vy
        h = np.empty(4)
        h[0] = (vx - rvp * ux) / rng
        h[1] = (vy - rvp * uy) / rng
        h[2] = ux
        h[3] = uy
        ph = np.empty(4)
        for r in range(4):
            acc = 0.0
            for k in range(4):
                acc += Po[r, k] * h[k]
            ph[r] = acc
        sv = rv_var
        for r in range(4):
            sv += h[r] * ph[r]
        nu = rv - rvp
        for r in range(4):
            xo[r] += ph[r] / sv * nu
        for r in range(4):
            for s in range(4):
                Po[r, s] -= ph[r] / sv * ph[s]
        d2 += nu * nu / sv
        loglik += -0.5 * (nu * nu / sv + math.log(sv) + _LOG_2PI)
    for r in range(4):
        for s in range(r + 1, 4):
            v = 0.5 * (Po[r, s] + Po[s, r])
            Po[r, s] = v
            Po[s, r] = v
    return d2, loglik


@_jit
def _gate(
    X: FloatArray,
    P: FloatArray,
    mu: FloatArray,
    n: int,
    dx: FloatArray,
    dy: FloatArray,
    gate: float,
    max_sig: float,
    max_radius: float,
) -> tuple[IntArray, IntArray]:
    """Gated pairs ``(track, detection)`` sorted by track then detection, via a grid."""
    m = mu.shape[1]
    nd = dx.shape[0]
    xc = np.empty(n)
    yc = np.empty(n)
    rad = np.empty(n)
    rmax = 0.0
    for i in range(n):
        cx = 0.0
        cy = 0.0
        for j in range(m):
            cx += mu[i, j] * X[i, j, 0]
            cy += mu[i, j] * X[i, j, 1]
        vmax = 0.0
        spread = 0.0
        for j in range(m):
            mv = P[i, j, 0, 0] + P[i, j, 1, 1]
            vmax = max(vmax, mv)
            ddx = X[i, j, 0] - cx
            ddy = X[i, j, 1] - cy
            spread += mu[i, j] * (mv + ddx * ddx + ddy * ddy)
        r = gate * math.sqrt(max(vmax, spread) + 2.0 * max_sig * max_sig)
        r = min(r, max_radius)
        xc[i] = cx
        yc[i] = cy
        rad[i] = r
        rmax = max(rmax, r)
    if n == 0 or nd == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    xmin = dx[0]
    xmax = dx[0]
    ymin = dy[0]
    ymax = dy[0]
    for k in range(nd):
        xmin = min(xmin, dx[k])
        xmax = max(xmax, dx[k])
        ymin = min(ymin, dy[k])
        ymax = max(ymax, dy[k])
    cell = max(rmax, 1.0)
    while True:
        nxc = int((xmax - xmin) / cell) + 1
        nyc = int((ymax - ymin) / cell) + 1
        if nxc * nyc <= 4 * nd + 64:
            break
        cell *= 2.0
    ncell = nxc * nyc
    start = np.zeros(ncell + 1, dtype=np.int64)
    cid = np.empty(nd, dtype=np.int64)
    for k in range(nd):
        c = int((dx[k] - xmin) / cell) * nyc + int((dy[k] - ymin) / cell)
        cid[k] = c
        start[c + 1] += 1
    for c in range(ncell):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    order = np.empty(nd, dtype=np.int64)
    for k in range(nd):  # ascending detection index within each cell
        order[fill[cid[k]]] = k
        fill[cid[k]] += 1
    cap = 4 * (n + nd) + 16
    ti = np.empty(cap, dtype=np.int64)
    dj = np.empty(cap, dtype=np.int64)
    K = 0
    for i in range(n):
        r = rad[i]
        r2 = r * r
        gx0 = max(math.floor((xc[i] - r - xmin) / cell), 0)
        gx1 = min(math.floor((xc[i] + r - xmin) / cell), nxc - 1)
        gy0 = max(math.floor((yc[i] - r - ymin) / cell), 0)
        gy1 = min(math.floor((yc[i] + r - ymin) / cell), nyc - 1)
        first = K
        for gx in range(gx0, gx1 + 1):
            for gy in range(gy0, gy1 + 1):
                c = gx * nyc + gy
                for q in range(start[c], start[c + 1]):
                    k = order[q]
                    ex = dx[k] - xc[i]
                    ey = dy[k] - yc[i]
                    if ex * ex + ey * ey <= r2:
                        if cap == K:
                            cap *= 2
                            t2 = np.empty(cap, dtype=np.int64)
                            d3 = np.empty(cap, dtype=np.int64)
                            t2[:K] = ti[:K]
                            d3[:K] = dj[:K]
                            ti = t2
                            dj = d3
                        ti[K] = i
                        dj[K] = k
                        K += 1
        # insertion sort of this track's detections
        for a in range(first + 1, K):
            v = dj[a]
            b = a - 1
            while b >= first and dj[b] > v:
                dj[b + 1] = dj[b]
                b -= 1
            dj[b + 1] = v
    return ti[:K], dj[:K]


@_jit
def _find(parent: IntArray, a: int) -> int:
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


@_jit
def _components(ti: IntArray, dj: IntArray, n: int, nd: int) -> tuple[IntArray, IntArray, IntArray]:
    """Component root of every pair, and the number of tracks / detections per root."""
    parent = np.arange(n + nd)
    for k in range(ti.shape[0]):
        a = _find(parent, ti[k])
        b = _find(parent, n + dj[k])
        if a != b:
            if a < b:
                parent[b] = a
            else:
                parent[a] = b
    n_t = np.zeros(n + nd, dtype=np.int64)
    n_d = np.zeros(n + nd, dtype=np.int64)
    for i in range(n):
        n_t[_find(parent, i)] += 1
    for k in range(nd):
        n_d[_find(parent, n + k)] += 1
    comp = np.empty(ti.shape[0], dtype=np.int64)
    for k in range(ti.shape[0]):
        comp[k] = _find(parent, ti[k])
    return comp, n_t, n_d


@_jit
def _lsa(cost: FloatArray) -> IntArray:
    """Column of each row minimising the total (rows <= columns): the shortest
    augmenting path algorithm of scipy's ``linear_sum_assignment`` (Crouse 2016)."""
    nr, nc = cost.shape
    u = np.zeros(nr)
    v = np.zeros(nc)
    spc = np.empty(nc)
    path = np.full(nc, -1, dtype=np.int64)
    col4row = np.full(nr, -1, dtype=np.int64)
    row4col = np.full(nc, -1, dtype=np.int64)
    SR = np.zeros(nr, dtype=np.bool_)
    SC = np.zeros(nc, dtype=np.bool_)
    remaining = np.empty(nc, dtype=np.int64)
    for cur in range(nr):
        min_val = 0.0
        i = cur
        num_rem = nc
        for it in range(nc):
            remaining[it] = nc - it - 1
        SR[:] = False
        SC[:] = False
        spc[:] = np.inf
        sink = -1
        while sink == -1:
            index = -1
            lowest = np.inf
            SR[i] = True
            for it in range(num_rem):
                j = remaining[it]
                r = min_val + cost[i, j] - u[i] - v[j]
                if r < spc[j]:
                    path[j] = i
                    spc[j] = r
                if spc[j] < lowest or (spc[j] == lowest and row4col[j] == -1):
                    lowest = spc[j]
                    index = it
            min_val = lowest
            if min_val == np.inf:  # infeasible (cannot happen with dummy columns)
                return col4row
            j = remaining[index]
            if row4col[j] == -1:
                sink = j
            else:
                i = row4col[j]
            SC[j] = True
            num_rem -= 1
            remaining[index] = remaining[num_rem]
        u[cur] += min_val
        for r in range(nr):
            if SR[r] and r != cur:
                u[r] += min_val - spc[col4row[r]]
        for c in range(nc):
            if SC[c]:
                v[c] -= min_val - spc[c]
        j = sink
        while True:
            r = path[j]
            row4col[j] = r
            tmp = col4row[r]
            col4row[r] = j
            j = tmp
            if r == cur:
                break
    return col4row


@_jit
def _gnn(
    ti: IntArray,
    dj: IntArray,
    score: FloatArray,
    comp: IntArray,
    n_t: IntArray,
    n_d: IntArray,
    active: BoolArray,
    chosen: BoolArray,
) -> None:
    """Best joint assignment per component among ``active`` pairs (see association.py)."""
    K = ti.shape[0]
    nroot = n_t.shape[0]
    best = np.full(nroot, -1, dtype=np.int64)
    hard_any = False
    for k in range(K):
        if not active[k]:
            continue
        c = comp[k]
        if n_t[c] == 1 or n_d[c] == 1:
            b = best[c]
            if b < 0 or score[k] > score[b]:
                best[c] = k
        else:
            hard_any = True
    for c in range(nroot):
        if best[c] >= 0:
            chosen[best[c]] = True
    if not hard_any:
        return
    idx = np.empty(K, dtype=np.int64)
    h = 0
    for k in range(K):
        c = comp[k]
        if active[k] and not (n_t[c] == 1 or n_d[c] == 1):
            idx[h] = k
            h += 1
    idx = idx[:h]
    order = idx[np.argsort(comp[idx], kind="mergesort")]
    a = 0
    while a < h:
        b = a
        while b < h and comp[order[b]] == comp[order[a]]:
            b += 1
        grp = order[a:b]
        tracks = np.unique(ti[grp])
        dets = np.unique(dj[grp])
        nt = tracks.shape[0]
        ndd = dets.shape[0]
        cost = np.full((nt, ndd + nt), 1e9)
        lookup = np.full((nt, ndd), -1, dtype=np.int64)
        for q in range(grp.shape[0]):
            k = grp[q]
            r = np.searchsorted(tracks, ti[k])
            c = np.searchsorted(dets, dj[k])
            cost[r, c] = -score[k]
            lookup[r, c] = k
        for r in range(nt):
            cost[r, ndd + r] = 0.0
        cols = _lsa(cost)
        for r in range(nt):
            c = cols[r]
            if c < ndd and lookup[r, c] >= 0:
                chosen[lookup[r, c]] = True
        a = b


@_jit
def _lbp(
    ti: IntArray,
    dj: IntArray,
    w: FloatArray,
    w0: FloatArray,
    n: int,
    nd: int,
    iterations: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """JPDA marginals by loopy belief propagation (see association.py)."""
    K = ti.shape[0]
    nu = np.ones(K)
    mu = w.copy()
    nu_new = np.empty(K)
    s_t = np.empty(n)
    s_d = np.empty(nd)
    for _ in range(iterations):
        s_t[:] = w0[:n]
        for k in range(K):
            s_t[ti[k]] += w[k] * nu[k]
        for k in range(K):
            mu[k] = w[k] / max(s_t[ti[k]] - w[k] * nu[k], 1e-300)
        s_d[:] = 1.0
        for k in range(K):
            s_d[dj[k]] += mu[k]
        change = 0.0
        for k in range(K):
            nu_new[k] = 1.0 / max(s_d[dj[k]] - mu[k], 1e-300)
            change = max(change, abs(nu_new[k] - nu[k]))
        nu[:] = nu_new
        if change < 1e-6:
            break
    s_t[:] = w0[:n]
    for k in range(K):
        s_t[ti[k]] += w[k] * nu[k]
    s_d[:] = 1.0
    for k in range(K):
        s_d[dj[k]] += mu[k]
    beta = np.empty(K)
    for k in range(K):
        beta[k] = w[k] * nu[k] / s_t[ti[k]]
    beta0 = np.empty(n)
    for i in range(n):
        beta0[i] = w0[i] / s_t[i]
    clutter = np.empty(nd)
    for k in range(nd):
        clutter[k] = 1.0 / s_d[k]
    return beta, beta0, clutter


@_jit
def _associate(
    ti: IntArray,
    dj: IntArray,
    w: FloatArray,
    w0: FloatArray,
    n: int,
    nd: int,
    kind: int,
    iterations: int,
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """``beta`` per pair, ``beta0`` per track, claimed detections (association.py)."""
    K = ti.shape[0]
    claimed = np.zeros(nd, dtype=np.bool_)
    if kind == 1:
        beta, beta0, clutter = _lbp(ti, dj, w, w0, n, nd, iterations)
        for k in range(nd):
            claimed[k] = clutter[k] < 0.5
        return beta, beta0, claimed
    comp, n_t, n_d = _components(ti, dj, n, nd)
    score = np.empty(K)
    for k in range(K):
        score[k] = math.log(w[k]) - math.log(w0[ti[k]])
    active = np.empty(K, dtype=np.bool_)
    dense = np.zeros(K, dtype=np.bool_)
    n_dense = 0
    for k in range(K):
        c = comp[k]
        if kind == 2 and n_t[c] > 1 and n_d[c] > 1:
            dense[k] = True
            n_dense += 1
        active[k] = score[k] > 0.0 and not dense[k]
    chosen = np.zeros(K, dtype=np.bool_)
    _gnn(ti, dj, score, comp, n_t, n_d, active, chosen)
    beta = np.zeros(K)
    for k in range(K):
        if chosen[k]:
            beta[k] = 1.0
            claimed[dj[k]] = True
    if n_dense:
        idx = np.flatnonzero(dense)
        b, _, clutter = _lbp(ti[idx], dj[idx], w[idx], w0, n, nd, iterations)
        for q in range(idx.shape[0]):
            beta[idx[q]] = b[q]
            if clutter[dj[idx[q]]] < 0.5:
                claimed[dj[idx[q]]] = True
    beta0 = np.ones(n)
    for k in range(K):
        beta0[ti[k]] -= beta[k]
    if kind == 2:
        for i in range(n):
            beta0[i] = min(max(beta0[i], 0.0), 1.0)
    return beta, beta0, claimed


@_jit
def _parents(
    px: FloatArray,
    py: FloatArray,
    born: FloatArray,
    moving: bool,
    tf: FloatArray,
    tn: IntArray,
    n: int,
    pf: FloatArray,
    pn: IntArray,
    npk: int,
    par: FloatArray,
) -> IntArray:
    """The most likely out-of-sight confirmed track within reach of each position
    (``Tracker._parents``); with ``moving``, none seen after ``born``."""
    t = par[PAR_T]
    k = px.shape[0]
    out = np.zeros(k, dtype=np.int64)
    if k == 0:
        return out
    # candidates: parked entries first, then coasting confirmed tracks
    cap = npk + n
    cx = np.empty(cap)
    cy = np.empty(cap)
    reach = np.empty(cap)
    cseen = np.full(cap, -np.inf)
    cid = np.empty(cap, dtype=np.int64)
    nc = 0
    if moving:
        base = par[PAR_GATE] * par[PAR_SIGMA_HINT]
        for q in range(npk + n):
            if q < npk:
                unseen = t - pf[q, PF_SEEN]
                sx, sy = pf[q, PF_SX], pf[q, PF_SY]
                ident = pn[q, PN_ID]
            else:
                i = q - npk
                if not (tn[i, TN_CONF] == 1 and tn[i, TN_MISSES] >= 1):
                    continue
                unseen = t - tf[i, TF_LAST]
                sx, sy = tf[i, TF_SX], tf[i, TF_SY]
                ident = tn[i, TN_ID]
            if unseen > par[PAR_MAX_LOST]:
                continue
            cx[nc] = sx
            cy[nc] = sy
            reach[nc] = base + par[PAR_MAX_SPEED] * unseen
            cseen[nc] = t - unseen
            cid[nc] = ident
            nc += 1
    else:
        step = par[PAR_START_SIGMA] * max(par[PAR_DT], 1.0)
        drive_off = step * step
        for q in range(npk):
            if pn[q, PN_MOVING] == 1:
                continue
            cx[nc] = pf[q, PF_X]
            cy[nc] = pf[q, PF_Y]
            reach[nc] = par[PAR_GATE] * math.sqrt(pf[q, PF_VAR] + drive_off)
            cid[nc] = pn[q, PN_ID]
            nc += 1
    if nc == 0:
        return out
    g = par[PAR_GATE]
    for a in range(k):
        best = np.inf
        for q in range(nc):
            ratio = math.hypot(px[a] - cx[q], py[a] - cy[q]) / reach[q]
            if ratio > 1.0 or (moving and cseen[q] > born[a]):
                continue
            # the most likely under a Gaussian of standard deviation reach / gate
            score = 0.5 * (g * ratio) ** 2 + 2.0 * math.log(reach[q] / g)
            if score < best:
                best = score
                out[a] = cid[q]
    return out


@_jit
def scan(
    X: FloatArray,
    P: FloatArray,
    mu: FloatArray,
    tf: FloatArray,
    tn: IntArray,
    n: int,
    pf: FloatArray,
    pn: IntArray,
    npk: int,
    det_x: FloatArray,
    det_y: FloatArray,
    det_sig: FloatArray,
    det_rv: FloatArray,
    det_sx: FloatArray,
    det_sy: FloatArray,
    pi: FloatArray,
    F: FloatArray,
    Q: FloatArray,
    stopped: BoolArray,
    par: FloatArray,
    next_id: int,
    det_rows: IntArray,
    rep_i: IntArray,
    rep_f: FloatArray,
    snap_x: FloatArray,
    snap_P: FloatArray,
) -> tuple[int, int, int, int]:
    """One scan of ``Tracker._step_one`` on the arrays, in place.

    Returns ``(n, npk, next_id, n_report)`` after the scan.  The capacity of the
    track arrays must be at least ``n + len(det_x)`` and that of the parked arrays
    at least ``npk + n``.  ``rep_i[:n_report]`` holds (track id, detection row) and
    ``rep_f[:n_report]`` the state of every reported track; ``det_rows[:n]`` the
    detection each live track reports.  In lagged use ``snap_x (2,C,4)`` and
    ``snap_P (2,C,4,4)`` receive the moment-matched states after prediction (``[0]``,
    rows as before the scan) and after the scan (``[1]``, rows as after).
    """
    m = mu.shape[1]
    nd = det_x.shape[0]
    t = par[PAR_T]
    dt = par[PAR_DT]
    pd = par[PAR_PD]
    density = max(par[PAR_DENSITY], 1e-12)
    gate = par[PAR_GATE]
    rv_var = par[PAR_RV_VAR]
    sees_stopped = par[PAR_SEES_STOPPED] > 0.5
    lagged = par[PAR_LAGGED] > 0.5

    # predict ----------------------------------------------------------------------
    if n and dt > 0.0:
        _predict(X, P, mu, n, pi, F, Q, stopped, par[PAR_START_SIGMA])
        if lagged:
            combine_rows(X, P, mu, n, snap_x[0], snap_P[0])
        for i in range(n):
            tf[i, TF_R] *= par[PAR_SURVIVE]
            tf[i, TF_RVIS] *= par[PAR_SURVIVE]

    has_rv = np.empty(nd, dtype=np.bool_)
    max_sig = 0.0
    for k in range(nd):
        has_rv[k] = np.isfinite(det_rv[k]) and np.isfinite(det_sx[k]) and np.isfinite(det_sy[k])
        max_sig = max(max_sig, det_sig[k])

    # gating and scoring -------------------------------------------------------------
    pd_miss = np.empty(m)
    for j in range(m):
        pd_miss[j] = 0.0 if stopped[j] else pd
    miss_eff = np.empty(n)
    w0 = np.empty(n)
    for i in range(n):
        s = 0.0
        for j in range(m):
            s += mu[i, j] * pd_miss[j]
        miss_eff[i] = s
        w0[i] = max(1.0 - tf[i, TF_R] * s, 1e-12)
    if n and nd:
        ti, dj = _gate(X, P, mu, n, det_x, det_y, gate, max_sig, par[PAR_MAX_RADIUS])
    else:
        ti = np.zeros(0, dtype=np.int64)
        dj = np.zeros(0, dtype=np.int64)
    K0 = ti.shape[0]
    dens = np.empty((K0, m))
    lik = np.empty(K0)
    w = np.empty(K0)
    xo = np.empty(4)
    Po = np.empty((4, 4))
    K = 0
    for k in range(K0):
        i = ti[k]
        q = dj[k]
        var = det_sig[q] * det_sig[q]
        total = 0.0
        d2_live = np.inf
        for j in range(m):
            if has_rv[q]:
                d2, ll = _update_one(
                    X[i, j], P[i, j], det_x[q], det_y[q], var, True,
                    det_rv[q], det_sx[q], det_sy[q], rv_var, xo, Po,
                )  # fmt: skip
            else:
                a = P[i, j, 0, 0] + var
                b = P[i, j, 0, 1]
                d = P[i, j, 1, 1] + var
                det = a * d - b * b
                nx = det_x[q] - X[i, j, 0]
                ny = det_y[q] - X[i, j, 1]
                d2 = (d * nx * nx - 2.0 * b * nx * ny + a * ny * ny) / det
                ll = -0.5 * (d2 + math.log(det)) - _LOG_2PI
            pdp = pd if sees_stopped else pd_miss[j]
            v = pdp * math.exp(ll) * mu[i, j]
            dens[K, j] = v
            total += v
            if mu[i, j] > 1e-4 and d2 < d2_live:
                d2_live = d2
        if not (total > 0.0 and d2_live < gate * gate):
            continue
        wk = tf[i, TF_R] * total / density
        if not (wk > 1e-4 * w0[i]):
            continue
        ti[K] = i
        dj[K] = q
        lik[K] = total
        w[K] = wk
        K += 1
    ti = ti[:K]
    dj = dj[:K]
    beta, beta0, claimed = _associate(
        ti, dj, w[:K], w0, n, nd, int(par[PAR_ASSOC]), int(par[PAR_ITERATIONS])
    )

    # update -------------------------------------------------------------------------
    count_misses = not sees_stopped
    hit_w = np.zeros(n)
    hit_a = np.zeros(n)
    for k in range(K):
        hit_w[ti[k]] += beta[k] * w[k]
        hit_a[ti[k]] += beta[k] * lik[k] / density
    Xs = np.empty((m, 4))
    Ss = np.empty((m, 4, 4))
    mu_new = np.empty(m)
    mu_old = np.empty(m)
    k0 = 0
    for i in range(n):
        while k0 < K and ti[k0] < i:
            k0 += 1
        k1 = k0
        while k1 < K and ti[k1] == i:
            k1 += 1
        outside = False  # predicted outside the scan's footprint (ScanFootprint.contains)
        if par[PAR_FP_ON] > 0.0:
            ex_ = 0.0
            ey_ = 0.0
            for j in range(m):
                ex_ += mu[i, j] * X[i, j, 0]
                ey_ += mu[i, j] * X[i, j, 1]
            ddx = ex_ - par[PAR_FP_X]
            ddy = ey_ - par[PAR_FP_Y]
            rg = math.sqrt(ddx * ddx + ddy * ddy)
            off = abs((math.atan2(ddx, ddy) - par[PAR_FP_C] + math.pi) % (2 * math.pi) - math.pi)
            outside = rg > par[PAR_FP_RMAX] or rg < par[PAR_FP_RMIN] or off > par[PAR_FP_H]
        for j in range(m):
            mu_old[j] = mu[i, j]
        r_old = tf[i, TF_R]
        rvis_old = tf[i, TF_RVIS]
        misses_old = tn[i, TN_MISSES]
        miss_mix = max(1.0 - miss_eff[i], 1e-12)
        om0_sum = 0.0
        for j in range(m):
            mu_new[j] = beta0[i] * mu[i, j] * (1.0 - pd_miss[j]) / miss_mix
            om0_sum += mu_new[j]
        n_used = 0
        for k in range(k0, k1):
            if beta[k] > 1e-6:
                n_used += 1
        if n_used:
            copy = n_used == 1 and om0_sum <= 0.0
            if not copy:
                for j in range(m):
                    om0 = mu_new[j]
                    for a in range(4):
                        Xs[j, a] = om0 * X[i, j, a]
                    for a in range(4):
                        for b in range(4):
                            Ss[j, a, b] = om0 * (P[i, j, a, b] + X[i, j, a] * X[i, j, b])
            q_x = np.empty((m, 4))
            q_P = np.empty((m, 4, 4))
            for k in range(k0, k1):
                if not beta[k] > 1e-6:
                    continue
                q = dj[k]
                var = det_sig[q] * det_sig[q]
                for j in range(m):
                    _update_one(
                        X[i, j], P[i, j], det_x[q], det_y[q], var, has_rv[q],
                        det_rv[q], det_sx[q], det_sy[q], rv_var, xo, Po,
                    )  # fmt: skip
                    omk = beta[k] * dens[k, j] / lik[k]
                    mu_new[j] += omk
                    if copy:
                        q_x[j] = xo
                        q_P[j] = Po
                    else:
                        for a in range(4):
                            Xs[j, a] += omk * xo[a]
                        for a in range(4):
                            for b in range(4):
                                Ss[j, a, b] += omk * (Po[a, b] + xo[a] * xo[b])
            if copy:
                X[i] = q_x
                P[i] = q_P
            else:
                for j in range(m):
                    tot = mu_new[j]
                    if tot > 1e-12:
                        for a in range(4):
                            X[i, j, a] = Xs[j, a] / tot
                        for a in range(4):
                            for b in range(4):
                                Ss[j, a, b] = Ss[j, a, b] / tot - X[i, j, a] * X[i, j, b]
                        for a in range(4):
                            for b in range(4):
                                P[i, j, a, b] = 0.5 * (Ss[j, a, b] + Ss[j, b, a])
        tot = 0.0
        for j in range(m):
            tot += mu_new[j]
        tot2 = 0.0
        for j in range(m):
            v = max(mu_new[j] / tot, 1e-6)
            mu_new[j] = v
            tot2 += v
        for j in range(m):
            mu[i, j] = mu_new[j] / tot2
        # existence (IPDA), and the same with every miss counted, for reporting
        hard_hit = beta0[i] <= 0.0 and hit_w[i] > 0.0
        b0 = w0[i] / (w0[i] + max(hit_w[i], 1e-300)) if hard_hit else beta0[i]
        tf[i, TF_R] = 1.0 - b0 + b0 * r_old * (1.0 - miss_eff[i]) / w0[i]
        w0v = 1.0 - rvis_old * pd
        p_hit = 1.0 - min(max(beta0[i], 0.0), 1.0)
        a_hit = hit_a[i] / max(p_hit, 1e-12)
        r_hit = rvis_old * (a_hit + 1.0 - pd) / (w0v + rvis_old * a_hit)
        r_miss = rvis_old * (1.0 - pd) / w0v
        tf[i, TF_RVIS] = max(p_hit * r_hit + (1.0 - p_hit) * r_miss, par[PAR_R_VIS_FLOOR])
        hit = beta0[i] < 0.5
        if hit:
            tn[i, TN_HITS] += 1
            tn[i, TN_MISSES] = 0
            tf[i, TF_LAST] = t
            for c, a in ((TF_SX, 0), (TF_SY, 1)):
                s = 0.0
                for j in range(m):
                    s += mu[i, j] * X[i, j, a]
                tf[i, c] = s
        else:
            tn[i, TN_MISSES] += 1
        if (not count_misses or outside) and beta0[i] >= 1.0 - 1e-9:
            for j in range(m):
                mu[i, j] = mu_old[j]
            tf[i, TF_R] = r_old
            tf[i, TF_RVIS] = rvis_old
            tn[i, TN_MISSES] = misses_old
        det_rows[i] = -1
        for k in range(k0, k1):
            if beta[k] > 0.5:
                det_rows[i] = dj[k]
        k0 = k1

    # confirmation, take-over, parking, deletion -------------------------------------
    newly = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        if tn[i, TN_CONF] == 0 and tf[i, TF_R] >= par[PAR_R_CONFIRM]:
            tn[i, TN_CONF] = 1
            newly[i] = True
    orphans = np.empty(n, dtype=np.int64)
    n_orph = 0
    for i in range(n):
        if not newly[i]:
            continue
        p = tn[i, TN_PARENT]
        valid = False
        for q in range(npk):
            if pn[q, PN_ID] == p:
                valid = True
                break
        if not valid:
            for r in range(n):
                if tn[r, TN_CONF] == 1 and tn[r, TN_MISSES] >= 1 and tn[r, TN_ID] == p:
                    valid = True
                    break
        if not valid:
            orphans[n_orph] = i
            n_orph += 1
    if n_orph:
        ox = np.empty(n_orph)
        oy = np.empty(n_orph)
        for a in range(n_orph):
            i = orphans[a]
            sx = 0.0
            sy = 0.0
            for j in range(m):
                sx += mu[i, j] * X[i, j, 0]
                sy += mu[i, j] * X[i, j, 1]
            ox[a] = sx
            oy[a] = sy
        found = _parents(ox, oy, tf[orphans[:n_orph], TF_BORN], True, tf, tn, n, pf, pn, npk, par)
        for a in range(n_orph):
            tn[orphans[a], TN_PARENT] = found[a]
    # take-over: a newly confirmed track whose parent is still out of sight
    taken = np.zeros(n, dtype=np.bool_)
    pk_keep = np.ones(npk, dtype=np.bool_)
    used = np.zeros(n + 1, dtype=np.int64)
    n_used = 0
    for c in range(n):
        if not (newly[c] and tn[c, TN_PARENT] > 0):
            continue
        parent = tn[c, TN_PARENT]
        seen = False
        for u in range(n_used):
            if used[u] == parent:
                seen = True
        if not seen:
            row = -1
            for r in range(n):
                if (
                    tn[r, TN_CONF] == 1
                    and tn[r, TN_MISSES] >= 1
                    and not newly[r]
                    and tn[r, TN_ID] == parent
                ):
                    row = r
                    break
            pq = -1
            for q in range(npk):
                if pn[q, PN_ID] == parent:
                    pq = q
                    break
            born = tf[c, TF_BORN]
            if row >= 0 and tf[row, TF_LAST] > born:
                row = -1  # seen after the new track's first scan: another vehicle
            if pq >= 0 and pf[pq, PF_SEEN] > born:
                pq = -1
            if pq >= 0 or row >= 0:
                used[n_used] = parent
                n_used += 1
                if row >= 0:
                    taken[row] = True
                if pq >= 0:
                    pk_keep[pq] = False
                tn[c, TN_ID] = parent
        tn[c, TN_PARENT] = 0
    # parked: drop the taken-over and expired entries, keep the order
    w_pk = 0
    for q in range(npk):
        if not pk_keep[q]:
            continue
        if pn[q, PN_MOVING] == 1:
            ok = (t - pf[q, PF_SEEN]) <= par[PAR_MAX_LOST]
        else:
            ok = (t - pf[q, PF_PARKED]) <= par[PAR_MAX_STOPPED]
        if not ok:
            continue
        if w_pk != q:
            pf[w_pk] = pf[q]
            pn[w_pk] = pn[q]
        w_pk += 1
    npk = w_pk
    stay = np.ones(n, dtype=np.bool_)
    wst = np.empty(m)
    for i in range(n):
        mu_stop = 0.0
        for j in range(m):
            if stopped[j]:
                mu_stop += mu[i, j]
        conf = tn[i, TN_CONF] == 1
        park = conf and tn[i, TN_MISSES] >= par[PAR_PARK_MISSES] and mu_stop >= par[PAR_PARK_MU]
        drop = (
            tf[i, TF_R] < par[PAR_DEL_R_MIN]
            or (not conf and tn[i, TN_MISSES] >= par[PAR_DEL_TENTATIVE])
            or (t - tf[i, TF_LAST]) > par[PAR_DEL_MAX_COAST]
        )
        park = park and not drop and not taken[i]
        lost = drop and conf and not taken[i]
        drop = drop or taken[i]
        if park or lost:
            # stationary hypothesis: moment match over the stopped modes only
            any_s = False
            for j in range(m):
                if stopped[j]:
                    any_s = True
            tot = 0.0
            for j in range(m):
                wst[j] = mu[i, j] if (stopped[j] or not any_s) else 0.0
                tot += wst[j]
            n_sel = 0
            for j in range(m):
                if stopped[j] or not any_s:
                    n_sel += 1
            for j in range(m):
                if tot > 0.0:
                    wst[j] = wst[j] / max(tot, 1e-300)
                else:
                    wst[j] = (1.0 if (stopped[j] or not any_s) else 0.0) / n_sel
            ex = 0.0
            ey = 0.0
            for j in range(m):
                ex += wst[j] * X[i, j, 0]
                ey += wst[j] * X[i, j, 1]
            var = 0.0
            for j in range(m):
                ddx = X[i, j, 0] - ex
                ddy = X[i, j, 1] - ey
                var += wst[j] * (P[i, j, 0, 0] + ddx * ddx + P[i, j, 1, 1] + ddy * ddy)
            pf[npk, PF_X] = ex
            pf[npk, PF_Y] = ey
            pf[npk, PF_VAR] = var
            pf[npk, PF_SX] = tf[i, TF_SX]
            pf[npk, PF_SY] = tf[i, TF_SY]
            pf[npk, PF_SEEN] = tf[i, TF_LAST]
            pf[npk, PF_PARKED] = t
            pn[npk, PN_ID] = tn[i, TN_ID]
            pn[npk, PN_MOVING] = 1 if lost else 0
            npk += 1
        stay[i] = not (drop or park)

    # initiation (before compaction: parents are looked up among all current rows)
    n_free = 0
    for q in range(nd):
        if not claimed[q]:
            n_free += 1
    free = np.empty(n_free, dtype=np.int64)
    a = 0
    for q in range(nd):
        if not claimed[q]:
            free[a] = q
            a += 1
    birth = np.zeros(n_free, dtype=np.int64)
    if n_free:
        fx = det_x[free]
        fy = det_y[free]
        now = np.full(n_free, t)
        birth = _parents(fx, fy, now, False, tf, tn, n, pf, pn, npk, par)
        none = np.flatnonzero(birth == 0)
        if none.shape[0]:
            more = _parents(fx[none], fy[none], now[none], True, tf, tn, n, pf, pn, npk, par)
            for b in range(none.shape[0]):
                birth[none[b]] = more[b]

    # compaction, then the new tracks -------------------------------------------------
    w_i = 0
    for i in range(n):
        if not stay[i]:
            continue
        if w_i != i:
            X[w_i] = X[i]
            P[w_i] = P[i]
            mu[w_i] = mu[i]
            tf[w_i] = tf[i]
            tn[w_i] = tn[i]
            det_rows[w_i] = det_rows[i]
        w_i += 1
    n = w_i
    sv = par[PAR_INIT_SIGMA_V]
    srv = par[PAR_INIT_SIGMA_RV]
    n_stop = 0
    for j in range(m):
        if stopped[j]:
            n_stop += 1
    n_move = m - n_stop
    for a in range(n_free):
        q = free[a]
        i = n + a
        var = det_sig[q] * det_sig[q]
        vx = 0.0
        vy = 0.0
        pvv = np.zeros((2, 2))
        pvv[0, 0] = sv * sv
        pvv[1, 1] = sv * sv
        if has_rv[q]:
            relx = det_x[q] - det_sx[q]
            rely = det_y[q] - det_sy[q]
            rng = max(math.hypot(relx, rely), 1.0)
            ux = relx / rng
            uy = rely / rng
            vx = det_rv[q] * ux
            vy = det_rv[q] * uy
            uu = ((ux * ux, ux * uy), (uy * ux, uy * uy))
            for r in range(2):
                for c in range(2):
                    eye = 1.0 if r == c else 0.0
                    pvv[r, c] = sv * sv * (eye - uu[r][c]) + srv * srv * uu[r][c]
        for j in range(m):
            X[i, j, 0] = det_x[q]
            X[i, j, 1] = det_y[q]
            X[i, j, 2] = 0.0 if stopped[j] else vx
            X[i, j, 3] = 0.0 if stopped[j] else vy
            P[i, j] = 0.0
            P[i, j, 0, 0] = var
            P[i, j, 1, 1] = var
            P[i, j, 2, 2] = pvv[0, 0]
            P[i, j, 2, 3] = pvv[0, 1]
            P[i, j, 3, 2] = pvv[1, 0]
            P[i, j, 3, 3] = pvv[1, 1]
            if stopped[j]:
                mu[i, j] = par[PAR_INIT_STOPPED] / max(n_stop, 1)
            else:
                prior = par[PAR_INIT_STOPPED] if n_stop > 0 else 0.0
                mu[i, j] = (1.0 - prior) / max(n_move, 1)
        tf[i, TF_R] = par[PAR_INIT_R0]
        tf[i, TF_RVIS] = par[PAR_INIT_R0]
        tf[i, TF_LAST] = t
        tf[i, TF_BORN] = t
        tf[i, TF_SX] = det_x[q]
        tf[i, TF_SY] = det_y[q]
        tn[i, TN_ID] = next_id
        tn[i, TN_UID] = next_id
        tn[i, TN_HITS] = 1
        tn[i, TN_MISSES] = 0
        tn[i, TN_CONF] = 0
        tn[i, TN_PARENT] = birth[a]
        det_rows[i] = q
        next_id += 1
    n += n_free

    # report ---------------------------------------------------------------------------
    n_rep = 0
    for i in range(n):
        if tn[i, TN_CONF] == 1 and tf[i, TF_RVIS] > par[PAR_R_REPORT]:
            rep_i[n_rep, 0] = tn[i, TN_ID]
            rep_i[n_rep, 1] = det_rows[i]
            for a in range(4):
                s = 0.0
                for j in range(m):
                    s += mu[i, j] * X[i, j, a]
                rep_f[n_rep, a] = s
            n_rep += 1
    if lagged:
        combine_rows(X, P, mu, n, snap_x[1], snap_P[1])
    return n, npk, next_id, n_rep


@_jit
def _rows_of(uid: IntArray, within: IntArray) -> IntArray:
    """Row of each ``uid`` in ``within`` (unique values), -1 if absent."""
    out = np.full(uid.shape[0], -1, dtype=np.int64)
    if within.shape[0] == 0:
        return out
    order = np.argsort(within, kind="mergesort")
    srt = within[order]
    for a in range(uid.shape[0]):
        p = np.searchsorted(srt, uid[a])
        if p < srt.shape[0] and srt[p] == uid[a]:
            out[a] = order[p]
    return out


@_jit
def smoothed_report(
    prev_uid: IntArray,
    prev_track_id: IntArray,
    prev_confirmed: BoolArray,
    prev_hit: BoolArray,
    prev_r_vis: FloatArray,
    prev_x: FloatArray,
    prev_P: FloatArray,
    cur_uid: IntArray,
    cur_track_id: IntArray,
    cur_confirmed: BoolArray,
    cur_x: FloatArray,
    pred_uid: IntArray,
    pred_x: FloatArray,
    pred_P: FloatArray,
    dt: float,
    has_next: bool,
    r_report: float,
    gate: float,
) -> tuple[IntArray, IntArray, FloatArray]:
    """``tracker._smoothed_report`` on arrays: rows of ``prev`` to report (one per
    identity), their identities now, and their smoothed states ``(k, 4)``."""
    n = prev_uid.shape[0]
    x = prev_x.copy()
    track_id = prev_track_id.copy()
    report = np.empty(n, dtype=np.bool_)
    late = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        report[i] = prev_confirmed[i] and prev_r_vis[i] > r_report
    if has_next and n:
        c = _rows_of(prev_uid, cur_uid)
        q = _rows_of(prev_uid, pred_uid)
        F = np.eye(4)
        F[0, 2] = dt
        F[1, 3] = dt
        for i in range(n):
            ci = c[i]
            qi = q[i]
            if ci < 0 or qi < 0:
                continue
            if cur_confirmed[ci] and prev_hit[i] and not report[i]:
                late[i] = True
            track_id[i] = cur_track_id[ci]
            gain = prev_P[i] @ F.T @ np.linalg.inv(pred_P[qi])  # RTS smoother gain
            x[i] = prev_x[i] + gain @ (cur_x[ci] - pred_x[qi])
    # a track confirmed since is reported at prev unless it lies within the gate of a
    # track already reported there (then it is probably a second track on that vehicle)
    base = np.flatnonzero(report)
    trace = np.empty(n)  # position variance of each row, once
    for i in range(n):
        trace[i] = prev_P[i, 0, 0] + prev_P[i, 1, 1]
    for i in range(n):
        if not late[i]:
            continue
        near = False
        for b in base:
            dx = x[i, 0] - x[b, 0]
            dy = x[i, 1] - x[b, 1]
            if dx * dx + dy * dy < gate * gate * 0.5 * (trace[i] + trace[b]):
                near = True
                break
        if not near:
            report[i] = True
    rep = np.flatnonzero(report)
    key = np.empty(rep.shape[0], dtype=np.int64)
    for a in range(rep.shape[0]):
        key[a] = 2 * track_id[rep[a]] + (0 if prev_hit[rep[a]] else 1)
    order = rep[np.argsort(key, kind="mergesort")]
    keep = np.ones(order.shape[0], dtype=np.bool_)
    for a in range(1, order.shape[0]):
        keep[a] = track_id[order[a]] != track_id[order[a - 1]]
    order = order[keep]
    return order, track_id[order], x[order]
