"""The road network: a directed graph of straight edges in the run's local frame.

Generated from the seed (highways across the area, secondary roads linking towns, dirt tracks
towards the border points and spurs to the sites) or built from loaded polylines.  Every road
is two directed edges; junctions are shared nodes.  Movers live on edges (see ``movers``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from standoff.core.errors import InputError
from standoff.geo.frame import LocalFrame
from standoff.sim.scenario import RoadSettings

__all__ = ["CLASS_NAMES", "CLASS_SPEED_MPS", "RoadNetwork", "build_network"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CLASS_NAMES: Final = ("highway", "secondary", "dirt")
CLASS_SPEED_MPS: Final = np.array([28.0, 18.0, 8.0])
"""Typical free speed per road class (assumption: ~100, 65 and 29 km/h)."""
_VERTEX_SPACING_M: Final = 1500.0
_MIN_PART_M: Final = 5000.0
"""Bits of road cut off by a closed border shorter than this are dropped."""


@dataclass(frozen=True)
class RoadNetwork:
    node_x_m: FloatArray
    node_y_m: FloatArray
    edge_u: IntArray
    edge_v: IntArray
    edge_class: IntArray
    edge_len_m: FloatArray
    edge_rev: IntArray
    """The opposite direction of each edge."""
    out_ptr: IntArray
    """CSR: edges leaving node n are ``out_edges[out_ptr[n]:out_ptr[n + 1]]``."""
    out_edges: IntArray
    anchors: dict[str, int]
    """Node of each named site and border point."""

    @property
    def n_nodes(self) -> int:
        return int(self.node_x_m.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.edge_u.shape[0])

    @property
    def edge_speed_mps(self) -> FloatArray:
        return np.asarray(CLASS_SPEED_MPS[self.edge_class], dtype=np.float64)

    def total_length_m(self) -> float:
        return float(self.edge_len_m.sum() / 2.0)

    def parts(self) -> IntArray:
        """The connected part each node belongs to (0, 1, ...)."""
        g = csr_matrix(
            (np.ones(self.n_edges), (self.edge_u, self.edge_v)), shape=(self.n_nodes,) * 2
        )
        return np.asarray(connected_components(g, directed=False)[1], dtype=np.int64)

    def shortest_routes(self, source: int) -> IntArray:
        """Predecessor of every node on the fastest route from ``source`` (-9999: none)."""
        w = self.edge_len_m / self.edge_speed_mps
        g = csr_matrix((w, (self.edge_u, self.edge_v)), shape=(self.n_nodes, self.n_nodes))
        _, pred = dijkstra(g, directed=True, indices=source, return_predecessors=True)
        return np.asarray(pred, dtype=np.int64)

    def route_edges(self, pred: IntArray, source: int, target: int) -> IntArray | None:
        """Directed edges of the route ``source -> target`` from ``shortest_routes(source)``."""
        if source == target:
            return np.zeros(0, dtype=np.int64)
        nodes = [target]
        while nodes[-1] != source:
            p = int(pred[nodes[-1]])
            if p < 0:
                return None
            nodes.append(p)
        nodes.reverse()
        edges = []
        for a, b in itertools.pairwise(nodes):
            cand = self.out_edges[self.out_ptr[a] : self.out_ptr[a + 1]]
            edges.append(int(cand[self.edge_v[cand] == b][0]))
        return np.asarray(edges, dtype=np.int64)


class _Builder:
    def __init__(self) -> None:
        self.x: list[float] = []
        self.y: list[float] = []
        self.edges: dict[tuple[int, int], int] = {}
        self.owner: list[str] | None = None
        """Once :meth:`keep_inside` has run: the state of each node of a state's largest
        network, "" for the others."""

    def node(self, x: float, y: float) -> int:
        self.x.append(float(x))
        self.y.append(float(y))
        return len(self.x) - 1

    def edge(self, a: int, b: int, cls: int) -> None:
        if a != b and (a, b) not in self.edges and (b, a) not in self.edges:
            self.edges[(a, b)] = cls

    def polyline(
        self,
        xs: FloatArray,
        ys: FloatArray,
        cls: int,
        first: int | None = None,
        last: int | None = None,
    ) -> list[int]:
        head = self.node(xs[0], ys[0]) if first is None else first
        mid = [self.node(x, y) for x, y in zip(xs[1:-1], ys[1:-1], strict=True)]
        tail = self.node(xs[-1], ys[-1]) if last is None else last
        ids = [head, *mid, tail]
        for a, b in itertools.pairwise(ids):
            self.edge(a, b, cls)
        return ids

    def nearest(self, x: float, y: float, state: str | None = None) -> int:
        """The nearest node; with ``state`` (once :meth:`keep_inside` gave nodes states),
        the nearest node of that state's largest network, when it has one."""
        d = np.hypot(np.asarray(self.x) - x, np.asarray(self.y) - y)
        if state is not None and self.owner is not None and state in self.owner:
            mine = np.zeros(len(d), bool)
            mine[: len(self.owner)] = np.asarray(self.owner) == state
            d = np.where(mine, d, np.inf)
        return int(np.argmin(d))

    def wiggly(
        self,
        a: int,
        bx: float,
        by: float,
        cls: int,
        rng: np.random.Generator,
        jitter: float,
        last: int | None = None,
    ) -> list[int]:
        ax, ay = self.x[a], self.y[a]
        length = float(np.hypot(bx - ax, by - ay))
        n = max(1, int(np.ceil(length / _VERTEX_SPACING_M)))
        u = np.linspace(0.0, 1.0, n + 1)
        nx, ny = (-(by - ay) / max(length, 1.0), (bx - ax) / max(length, 1.0))
        # A smooth random lateral offset, zero at both ends.
        off = np.cumsum(rng.normal(0.0, jitter * _VERTEX_SPACING_M, n + 1))
        off -= u * off[-1]
        off[0] = 0.0
        xs = ax + u * (bx - ax) + off * nx
        ys = ay + u * (by - ay) + off * ny
        return self.polyline(xs, ys, cls, first=a, last=last)

    def keep_inside(self, frame: LocalFrame, country: str | None, source: str) -> None:
        """Drop every road that crosses a land border (with ``country``: every road with an
        end outside that state), then the bits of road left shorter than ``_MIN_PART_M``
        (nodes renumbered).  Each state's network may be in several parts; vehicles stay on
        the part they start on."""
        from standoff.airspace import Airspace

        x, y = np.asarray(self.x), np.asarray(self.y)
        lon, lat = frame.to_lonlat(x, y)
        owner = Airspace.load().owner_at(lon, lat)
        und = np.asarray(list(self.edges.keys()), dtype=np.int64).reshape(-1, 2)
        cls = np.asarray(list(self.edges.values()), dtype=np.int64)
        ok = owner[und[:, 0]] == owner[und[:, 1]]
        if country is not None:
            ok &= owner[und[:, 0]] == country
        und, cls = und[ok], cls[ok]
        n = len(x)
        g = csr_matrix((np.ones(len(und)), (und[:, 0], und[:, 1])), shape=(n, n))
        _, label = connected_components(g, directed=False)
        seg = np.hypot(x[und[:, 0]] - x[und[:, 1]], y[und[:, 0]] - y[und[:, 1]])
        part_len = np.bincount(label[und[:, 0]], weights=seg, minlength=int(label.max()) + 1)
        keep = np.zeros(n, bool)
        keep[und.ravel()] = True
        keep &= part_len[label] >= _MIN_PART_M
        if not keep.any():
            raise InputError(
                f"no generated road lies inside {country or 'one state'}",
                source=source,
                field="roads.generate.country" if country else "roads.generate.closed_border",
                value=country or True,
            )
        # Named places join the largest part of their state's network.
        main = np.zeros(n, bool)
        for state in np.unique(owner[keep]):  # one pass per state (two or three)
            mine = keep & (owner == state)
            main |= mine & (label == np.argmax(np.bincount(label[mine], weights=None)))
        new_id = np.cumsum(keep) - 1
        self.x, self.y = [float(v) for v in x[keep]], [float(v) for v in y[keep]]
        self.owner = [str(o) if m else "" for o, m in zip(owner[keep], main[keep], strict=True)]
        self.edges = {
            (int(new_id[a]), int(new_id[b])): int(c)
            for (a, b), c in zip(und, cls, strict=True)
            if keep[a] and keep[b]
        }

    def finish(self, anchors: dict[str, int]) -> RoadNetwork:

        x = np.asarray(self.x)
        y = np.asarray(self.y)
        und = np.asarray(list(self.edges.keys()), dtype=np.int64).reshape(-1, 2)
        cls = np.asarray(list(self.edges.values()), dtype=np.int64)
        m = und.shape[0]
        u = np.concatenate([und[:, 0], und[:, 1]])
        v = np.concatenate([und[:, 1], und[:, 0]])
        c = np.concatenate([cls, cls])
        rev = np.concatenate([np.arange(m, 2 * m), np.arange(m)]).astype(np.int64)
        length = np.maximum(np.hypot(x[v] - x[u], y[v] - y[u]), 1.0)
        order = np.argsort(u, kind="stable").astype(np.int64)
        ptr = np.zeros(len(x) + 1, dtype=np.int64)
        np.add.at(ptr, u + 1, 1)
        return RoadNetwork(
            node_x_m=x,
            node_y_m=y,
            edge_u=u,
            edge_v=v,
            edge_class=c,
            edge_len_m=length,
            edge_rev=rev,
            out_ptr=np.cumsum(ptr),
            out_edges=order,
            anchors=anchors,
        )


