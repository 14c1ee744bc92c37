"""Shortest legal transit inside a free-space polygon (local metres): a visibility graph over
the free space's reflex corners, solved with Dijkstra."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from standoff.core.errors import InfeasiblePlan

__all__ = ["shortest_path"]

FloatArray = npt.NDArray[np.float64]

_MAX_NODES = 600


def _reflex_corners(free: BaseGeometry) -> FloatArray:
    """Corners of the free space where a shortest path can bend (its reflex vertices)."""
    out: list[FloatArray] = []
    for poly in shapely.get_parts(free):
        if not isinstance(poly, Polygon):
            continue
        poly = shapely.geometry.polygon.orient(poly, 1.0)  # exterior CCW, holes CW
        for ring in [poly.exterior, *poly.interiors]:
            c = np.asarray(ring.coords)[:-1]
            if len(c) < 3:
                continue
            prev = np.roll(c, 1, axis=0)
            nxt = np.roll(c, -1, axis=0)
            cross = (c[:, 0] - prev[:, 0]) * (nxt[:, 1] - c[:, 1]) - (c[:, 1] - prev[:, 1]) * (
                nxt[:, 0] - c[:, 0]
            )
            out.append(c[cross < 0])  # a right turn along a CCW-oriented ring is reflex
    return np.vstack(out) if out else np.empty((0, 2))


def shortest_path(
    free: BaseGeometry, start: tuple[float, float], goal: tuple[float, float]
) -> FloatArray:
    """Vertices (n, 2) of the shortest path from ``start`` to ``goal`` inside ``free``.

    Both ends must lie in ``free``.  The path bends only at reflex corners of a slightly
    shrunk and simplified copy of ``free``, so it stays inside ``free``.
    """
    shapely.prepare(free)
    if not free.covers(Point(start)) or not free.covers(Point(goal)):
        raise InfeasiblePlan("a transit end lies outside the flyable region")
    if free.covers(LineString([start, goal])):
        return np.asarray([start, goal], dtype=np.float64)
    tol = 100.0
    nodes = np.empty((0, 2))
    graph_free: BaseGeometry = free
    for _ in range(8):
        graph_free = free.buffer(-tol).simplify(tol * 0.9)
        nodes = _reflex_corners(graph_free)
        if len(nodes) <= _MAX_NODES:
            break
        tol *= 2.0
    pts = np.vstack([np.asarray([start, goal], dtype=np.float64), nodes])
    n = len(pts)
    i, j = np.triu_indices(n, k=1)
    lines = shapely.linestrings(np.stack([pts[i], pts[j]], axis=1))
    ok = shapely.covers(free, lines)
    i, j = i[ok], j[ok]
    w = np.hypot(*(pts[i] - pts[j]).T)
    graph = csr_matrix(
        (np.concatenate([w, w]), (np.concatenate([i, j]), np.concatenate([j, i]))), shape=(n, n)
    )
    dist, pred = dijkstra(graph, directed=False, indices=0, return_predecessors=True)
    if not np.isfinite(dist[1]):
        raise InfeasiblePlan("no legal transit route connects the base and the orbit")
    route = [1]
    while route[-1] != 0:
        route.append(int(pred[route[-1]]))
    return pts[route[::-1]]
