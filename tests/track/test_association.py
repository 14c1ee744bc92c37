"""Associators against brute-force enumeration of every joint association event."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from standoff.track.association import GNNAssociator, HybridAssociator, JPDAAssociator


def _events(ti: np.ndarray, dj: np.ndarray, n: int):  # type: ignore[no-untyped-def]
    """Every feasible joint event: per track, one of its pairs or none; no det shared."""
    options = [[-1, *np.flatnonzero(ti == i).tolist()] for i in range(n)]
    for combo in itertools.product(*options):
        used = [dj[k] for k in combo if k >= 0]
        if len(used) == len(set(used)):
            yield combo


def _brute(ti, dj, w, w0, n):  # type: ignore[no-untyped-def]
    best, best_val = None, -np.inf
    beta = np.zeros(ti.size)
    beta0 = np.zeros(n)
    total = 0.0
    for combo in _events(ti, dj, n):
        val = 1.0
        for i, k in enumerate(combo):
            val *= w[k] if k >= 0 else w0[i]
        total += val
        for i, k in enumerate(combo):
            if k >= 0:
                beta[k] += val
            else:
                beta0[i] += val
        if val > best_val:
            best, best_val = combo, val
    return best, beta / total, beta0 / total


@st.composite
def _problem(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 4))
    nd = draw(st.integers(1, 4))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, nd - 1)),
            min_size=0,
            max_size=8,
            unique=True,
        )
    )
    pairs.sort()
    ti = np.array([p[0] for p in pairs], dtype=np.intp)
    dj = np.array([p[1] for p in pairs], dtype=np.intp)
    w = np.array(draw(st.lists(st.floats(0.01, 100.0), min_size=len(pairs), max_size=len(pairs))))
    w0 = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=n, max_size=n)))
    return ti, dj, w, w0, n, nd


@settings(max_examples=150, deadline=None)
@given(_problem())
def test_gnn_finds_the_most_likely_joint_event(problem) -> None:  # type: ignore[no-untyped-def]
    ti, dj, w, w0, n, nd = problem
    best, _, _ = _brute(ti, dj, w, w0, n)
    got = GNNAssociator().associate(ti, dj, w, w0, nd)
    chosen = set(np.flatnonzero(got.beta > 0.5).tolist())

    # value of our event equals the best value (ties allowed)
    def value(sel: set[int]) -> float:
        v = 1.0
        for i in range(n):
            ks = [k for k in sel if ti[k] == i]
            v *= w[ks[0]] if ks else w0[i]
        return v

    assert value(chosen) == pytest.approx(value({k for k in best if k >= 0}), rel=1e-9)
    assert len({dj[k] for k in chosen}) == len(chosen)


def _is_forest(ti: np.ndarray, dj: np.ndarray, n: int) -> bool:
    parent = list(range(n + 64))

    def find(a: int) -> int:
        while parent[a] != a:
            a = parent[a]
        return a

    for a, b in zip(ti.tolist(), (dj + n).tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra == rb:
            return False
        parent[ra] = rb
    return True


@settings(max_examples=150, deadline=None)
@given(_problem())
def test_jpda_marginals_are_exact_on_tree_clusters(problem) -> None:  # type: ignore[no-untyped-def]
    ti, dj, w, w0, n, nd = problem
    if not _is_forest(ti, dj, n):
        return
    _, beta, beta0 = _brute(ti, dj, w, w0, n)
    got = JPDAAssociator().associate(ti, dj, w, w0, nd)
    np.testing.assert_allclose(got.beta, beta, atol=1e-6)
    np.testing.assert_allclose(got.beta0, beta0, atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(_problem())
def test_hybrid_probabilities_are_consistent(problem) -> None:  # type: ignore[no-untyped-def]
    ti, dj, w, w0, n, nd = problem
    got = HybridAssociator().associate(ti, dj, w, w0, nd)
    per_track = np.bincount(ti, got.beta, minlength=n) + got.beta0
    np.testing.assert_allclose(per_track, 1.0, atol=1e-9)
    per_det = np.bincount(dj, got.beta, minlength=nd)
    assert np.all(per_det <= 1.0 + 1e-9)
