"""A road map for the analysis: the roads of the area as a graph in the run's local frame.

The map is what an analyst has of the ground (a public road map; for a simulated run, the
simulated world's roads, ``roads.geojson`` in the run folder), never the truth of who drove
where.  Lines are cut into pieces of at most ``step_m``; their ends are the graph's nodes,
and lines that share an end position (to 1 cm) meet there.  The corridor step uses it to
carry a route across stretches the radar could not see (see ``intel/routes.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from standoff.geo.frame import LocalFrame
from standoff.geo.lines import read_lines_geojson

__all__ = ["RoadMap", "path_to_source", "read_roads"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RoadMap:
    """Nodes (local metres) and the symmetric graph of road pieces between them (metres)."""

    x_m: FloatArray
    y_m: FloatArray
    graph: csr_matrix
    source: str = "roads"

    @classmethod
    def from_lines(
        cls, lines: list[tuple[FloatArray, FloatArray]], step_m: float = 100.0, source: str = ""
    ) -> RoadMap:
        """The map of polylines given as ``(x_m, y_m)`` arrays."""
        ax = np.concatenate([x[:-1] for x, _ in lines])
        ay = np.concatenate([y[:-1] for _, y in lines])
        bx = np.concatenate([x[1:] for x, _ in lines])
        by = np.concatenate([y[1:] for _, y in lines])
        seg = np.hypot(bx - ax, by - ay)
        keep = seg > 0
        ax, ay, bx, by, seg = ax[keep], ay[keep], bx[keep], by[keep], seg[keep]
        # Each segment in n pieces: positions at fractions k/n, k = 0..n (vectorised).
        n = np.maximum(np.ceil(seg / step_m).astype(np.int64), 1)
        owner = np.repeat(np.arange(len(n)), n + 1)
        k = np.arange(len(owner)) - np.repeat(np.cumsum(n + 1) - (n + 1), n + 1)
        f = k / n[owner]
        px = ax[owner] + f * (bx - ax)[owner]
        py = ay[owner] + f * (by - ay)[owner]
        # One node per position (to 1 cm), so lines meeting at an end share it.
        key = np.round(np.column_stack([px, py]) * 100.0).astype(np.int64)
        uniq, node = np.unique(key, axis=0, return_inverse=True)
        node = node.ravel()
        nx = np.bincount(node, weights=px) / np.bincount(node)
        ny = np.bincount(node, weights=py) / np.bincount(node)
        piece = k < n[owner]  # a position followed by another of the same segment
        u, v = node[:-1][piece[:-1]], node[1:][piece[:-1]]
        ok = u != v
        u, v = u[ok], v[ok]
        w = np.hypot(nx[u] - nx[v], ny[u] - ny[v]) + 1e-6
        g = _min_duplicates(np.r_[u, v], np.r_[v, u], np.r_[w, w], len(uniq))
        return cls(nx, ny, g, source)

    def crop(self, x_min: float, y_min: float, x_max: float, y_max: float) -> RoadMap:
        """The map's nodes within the box and the road pieces between them (a country's
        map cut down to the area a run covers)."""
        keep = (self.x_m >= x_min) & (self.x_m <= x_max) & (self.y_m >= y_min)
        keep &= self.y_m <= y_max
        idx = np.flatnonzero(keep)
        g = self.graph[idx][:, idx].tocsr()
        return RoadMap(self.x_m[idx], self.y_m[idx], g, self.source)

    def distances(self, sources: IntArray, targets: IntArray, limit_m: float) -> FloatArray:
        """Road distance from each of ``sources`` to each of ``targets`` (inf beyond
        ``limit_m``), computed a few sources at a time so memory stays bounded on a large
        map."""
        out = np.full((len(sources), len(targets)), np.inf)
        for k in range(0, len(sources), 64):  # chunks of sources, not points
            d = dijkstra(self.graph, directed=False, indices=sources[k : k + 64], limit=limit_m)
            out[k : k + 64] = np.asarray(d, dtype=np.float64)[:, targets]
        return out

    def nearest(self, x_m: FloatArray, y_m: FloatArray) -> tuple[FloatArray, IntArray]:
        """Distance to and index of the nearest node of each position."""
        d, i = self._tree.query(np.column_stack([x_m, y_m]))
        return np.asarray(d, dtype=np.float64), np.asarray(i, dtype=np.int64)

    def shortest_from(
        self, sources: IntArray, limit_m: float
    ) -> tuple[FloatArray, IntArray, IntArray]:
        """Road distance from the nearest of ``sources`` to every node (inf beyond
        ``limit_m``), each node's predecessor on that path and the source it starts from."""
        dist, pred, src = dijkstra(
            self.graph,
            directed=False,
            indices=np.unique(sources),
            min_only=True,
            limit=limit_m,
            return_predecessors=True,
        )
        return (
            np.asarray(dist, dtype=np.float64),
            np.asarray(pred, dtype=np.int64),
            np.asarray(src, dtype=np.int64),
        )

    def junction_distance(self, x_m: FloatArray, y_m: FloatArray) -> FloatArray:
        """Distance from each position to the nearest junction: a node where three or more
        road pieces meet (inf on a map without one)."""
        d, _ = self._junctions.query(np.column_stack([x_m, y_m]))
        return np.asarray(d, dtype=np.float64)

    @cached_property
    def _junctions(self) -> cKDTree:
        degree = np.diff(self.graph.indptr)
        j = np.flatnonzero(degree >= 3)
        return cKDTree(np.column_stack([self.x_m[j], self.y_m[j]]).reshape(-1, 2))

    @cached_property
    def _tree(self) -> cKDTree:
        return cKDTree(np.column_stack([self.x_m, self.y_m]))


def _min_duplicates(u: IntArray, v: IntArray, w: FloatArray, m: int) -> csr_matrix:
    """The graph with one edge per node pair, the shortest of any repeats."""
    order = np.lexsort((w, v, u))
    u, v, w = u[order], v[order], w[order]
    first = np.r_[True, (u[1:] != u[:-1]) | (v[1:] != v[:-1])]
    return coo_matrix((w[first], (u[first], v[first])), shape=(m, m)).tocsr()


def path_to_source(pred: IntArray, node: int) -> IntArray:
    """The nodes from a source to ``node`` along ``pred`` (from :meth:`RoadMap.shortest_from`)."""
    out = [node]
    while pred[out[-1]] >= 0:  # walk back along one road path (nodes, not data rows)
        out.append(int(pred[out[-1]]))
    return np.asarray(out[::-1], dtype=np.int64)


def read_roads(path: str | Path, frame: LocalFrame, step_m: float = 100.0) -> RoadMap:
    """The road map in a GeoJSON file of LineStrings / MultiLineStrings (lon, lat)."""
    lines = []
    for line in read_lines_geojson(path):
        x, y = frame.to_xy(line.lon_deg, line.lat_deg)
        lines.append((np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)))
    return RoadMap.from_lines(lines, step_m, source=str(path))
