"""The batched filter against a textbook one-target Kalman filter."""

from __future__ import annotations

import numpy as np

from standoff.track.imm import combine, mix, predict, update_pairs
from standoff.track.models import Mode, ModeSet


def test_batched_predict_and_update_equal_the_textbook_kalman_filter() -> None:
    rng = np.random.default_rng(0)
    n = 7
    A = rng.normal(size=(n, 1, 4, 4))
    P = A @ np.swapaxes(A, -1, -2) + 10.0 * np.eye(4)
    X = rng.normal(size=(n, 1, 4)) * 100.0
    F, Q = ModeSet(modes=(Mode("ct", 0.3, 1e9, turn_rate_degps=3.0),)).matrices(10.0)
    Xp, Pp = predict(X, P, F, Q)
    for i in range(n):
        np.testing.assert_allclose(Xp[i, 0], F[0] @ X[i, 0])
        np.testing.assert_allclose(Pp[i, 0], F[0] @ P[i, 0] @ F[0].T + Q[0])
    z = rng.normal(size=(n, 2)) * 50.0 + Xp[:, 0, :2]
    var = rng.uniform(100.0, 900.0, n)
    upd = update_pairs(
        Xp, Pp, z, var, np.full(n, np.nan), np.zeros((n, 2)), np.zeros(n, dtype=bool), 1.0
    )
    H = np.eye(2, 4)
    for i in range(n):
        S = H @ Pp[i, 0] @ H.T + var[i] * np.eye(2)
        K = Pp[i, 0] @ H.T @ np.linalg.inv(S)
        nu = z[i] - H @ Xp[i, 0]
        np.testing.assert_allclose(upd.X[i, 0], Xp[i, 0] + K @ nu)
        np.testing.assert_allclose(upd.P[i, 0], (np.eye(4) - K @ H) @ Pp[i, 0], atol=1e-8)
        d2 = nu @ np.linalg.solve(S, nu)
        np.testing.assert_allclose(upd.d2[i, 0], d2)
        expected = -0.5 * (d2 + np.log(np.linalg.det(S))) - np.log(2.0 * np.pi)
        np.testing.assert_allclose(upd.loglik[i, 0], expected)


def test_mixing_preserves_the_overall_mean_and_probabilities() -> None:
    rng = np.random.default_rng(1)
    n, m = 5, 3
    X = rng.normal(size=(n, m, 4))
    A = rng.normal(size=(n, m, 4, 4))
    P = A @ np.swapaxes(A, -1, -2) + np.eye(4)
    mu = rng.dirichlet(np.ones(m), n)
    pi = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    X0, P0, c = mix(X, P, mu, pi, np.zeros(m, dtype=bool), 5.0)
    np.testing.assert_allclose(c, mu @ pi)
    x_before, _ = combine(X, P, mu)
    x_after, _ = combine(X0, P0, c)
    np.testing.assert_allclose(x_after, x_before, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(P0) > 0.0)
