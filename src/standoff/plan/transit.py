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
    for _ in range(8):
        nodes = _reflex_corners(free.buffer(-tol).simplify(tol * 0.9))
        if len(nodes) <= _MAX_NODES:
            break
        tol *= 2.0
    # Corners far off the way cannot be on a short route: keep those inside an ellipse with
    # foci at the ends, widened step by step if no route is found.
    ends = np.asarray([start, goal], dtype=np.float64)
    direct = float(np.hypot(*(ends[1] - ends[0])))
    detour = (
        np.hypot(*(nodes - ends[0]).T) + np.hypot(*(nodes - ends[1]).T)
        if len(nodes)
        else np.empty(0)
    )
    for stretch in (1.3, 2.0, 4.0, np.inf):
        route = _route(free, ends, nodes[detour <= stretch * direct + 20_000.0])
        if route is not None:
            return route
    raise InfeasiblePlan("no legal transit route connects the base and the orbit")


def _route(free: BaseGeometry, ends: FloatArray, nodes: FloatArray) -> FloatArray | None:
    pts = np.vstack([ends, nodes])
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
        return None
    route = [1]
    while route[-1] != 0:
        route.append(int(pred[route[-1]]))
    return pts[route[::-1]]
