"""Batched interacting-multiple-model Kalman filtering: every function works on all
tracks (or all track/detection pairs) at once, with closed-form 2x2 and scalar
algebra instead of per-matrix linear-algebra calls.

Shapes: ``n`` tracks, ``M`` modes, ``K`` track/detection pairs; the state is
``[x_m, y_m, vx_mps, vy_mps]``.  A detection measures position (noise ``sigma_m``
per axis) and optionally radial velocity from a known sensor position; the two are
independent, so the update is done sequentially: position (linear, exact), then
radial velocity (linearised at the position-updated state).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "PairUpdate",
    "combine",
    "kron_square",
    "mix",
    "predict",
    "score_pairs",
    "update_pairs",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_MU_FLOOR = 1e-12
_LOG_2PI = float(np.log(2.0 * np.pi))


def mix(
    X: FloatArray,
    P: FloatArray,
    mu: FloatArray,
    pi: FloatArray,
    stopped: BoolArray,
    start_sigma_mps: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """IMM mixing: ``(n,M,4)``, ``(n,M,4,4)``, ``(n,M)`` -> mixed states and predicted ``mu``.

    A transition from a stopped mode into a moving one adds ``start_sigma_mps**2`` to the
    velocity variance (the vehicle drives off at an unknown velocity).
    """
    n, m = mu.shape
    c = np.maximum(mu @ pi, _MU_FLOOR)  # (n, M) predicted mode probabilities
    w = mu[:, :, None] * pi[None, :, :] / c[:, None, :]  # (n, i, j)
    second = (P + X[..., :, None] * X[..., None, :]).reshape(n, m, 16)
    wt = np.swapaxes(w, 1, 2)  # (n, j, i): batched small matmuls beat loops and einsum
    X0 = wt @ X
    P0 = (wt @ second).reshape(n, m, 4, 4) - X0[..., :, None] * X0[..., None, :]
    moving = ~stopped
    if stopped.any() and moving.any():
        ws = w[:, stopped, :].sum(axis=1)  # (n, j): weight arriving from stopped modes
        add = np.where(moving[None, :], ws, 0.0) * start_sigma_mps**2
        P0[:, :, 2, 2] += add
        P0[:, :, 3, 3] += add
    return X0, P0, c / c.sum(axis=1, keepdims=True)


def kron_square(F: FloatArray) -> FloatArray:
    """``(M,16,16)``: ``vec(F P F^T) = (F kron F) vec(P)`` for row-major ``vec``."""
    return np.stack([np.kron(f, f) for f in F])


def predict(
    X: FloatArray,
    P: FloatArray,
    F: FloatArray,
    Q: FloatArray,
    FF: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Kalman prediction per mode (``F``, ``Q``: ``(M,4,4)``) as one GEMM per mode;
    ``FF`` is :func:`kron_square` of ``F`` when the caller has it cached."""
    n, m = X.shape[0], X.shape[1]
    kk = kron_square(F) if FF is None else FF
    Xp = np.empty_like(X)
    Pp = np.empty_like(P)
    for k in range(m):
        Xp[:, k] = X[:, k] @ F[k].T
        Pp[:, k] = (P[:, k].reshape(n, 16) @ kk[k].T).reshape(n, 4, 4) + Q[k]
    return Xp, Pp


