"""Fast exact spatial indexes behind :class:`standoff.airspace.Airspace`.

``BoundaryIndex``: distance from points to a set of boundary lines, exact to a fraction of a
metre.  Lines are densified (straight in lon/lat, vertices at most ``spacing_deg`` apart),
their vertices put in ECEF and into a k-d tree; a query takes the k nearest vertices,
measures the exact 3-D distance to every segment touching them, and proves the answer with a
lower bound for all other segments (a segment whose two ends are both at least D away lies at
least sqrt(D^2 - (s/2)^2) away, s its length); points that the bound does not settle are
queried again with more neighbours.  Chords are converted to geodesic lengths.

``OwnerGrid``: which polygon (if any) covers each point.  A regular lon/lat grid holds, for
every cell that no boundary crosses, the owner of the whole cell (found by flood-filling the
uncut cells and testing one point per connected piece exactly); cells a boundary crosses are
marked mixed and their points are tested exactly against the polygons with an STRtree.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from scipy import ndimage
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from standoff.geo.geodesy import chord_to_geodesic_m, ecef_from_lonlat, lonlat_from_ecef

__all__ = ["NO_OWNER", "BoundaryIndex", "NearestBoundary", "OwnerGrid", "PolygonSet"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NO_OWNER = -1
"""Owner index of a point no polygon covers."""

_MIXED = np.int16(-32768)
_PARALLEL_MIN = 100_000


@dataclass(frozen=True)
class NearestBoundary:
    """Result of a boundary query: geodesic distance, the nearest point and its label."""

    distance_m: FloatArray
    lon_deg: FloatArray
    lat_deg: FloatArray
    label: IntArray


def _densified_lines(lines: Sequence[BaseGeometry], spacing_deg: float) -> list[FloatArray]:
    out: list[FloatArray] = []
    for geom in lines:
        for part in shapely.get_parts(shapely.segmentize(geom, spacing_deg)):
            coords = shapely.get_coordinates(part)
            if len(coords) >= 2:
                out.append(np.asarray(coords, dtype=np.float64))
    return out


class BoundaryIndex:
    """Exact nearest-boundary distances from many points at once."""

    def __init__(
        self,
        lines: Sequence[BaseGeometry],
        labels: Sequence[int] | None = None,
        *,
        spacing_deg: float = 0.02,
    ) -> None:
        """``lines``: line or polygon-boundary geometries in lon/lat; ``labels``: one int each."""
        label_list = list(labels) if labels is not None else [0] * len(lines)
        coords: list[FloatArray] = []
        vertex_label: list[IntArray] = []
        seg_ok: list[npt.NDArray[np.bool_]] = []
        for geom, label in zip(lines, label_list, strict=True):
            for part in _densified_lines([geom], spacing_deg):
                coords.append(part)
                vertex_label.append(np.full(len(part), label, dtype=np.int64))
                ok = np.ones(len(part), dtype=bool)
                ok[-1] = False  # no segment from a part's last vertex to the next part
                seg_ok.append(ok)
        if not coords:
            raise ValueError("a boundary index needs at least one line")
        lonlat = np.vstack(coords)
        self._lonlat = lonlat
        self._xyz = ecef_from_lonlat(lonlat[:, 0], lonlat[:, 1])
        self._label = np.concatenate(vertex_label)
        self._seg_ok = np.concatenate(seg_ok)
        nxt = np.minimum(np.arange(len(self._xyz)) + 1, len(self._xyz) - 1)
        seg_len = np.linalg.norm(self._xyz[nxt] - self._xyz, axis=1)
        seg_len[~self._seg_ok] = 0.0
        self._half_seg_m = 0.5 * float(seg_len.max())
        self._seg_vec = np.where(self._seg_ok[:, None], self._xyz[nxt] - self._xyz, 0.0)
        self._seg_len2 = np.einsum("ij,ij->i", self._seg_vec, self._seg_vec)
        self._tree = cKDTree(self._xyz, leafsize=64, balanced_tree=False, compact_nodes=False)

    @property
    def vertex_count(self) -> int:
        return len(self._xyz)

    def nearest(self, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike) -> NearestBoundary:
        """Nearest boundary point of every query point (geodesic distance in metres).

        Large batches are split across threads (numpy and the k-d tree release the GIL).
        """
        lon = np.atleast_1d(np.asarray(lon_deg, dtype=np.float64))
        lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64))
        workers = min(os.cpu_count() or 1, 8)
        if len(lon) < _PARALLEL_MIN or workers < 2:
            return self._nearest(lon, lat)
        bounds = np.linspace(0, len(lon), workers + 1).astype(int)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(
                pool.map(
                    lambda ab: self._nearest(lon[ab[0] : ab[1]], lat[ab[0] : ab[1]], threads=1),
                    itertools.pairwise(bounds),
                )
            )
        return NearestBoundary(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("distance_m", "lon_deg", "lat_deg", "label")
            )
        )

    def _nearest(self, lon: FloatArray, lat: FloatArray, threads: int = -1) -> NearestBoundary:
        # Queries in spatial order run two to three times faster (the tree stays in cache).
        order = np.argsort(
            np.floor((lat + 90.0) * 10.0) * 4000.0 + np.floor((lon + 180.0) * 10.0), kind="stable"
        )
        lon = lon[order]
        lat = lat[order]
        q = ecef_from_lonlat(lon, lat)
        n = len(q)
        chord = np.full(n, np.inf)
        foot = np.zeros((n, 3))
        label = np.zeros(n, dtype=np.int64)
        todo = np.arange(n)
        k = 3
        while len(todo):
            k_eff = min(k, len(self._xyz))
            dist_k, idx_k = self._tree.query(q[todo], k=k_eff, workers=threads)
            dist_k = dist_k.reshape(len(todo), k_eff)
            idx_k = idx_k.reshape(len(todo), k_eff)
            # Segments touching the k-1 nearest vertices are measured exactly; every other
            # segment has both ends at least d_k away, so it lies at least
            # sqrt(d_k^2 - (s/2)^2) away.
            examined = idx_k if k_eff == len(self._xyz) else idx_k[:, :-1]
            d, f, lab = self._segments_distance(q[todo], examined)
            better = d < chord[todo]
            chord[todo[better]] = d[better]
            foot[todo[better]] = f[better]
            label[todo[better]] = lab[better]
            if k_eff == len(self._xyz):
                break
            bound_sq = dist_k[:, -1] ** 2 - self._half_seg_m**2
            settled = chord[todo] ** 2 <= np.maximum(bound_sq, 0.0)
            todo = todo[~settled]
            k *= 4
        foot_lon, foot_lat = lonlat_from_ecef(foot)
        geodesic = chord_to_geodesic_m(chord, 0.5 * (lat + foot_lat))
        back = np.empty_like(order)
        back[order] = np.arange(n)
        return NearestBoundary(geodesic[back], foot_lon[back], foot_lat[back], label[back])

    def distance_m(self, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike) -> FloatArray:
        return self.nearest(lon_deg, lat_deg).distance_m

    def _segments_distance(
        self, q: FloatArray, idx_k: npt.NDArray[np.intp]
    ) -> tuple[FloatArray, FloatArray, IntArray]:
        """Exact distance from each q to the segments that start or end at its candidates."""
        starts = np.concatenate([idx_k, np.maximum(idx_k - 1, 0)], axis=1)
        a = self._xyz[starts]
        ab = self._seg_vec[starts]
        ab2 = self._seg_len2[starts]
        aq = q[:, None, :] - a
        t = np.einsum("ijk,ijk->ij", aq, ab) / np.where(ab2 > 0, ab2, 1.0)
        np.clip(t, 0.0, 1.0, out=t)
        r = aq - t[..., None] * ab
        d2 = np.einsum("ijk,ijk->ij", r, r)
        p = q[:, None, :] - r
        best = np.argmin(d2, axis=1)
        rows = np.arange(len(q))
        return np.sqrt(d2[rows, best]), p[rows, best], self._label[starts[rows, best]]


class PolygonSet:
    """Polygons with owners, for exact point-in-polygon tests on many points at once.

    Candidates come from an STRtree over the polygons' bounding boxes; each candidate
    polygon is prepared once (GEOS indexed point-in-area), so a test costs O(log vertices).
    Polygons are closed: a point on a boundary is covered.
    """

    def __init__(self, parts: Sequence[BaseGeometry], owner: npt.ArrayLike) -> None:
        self.parts = np.asarray(list(parts), dtype=object)
        self.owner = np.asarray(owner, dtype=np.int64)
        shapely.prepare(self.parts)
        self.tree = shapely.STRtree(self.parts)
        self.bounds = (
            tuple(float(v) for v in shapely.total_bounds(self.parts)) if len(self.parts) else None
        )

    def owner_of(
        self, lon_deg: FloatArray, lat_deg: FloatArray, *, within_deg: float = 0.0
    ) -> IntArray:
        """Owner of each point (smallest owner index on ties), or ``NO_OWNER``.

        With ``within_deg`` > 0, a polygon within that distance (degrees) counts as covering.
        """
        owner = np.full(len(lon_deg), NO_OWNER, dtype=np.int64)
        if len(lon_deg) == 0 or len(self.parts) == 0:
            return owner
        points = shapely.points(lon_deg, lat_deg)
        query = shapely.buffer(points, within_deg, quad_segs=1) if within_deg > 0 else points
        pi, gi = self.tree.query(query)
        if len(pi) == 0:
            return owner
        order = np.argsort(gi, kind="stable")
        pi, gi = pi[order], gi[order]
        hit = np.zeros(len(pi), dtype=bool)
        cuts = np.flatnonzero(np.diff(gi)) + 1
        starts = np.concatenate([[0], cuts])
        ends = np.concatenate([cuts, [len(gi)]])
        for s, e in zip(starts, ends, strict=True):
            idx = pi[s:e]
            part = self.parts[gi[s]]
            if within_deg > 0:
                hit[s:e] = shapely.dwithin(part, points[idx], within_deg)
            else:
                hit[s:e] = shapely.intersects_xy(part, lon_deg[idx], lat_deg[idx])
        pi, cand = pi[hit], self.owner[gi[hit]]
        order = np.lexsort((cand, pi))
        first = np.ones(len(order), dtype=bool)
        first[1:] = pi[order][1:] != pi[order][:-1]
        owner[pi[order][first]] = cand[order][first]
        return owner


class OwnerGrid:
    """Precomputed owner lookup: O(1) per point except in cells a boundary crosses."""

    def __init__(
        self,
        polygons: PolygonSet,
        extent: tuple[float, float, float, float],
        cell_deg: float = 0.02,
    ) -> None:
        self._polys = polygons
        self._x0, self._y0, x1, y1 = extent
        self._cell = cell_deg
        self._nx = int(np.ceil((x1 - self._x0) / cell_deg))
        self._ny = int(np.ceil((y1 - self._y0) / cell_deg))
        self._grid = self._build()

    @property
    def mixed_fraction(self) -> float:
        return float(np.mean(self._grid == _MIXED))

    def _cells(self, lon: FloatArray, lat: FloatArray) -> tuple[IntArray, IntArray]:
        ix = np.floor((lon - self._x0) / self._cell).astype(np.int64)
        iy = np.floor((lat - self._y0) / self._cell).astype(np.int64)
        return np.clip(ix, 0, self._nx - 1), np.clip(iy, 0, self._ny - 1)

    def _build(self) -> npt.NDArray[np.int16]:
        cut = np.zeros((self._ny, self._nx), dtype=bool)
        boundaries = shapely.boundary(self._polys.parts)
        coords = shapely.get_coordinates(shapely.segmentize(boundaries, self._cell * 0.5))
        ix, iy = self._cells(coords[:, 0], coords[:, 1])
        cut[iy, ix] = True
        # A segment crossing a cell passes within one sample spacing (< one cell) of a sample,
        # so every crossed cell is a sample's cell or one of its eight neighbours.
        cut = ndimage.binary_dilation(cut, structure=np.ones((3, 3), dtype=bool))
        labels, count = ndimage.label(~cut)
        grid = np.full((self._ny, self._nx), _MIXED, dtype=np.int16)
        if count:
            flat = labels.ravel()
            order = np.argsort(flat, kind="stable")
            firsts = np.searchsorted(flat[order], np.arange(1, count + 1))
            rep = order[firsts]
            ry, rx = np.divmod(rep, self._nx)
            lon = self._x0 + (rx + 0.5) * self._cell
            lat = self._y0 + (ry + 0.5) * self._cell
            owner = self._polys.owner_of(lon, lat)
            lut = np.concatenate([[_MIXED], owner.astype(np.int16)])
            grid = lut[labels]
        return grid

    def owner(self, lon_deg: FloatArray, lat_deg: FloatArray) -> IntArray:
        ix, iy = self._cells(lon_deg, lat_deg)
        out = self._grid[iy, ix].astype(np.int64)
        mixed = np.flatnonzero(out == _MIXED)
        if len(mixed):
            out[mixed] = self._polys.owner_of(lon_deg[mixed], lat_deg[mixed])
        return out
