"""Corridors: routes vehicles repeatedly drive between sites and towards the border.

Candidate *traversals* are tracks (observed rows, at least ``min_length_m`` long) that touch a
found site (within ``site_touch_m``) or end near the border (``near_border_m``).  Two
traversals belong to the same corridor when at least ``overlap_share`` of the shorter one's
points lie within ``link_m`` of the other (one runs along the other); corridors are the
connected components of that relation with at least ``min_traversals`` traversals (tracks
starting within ``same_pass_s`` of each other, e.g. a convoy's vehicles, are one traversal).
The centre line is the median position of the member points in ``bin_m`` bins along the
component's principal axis.

Confidence: ``logistic(-2.0 + 1.5 ln(1+traversals) + 0.5 ln(1+detections/50))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from standoff.airspace import Airspace
from standoff.domain.findings import Corridor, Evidence, Site
from standoff.domain.marking import Marking
from standoff.intel.confidence import logistic_confidence
from standoff.intel.io import RunInfo, TrackTable
from standoff.intel.pattern import local_profiles

__all__ = ["CorridorParams", "Traversals", "find_corridors"]

_UNCLASSIFIED = Marking()


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class CorridorParams:
    min_length_m: float = 1000.0
    site_touch_m: float = 500.0
    near_border_m: float = 2000.0
    link_m: float = 300.0
    overlap_share: float = 0.5
    min_traversals: int = 2
    same_pass_s: float = 600.0
    bin_m: float = 250.0
    simplify_m: float = 30.0


@dataclass(frozen=True)
class Traversals:
    """The corridor each candidate track was put in (-1: none)."""

    track_id: IntArray
    start_s: FloatArray
    corridor: IntArray


def find_corridors(
    tracks: TrackTable,
    info: RunInfo,
    airspace: Airspace,
    sites: list[Site],
    p: CorridorParams = CorridorParams(),
    marking: Marking = _UNCLASSIFIED,
) -> tuple[list[Corridor], Traversals]:
    obs = tracks.select(tracks.observed)
    empty = Traversals(np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64))
    if len(obs) < 2:
        return [], empty
    ids = obs.track_id
    first = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    last = np.r_[first[1:] - 1, len(ids) - 1]
    group = np.repeat(np.arange(len(first)), last - first + 1)
    step = np.hypot(np.diff(obs.x_m, prepend=obs.x_m[0]), np.diff(obs.y_m, prepend=obs.y_m[0]))
    step[first] = 0.0
    length = np.bincount(group, weights=step)
    # Touches a site / ends near the border.
    touch = np.zeros(len(first), dtype=bool)
    if sites:
        sx, sy = info.frame.to_xy([s.lon_deg for s in sites], [s.lat_deg for s in sites])
        d = cKDTree(np.column_stack([sx, sy])).query(np.column_stack([obs.x_m, obs.y_m]))[0]
        touch = np.bincount(group, weights=d <= p.site_touch_m, minlength=len(first)) > 0
    elon, elat = info.frame.to_lonlat(obs.x_m[last], obs.y_m[last])
    border = np.asarray(airspace.boundary_distance_m(elon, elat)) <= p.near_border_m
    cand = np.flatnonzero((length >= p.min_length_m) & (touch | border))
    if len(cand) < p.min_traversals:
        return [], empty
    rows = np.isin(group, cand)
    cg = np.searchsorted(cand, group[rows])  # candidate index of each row
    px, py = obs.x_m[rows], obs.y_m[rows]
    tree = cKDTree(np.column_stack([px, py]))
    m = tree.sparse_distance_matrix(tree, p.link_m, output_type="ndarray")
    a, b = cg[m["i"]], cg[m["j"]]
    ok = a != b
    # For each (track a, track b): how many of a's points have a neighbour on b.
    key = np.unique(np.column_stack([m["i"][ok], b[ok]]), axis=0)
    nc = len(cand)
    near_counts = np.bincount(cg[key[:, 0]] * nc + key[:, 1], minlength=nc * nc).reshape(nc, nc)
    n_pts = np.bincount(cg, minlength=nc)
    share = near_counts / np.maximum(n_pts[:, None], 1)
    linked = np.maximum(share, share.T) >= p.overlap_share
    np.fill_diagonal(linked, False)
    _, comp = connected_components(coo_matrix(linked), directed=False)
    corridors: list[Corridor] = []
    corridor_of = np.full(nc, -1, dtype=np.int64)
    start_s = obs.t_s[first[cand]]
    for c in np.unique(comp):  # loop over components (a handful), not points
        members = np.flatnonzero(comp == c)
        t0 = np.sort(start_s[members])
        passes = t0[np.r_[True, np.diff(t0) > p.same_pass_s]]
        if len(passes) < p.min_traversals:
            continue
        sel = np.isin(cg, members)
        line = _centre_line(px[sel], py[sel], p)
        if line is None:
            continue
        lon, lat = info.frame.to_lonlat(line[:, 0], line[:, 1])
        ends_lon, ends_lat = lon[[0, -1]], lat[[0, -1]]
        bd = np.asarray(airspace.boundary_distance_m(ends_lon, ends_lat))
        near_b = int(np.argmin(bd))
        has_border = bool(bd[near_b] <= p.near_border_m)
        if has_border and near_b == 0:  # orient the line towards the border
            lon, lat, line = lon[::-1], lat[::-1], line[::-1]
        from_site = _site_near(sites, info, line[0], p.site_touch_m * 2)
        to_site = None if has_border else _site_near(sites, info, line[-1], p.site_touch_m * 2)
        speeds = np.hypot(obs.vx_mps[rows][sel], obs.vy_mps[rows][sel])
        tr_ids = ids[first[cand[members]]]
        n_det = int(sel.sum())
        hours, _ = local_profiles(passes, info)
        conf = logistic_confidence(
            -2.0, {"traversals": (1.5, float(len(passes))), "detections/50": (0.5, n_det / 50)}
        )
        corridor_of[members] = len(corridors)
        corridors.append(
            Corridor(
                id=f"corridor-{len(corridors) + 1:03d}",
                path_lonlat_deg=tuple(
                    (round(float(x), 7), round(float(y), 7)) for x, y in zip(lon, lat, strict=True)
                ),
                traversal_count=len(passes),
                typical_speed_mps=round(float(np.median(speeds)), 2),
                traversals_by_hour=hours,
                from_site_id=from_site,
                to_site_id=to_site,
                border_lat_deg=round(float(lat[-1]), 7) if has_border else None,
                border_lon_deg=round(float(lon[-1]), 7) if has_border else None,
                evidence=Evidence(
                    tuple(int(t) for t in tr_ids),
                    n_det,
                    ("gmti",),
                    info.utc(float(t0[0])),
                    info.utc(float(obs.t_s[last[cand[members]]].max())),
                ),
                confidence=conf,
                marking=marking,
            )
        )
    return corridors, Traversals(ids[first[cand]], start_s, corridor_of)


def _centre_line(x: FloatArray, y: FloatArray, p: CorridorParams) -> FloatArray | None:
    xy = np.column_stack([x, y])
    mean = xy.mean(axis=0)
    _, _, vt = np.linalg.svd(xy - mean, full_matrices=False)
    s = (xy - mean) @ vt[0]
    b = np.floor((s - s.min()) / p.bin_m).astype(np.int64)
    order = np.lexsort((s, b))
    bs = b[order]
    starts = np.flatnonzero(np.r_[True, bs[1:] != bs[:-1]])
    counts = np.diff(np.r_[starts, len(bs)])
    mid = starts + counts // 2  # the median point of each bin along the axis
    pts = xy[order][mid]
    if len(pts) < 2:
        return None
    line = shapely.simplify(shapely.linestrings(pts), p.simplify_m)
    return np.asarray(shapely.get_coordinates(line))


def _site_near(sites: list[Site], info: RunInfo, xy: FloatArray, radius_m: float) -> str | None:
    if not sites:
        return None
    sx, sy = info.frame.to_xy([s.lon_deg for s in sites], [s.lat_deg for s in sites])
    d = np.hypot(sx - xy[0], sy - xy[1])
    k = int(np.argmin(d))
    return sites[k].id if d[k] <= radius_m else None