def build_network(
    settings: RoadSettings,
    frame: LocalFrame,
    rng: np.random.Generator,
    anchors: list[tuple[str, float, float]],
) -> RoadNetwork:
    """Generate (or assemble from ``settings.lines``) the network; connect each anchor
    (name, lon, lat) to its nearest road (of its own state's network, when the border is
    closed) by a dirt spur."""
    b = _Builder()
    border_xy: list[tuple[float, float]] = []
    if settings.lines:
        index: dict[tuple[float, float], int] = {}
        for line in settings.lines:
            xs, ys = frame.to_xy(line.lon_deg, line.lat_deg)
            cls = CLASS_NAMES.index(line.road_class)
            ids = []
            for lon, lat, x, y in zip(line.lon_deg, line.lat_deg, xs, ys, strict=True):
                key = (round(float(lon), 6), round(float(lat), 6))
                if key not in index:
                    index[key] = b.node(x, y)
                ids.append(index[key])
            for a, c in itertools.pairwise(ids):
                b.edge(a, c, cls)
    else:
        lon0, lat0, lon1, lat1 = settings.bbox_deg
        cx, cy = frame.to_xy(
            [lon0, lon1, lon1, lon0, (lon0 + lon1) / 2], [lat0, lat0, lat1, lat1, (lat0 + lat1) / 2]
        )
        xmin, xmax = float(cx[[0, 3]].max()), float(cx[[1, 2]].min())
        ymin, ymax = float(cy[[0, 1]].max()), float(cy[[2, 3]].min())
        w, h = xmax - xmin, ymax - ymin
        # Highway 1 crosses the area west to east; the others branch off to an edge.
        y0 = ymin + h * rng.uniform(0.3, 0.7)
        start = b.node(xmin, y0)
        trunk = b.wiggly(start, xmax, ymin + h * rng.uniform(0.3, 0.7), 0, rng, 0.15)
        for _ in range(settings.highways - 1):
            a = trunk[int(rng.integers(1, len(trunk) - 1))] if len(trunk) > 2 else trunk[0]
            side = int(rng.integers(0, 2))
            tx = xmin + w * rng.uniform(0.1, 0.9)
            b.wiggly(a, tx, ymax if side else ymin, 0, rng, 0.15)
        for _ in range(settings.towns):
            tx, ty = xmin + w * rng.uniform(0.05, 0.95), ymin + h * rng.uniform(0.05, 0.95)
            near = b.nearest(tx, ty)
            town = b.node(tx, ty)
            b.wiggly(near, tx, ty, 1, rng, 0.2, last=town)
            # A second link to another node makes loops (alternative routes).
            d = np.hypot(np.asarray(b.x) - tx, np.asarray(b.y) - ty)
            far = np.flatnonzero(d > 4000.0)
            if len(far):
                other = int(far[np.argmin(d[far])])
                b.wiggly(town, b.x[other], b.y[other], 1, rng, 0.2, last=other)
        border_xy = [frame.to_xy(lo, la) for _, lo, la in anchors]  # type: ignore[misc]
        for _ in range(settings.dirt_tracks):
            a = int(rng.integers(0, len(b.x)))
            ang = rng.uniform(0, 2 * np.pi)
            length = rng.uniform(3000.0, 15000.0)
            if border_xy and rng.uniform() < 0.7:
                bx, by = border_xy[int(rng.integers(0, len(border_xy)))]
                ang = float(np.arctan2(float(by) - b.y[a], float(bx) - b.x[a]))
            tx = min(max(b.x[a] + length * np.cos(ang), xmin), xmax)
            ty = min(max(b.y[a] + length * np.sin(ang), ymin), ymax)
            if np.hypot(tx - b.x[a], ty - b.y[a]) > 500.0:
                b.wiggly(a, tx, ty, 2, rng, 0.3)
        if settings.country is not None or settings.closed_border:
            b.keep_inside(frame, settings.country, settings.source)
    if not b.x:
        raise InputError("the road network is empty", source=settings.source)
    named: dict[str, int] = {}
    states: list[str | None] = [None] * len(anchors)
    if b.owner is not None and anchors:
        from standoff.airspace import Airspace

        states = [
            str(o)
            for o in Airspace.load().owner_at([a[1] for a in anchors], [a[2] for a in anchors])
        ]
    for (name, lon, lat), state in zip(anchors, states, strict=True):
        ax, ay = frame.to_xy(lon, lat)
        near = b.nearest(float(ax), float(ay), state)
        if np.hypot(b.x[near] - float(ax), b.y[near] - float(ay)) < 50.0:
            named[name] = near
            continue
        node = b.node(float(ax), float(ay))
        b.wiggly(near, float(ax), float(ay), 2, rng, 0.2, last=node)
        named[name] = node
    return b.finish(named)