def combine(X: FloatArray, P: FloatArray, mu: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Moment-matched single Gaussian per track: ``(n,4)``, ``(n,4,4)``."""
    n, m = mu.shape
    x = (mu[:, None, :] @ X)[:, 0, :]
    d = X - x[:, None, :]
    spread = (P + d[..., :, None] * d[..., None, :]).reshape(n, m, 16)
    Pc = (mu[:, None, :] @ spread).reshape(n, 4, 4)
    return x, Pc


@dataclass(frozen=True, slots=True)
class PairUpdate:
    """Per pair and mode: the updated state, Mahalanobis distance and log density."""

    X: FloatArray  # (K, M, 4)
    P: FloatArray  # (K, M, 4, 4)
    d2: FloatArray  # (K, M)
    loglik: FloatArray  # (K, M)

    def take(self, idx: npt.NDArray[np.intp]) -> PairUpdate:
        """The rows ``idx`` of every array."""
        return PairUpdate(X=self.X[idx], P=self.P[idx], d2=self.d2[idx], loglik=self.loglik[idx])


def score_pairs(
    X: FloatArray,
    P: FloatArray,
    z_xy_m: FloatArray,
    var_m2: FloatArray,
    rv_mps: FloatArray,
    sensor_xy_m: FloatArray,
    has_rv: BoolArray,
    rv_var: float,
) -> tuple[FloatArray, FloatArray]:
    """Mahalanobis distance squared and log density per pair and mode, ``(K, M)`` each,
    without forming the updated states (see :func:`update_pairs` for the arguments)."""
    a = P[..., 0, 0] + var_m2[:, None]
    b = P[..., 0, 1]
    d = P[..., 1, 1] + var_m2[:, None]
    det = a * d - b * b
    nx = z_xy_m[:, None, 0] - X[..., 0]
    ny = z_xy_m[:, None, 1] - X[..., 1]
    d2 = (d * nx * nx - 2.0 * b * nx * ny + a * ny * ny) / det
    loglik = -0.5 * (d2 + np.log(det)) - _LOG_2PI
    if has_rv.any():
        k = np.flatnonzero(has_rv)
        full = update_pairs(
            X[k], P[k], z_xy_m[k], var_m2[k], rv_mps[k], sensor_xy_m[k], has_rv[k], rv_var
        )
        d2[k] = full.d2
        loglik[k] = full.loglik
    return d2, loglik


def update_pairs(
    X: FloatArray,
    P: FloatArray,
    z_xy_m: FloatArray,
    var_m2: FloatArray,
    rv_mps: FloatArray,
    sensor_xy_m: FloatArray,
    has_rv: BoolArray,
    rv_var: float,
) -> PairUpdate:
    """Update every mode of every pair: ``X (K,M,4)``, ``P (K,M,4,4)``, ``z_xy_m (K,2)``,
    ``var_m2 (K,)`` position variance per axis, ``rv_mps (K,)`` used where ``has_rv``."""
    # position: S = P[:2,:2] + R, closed-form 2x2 inverse
    a = P[..., 0, 0] + var_m2[:, None]
    b = P[..., 0, 1]
    d = P[..., 1, 1] + var_m2[:, None]
    det = a * d - b * b
    ia, ib, id_ = d / det, -b / det, a / det
    nx = z_xy_m[:, None, 0] - X[..., 0]
    ny = z_xy_m[:, None, 1] - X[..., 1]
    d2 = nx * (ia * nx + ib * ny) + ny * (ib * nx + id_ * ny)
    loglik = -0.5 * (d2 + np.log(det)) - _LOG_2PI
    c0 = P[..., :, 0]  # P H^T columns, (K,M,4)
    c1 = P[..., :, 1]
    g0 = c0 * ia[..., None] + c1 * ib[..., None]  # gain columns
    g1 = c0 * ib[..., None] + c1 * id_[..., None]
    Xu = X + g0 * nx[..., None] + g1 * ny[..., None]
    Pu = P - g0[..., :, None] * c0[..., None, :] - g1[..., :, None] * c1[..., None, :]
    if has_rv.any():
        k = np.flatnonzero(has_rv)
        Xk, Pk = Xu[k], Pu[k]
        rel = Xk[..., :2] - sensor_xy_m[k, None, :]
        rng = np.maximum(np.hypot(rel[..., 0], rel[..., 1]), 1.0)
        u = rel / rng[..., None]
        v = Xk[..., 2:]
        rv = (u * v).sum(axis=-1)
        h = np.concatenate([(v - rv[..., None] * u) / rng[..., None], u], axis=-1)  # (k,M,4)
        ph = (Pk @ h[..., None])[..., 0]
        s = (h * ph).sum(axis=-1) + rv_var
        nu = rv_mps[k, None] - rv
        g = ph / s[..., None]
        Xu[k] = Xk + g * nu[..., None]
        Pu[k] = Pk - g[..., :, None] * ph[..., None, :]
        d2[k] += nu * nu / s
        loglik[k] += -0.5 * (nu * nu / s + np.log(s) + _LOG_2PI)
    Pu = 0.5 * (Pu + np.swapaxes(Pu, -1, -2))
    return PairUpdate(X=Xu, P=Pu, d2=d2, loglik=loglik)
