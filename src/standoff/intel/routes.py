"""Corridors: routes vehicles repeatedly drive between sites and towards the border.

A moving-target radar loses a vehicle now and then (a missed scan, a turn, the edge of the
footprint), so one drive is often several tracks.  First, fragments are *joined* end-to-start:
track B continues track A when B starts 0..``join_gap_s`` after A ended, no farther from A's
end than A's speed x the gap x ``join_speed_factor`` + ``join_radius_m`` (position noise and
filter lag), heading any way short of reversing (cosine > -``join_cos``: a tracker often
drops a vehicle in a turn at a junction, while a reversal is a stop); each end and start is
used once, best-predicted pairs (straight on) first.  A chain of joined tracks is one
*trajectory*.

Candidate *traversals* are trajectories (observed rows, at least ``min_length_m`` long) that
begin within ``site_leave_m`` of a found site driving away from it or end that close driving
towards it (a radar confirms a vehicle only after a few scans of motion), that pass a site
(within ``site_touch_m``) and end near the border (``near_border_m``), or that travel *in
company*: a convoy's vehicles follow one another along the whole drive, so a trajectory at
least ``company_share`` of whose rows (and ``company_rows``) have another trajectory's row
within ``company_m``, up to ``company_s`` earlier or later and heading the same way (cosine
>= ``company_cos``), is a candidate too.  Passing traffic meets another vehicle for a minute
or two: over 12 re-seeded demo worlds, 9 % of the background trajectories of 20 rows or
more pass that test, and 89 % of the convoy ones.  A trajectory that only passes a site, or
only ends near the border, is usually passing traffic and is not a candidate.  Two
traversals belong to the same corridor when at least ``overlap_share`` of the shorter one's
points lie within ``link_m`` of the other (one runs along the other); corridors are the
connected components of that relation with at least ``min_traversals`` traversals per night
watched (over several sorties; the confidence, too, is that of the mean night) (tracks
starting within ``same_pass_s`` of each other, e.g. a convoy's vehicles, are one traversal).
The centre line follows the shape of the road, not a main axis: the members' points fall in
``bin_m`` cells, consecutive points of one member (at most ``trace_step_m`` apart) link their
cells, and cells of separate pieces of that graph within ``bridge_m`` of each other are
linked.  A link's support is the number of members that drove it, a trajectory in company
counting 1 and a lone one ``lone_weight``; the line is the heaviest path (links' length x
support) of the maximum-support spanning tree, drawn through the cells' mean points.  So a
route seen piecewise over several passes (a moving-target radar is blind to a vehicle
driving across its line of sight) is drawn whole, and a longer branch that a few lone
vehicles took does not pull it off the convoys' road.  Over 12 re-seeded demo worlds this
line and the join rule above took the mean route recall from 0.19 to 0.33, and from 0.19 to
0.33 over 12 others.  A line that ends near the border points towards it; any other points
the way most of its members drive.

With a road map (``intel/roads.py``; the analyst's map of the area, never who drove where),
corridors are carried along roads across stretches the radar did not see, where one drive
ends in one corridor and goes on in another, and where a corridor's trace is in pieces:

* components are joined where, on at least ``min_traversals`` passes, a convoy trajectory
  of one ends and a convoy trajectory of the other starts 0..``chain_gap_s`` later, both
  within ``road_snap_m`` of a road, the road distance between them fitting the first one's
  speed over the gap (``chain_speed_lo``..``chain_speed_hi`` times it, give or take
  ``join_radius_m``); such a continuation is no new traversal;
* each piece of a corridor's trace is joined to the nearest other piece by the shortest
  road between them (at most ``road_bridge_m``), traced with the smaller support of the two
  cells it joins; pieces whose best support is under ``road_piece_share`` of the trace's
  best (passing traffic) are left out.

Over 12 re-seeded demo worlds the road map took the mean route recall from 0.33 to 0.39 and
the mean share of convoy-1's road covered from 0.66 to 0.75; over 12 others from 0.33 to
0.36.  On the demo run it carries convoy-1's corridor across the two stretches the radar
never saw (0.51 to 0.98 of its road).  Each corridor states the share of its line that
tracks covered (``observed_share``); the rest was inferred.

Since then (same 12 worlds, and 12 held-out ones): a drive may also be chained from a
piece's *start* when its end is unreliable (a tracker often loses the convoy vehicle or
takes up another one), the road distance to the next piece fitting the piece's median speed
within ``chain_start_tolerance`` and the piece's own end lying on the way; member links and
trace bridges between two roads that do not meet (per the road map) are dropped; and a
corridor is drawn as its found sites' routes to the border (tree paths from a site to a
tree leaf near the border, mostly driven by convoys), plus its heaviest path when convoys
drove what that adds, so two convoy routes sharing a road are two corridors, each with the
members that drove it.  Mean route recall went from 0.39 to 0.50 (held out: 0.36 to 0.44).

Then: a site's route whose trace ends where convoys drove, within ``border_ahead_m`` of the
border but not ``near_border_m``, is carried on along the road ahead to the border (the
radar's sector ended there; the road must leave the way the convoys drove, see
``_road_ahead``); and the heaviest path is drawn when it is new against each site's route
on its own, not against all of them together (a through route past a site is two site
routes end to end, and was dropped).  With scan footprints (``scans.csv``): mean route
recall 0.56 to 0.61 (held out 0.47, unchanged), mean corridor precision (most of the line
within 500 m of a true route) 0.75 to 0.78 (held out 0.80 to 0.83), no route worse in any
world.

With scans, a site's route is not drawn along a stretch the radar watched and found
(nearly) empty of convoys: ``contradicted_m`` or more of links that, over the run, the
radar could have seen a convoy on for ``watched_min_s`` each (in a scan's sector, driving
along the link at the corridor's median speed at least the radar's minimum detectable
velocity along the line of sight: the run's, else ``watch_mdv_mps``), with convoy support
per second watched under ``watched_share`` of the route's median watched link
(``_Watch``).  Where two convoys' roads are both in view and a side
road joins them, the tree's path from one convoy's site to the other's border point runs
along the side road, driven by a vehicle or two that kept company; a stretch the radar
never watched (a road bridged across the edge of its sector) is no evidence either way.
Over 24 re-seeded four-night worlds and 24 one-night ones no world's route recall changed,
and convoy-3's change was found in 8 of 12 worlds instead of 7 (10 of 12 held out,
unchanged); with the radar aimed by the plan and interleaved with the AOIs, the demo
world's two convoy routes are drawn apart and its change found (``benchmarks/README.md``).

Confidence: ``logistic(-2.0 + 1.5 ln(1+traversals) + 0.5 ln(1+detections/50))``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from scipy import sparse
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree
from scipy.spatial import cKDTree

from standoff.airspace import Airspace
from standoff.domain.findings import Corridor, Evidence, Site
from standoff.domain.marking import Marking
from standoff.intel.confidence import logistic_confidence
from standoff.intel.io import RunInfo, ScanTable, TrackTable
from standoff.intel.pattern import local_profiles
from standoff.intel.roads import RoadMap, path_to_source
from standoff.intel.stops import cosines

__all__ = ["CorridorParams", "Traversals", "convoy_passes", "find_corridors"]

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
    """Passes a corridor needs (per night watched, over several sorties)."""
    convoy_pass_tracks: int = 2
    """A convoy pass: at least this many tracks in company starting within ``same_pass_s``
    of each other (a passing car keeps company now and then; a convoy's vehicles make
    several tracks)."""
    same_pass_s: float = 600.0
    bin_m: float = 250.0
    simplify_m: float = 30.0
    join_gap_s: float = 300.0
    """Longest coverage gap bridged between two fragments of one drive."""
    join_speed_factor: float = 1.5
    join_radius_m: float = 300.0
    join_cos: float = 0.5
    company_m: float = 150.0
    company_s: float = 90.0
    """A row is in company when another trajectory's row lies within ``company_m`` of it
    up to ``company_s`` earlier or later, heading the same way: a vehicle following on the
    same road (a convoy's vehicles drive 30-60 s apart)."""
    company_cos: float = 0.8
    company_rows: int = 10
    company_share: float = 0.5
    """A trajectory travels in company when at least this share of its rows, and
    ``company_rows``, are in company: a convoy keeps together for the whole drive, while
    passing traffic meets another vehicle for a minute or two."""
    site_leave_m: float = 2500.0
    """A trajectory starting (ending) this close to a site, driving away (towards), is a
    candidate traversal."""
    bridge_m: float = 600.0
    """Pieces of a corridor's trace this close are joined (see ``_bridges``)."""
    trace_step_m: float = 2000.0
    """Consecutive points of a track farther apart than this are not joined in the trace."""
    lone_weight: float = 0.25
    """A lone vehicle's support of the trace, against 1 for a trajectory in company."""
    road_snap_m: float = 300.0
    """With a road map: cells of the trace this close to a road can be joined along it."""
    road_bridge_m: float = 12000.0
    """With a road map: the longest road joining two pieces of a corridor's trace."""
    road_piece_share: float = 0.25
    """With a road map: pieces of a trace whose best cell has less than this share of the
    trace's best support are not joined to others (passing traffic, not the route)."""
    chain_gap_s: float = 1500.0
    """With a road map: the longest gap over which one corridor's convoy drive may go on
    in another (see ``_chained_along_roads``)."""
    convoy_share: float = 0.5
    """A site's route to the border is drawn when convoys drove at least this share of it
    (see ``_route_lines``)."""
    route_new_share: float = 0.3
    """... and at least this share of it is not on a route already drawn."""
    chain_speed_lo: float = 0.4
    chain_speed_hi: float = 1.6
    """With a road map: the road distance from one piece's end to the next piece's start
    must lie between these multiples of the speed at the end times the gap (give or take
    ``join_radius_m``)."""
    chain_start_tolerance: float = 0.25
    """With a road map: ... and from one piece's start, within this share of its median
    speed times the time between the starts (a convoy keeps its pace)."""
    border_ahead_m: float = 5000.0
    """With a road map: a site's route whose trace ends, where convoys drove, this close to
    the border (but not within ``near_border_m``) is carried on along the road ahead to the
    border, by at most twice this (see ``_road_ahead``)."""
    ahead_cos: float = 0.5
    """... leaving the trace's end the way the convoys drove: the road's first
    ``road_snap_m`` x 2 within acos(this) of their heading."""
    contradicted_m: float = 3000.0
    """With scans: a site's route is not drawn along a stretch this long that the radar
    watched and saw convoys on at under ``watched_share`` of the route's rate (see
    ``_Watch.contradicted``)."""
    watched_share: float = 0.25
    watched_min_s: float = 3600.0
    """... a link counts as watched when the radar could have seen a convoy on it for at
    least this long over the run."""
    watch_mdv_mps: float = 3.1
    """... driving at least the radar's minimum detectable velocity along its line of sight:
    the run's (``RunInfo.radar_mdv_mps``), or this (6 kt) when the run does not say."""


@dataclass(frozen=True)
class Traversals:
    """The corridor each candidate track was put in (-1: none), and whether its start
    began one of the corridor's passes (a convoy's vehicles are one pass)."""

    track_id: IntArray
    start_s: FloatArray
    corridor: IntArray
    first_of_pass: npt.NDArray[np.bool_]
    convoy: npt.NDArray[np.bool_]
    """The track kept company (drove in a convoy)."""


def find_corridors(
    tracks: TrackTable,
    info: RunInfo,
    airspace: Airspace,
    sites: list[Site],
    p: CorridorParams = CorridorParams(),
    marking: Marking = _UNCLASSIFIED,
    roads: RoadMap | None = None,
    scans: ScanTable | None = None,
) -> tuple[list[Corridor], Traversals]:
    """The corridors of ``tracks`` (see the module notes) and every candidate traversal;
    ``roads``: the analyst's road map; ``scans``: where the radar looked (the run's
    ``scans.csv``), which lets a site's route be refused along a road it watched."""
    obs = tracks.select(tracks.observed)
    empty = Traversals(
        np.zeros(0, np.int64),
        np.zeros(0),
        np.zeros(0, np.int64),
        np.zeros(0, dtype=bool),
        np.zeros(0, dtype=bool),
    )
    if len(obs) < 2:
        return [], empty
    # Over several nights (sorties) watched, a corridor needs its passes on the mean night.
    need = p.min_traversals * info.nights
    obs = _joined(obs, p)
    if roads is not None:  # only the roads the analysis can reach from the tracks
        pad = p.road_bridge_m + p.road_snap_m
        roads = roads.crop(
            float(obs.x_m.min()) - pad,
            float(obs.y_m.min()) - pad,
            float(obs.x_m.max()) + pad,
            float(obs.y_m.max()) + pad,
        )
        if len(roads.x_m) < 2:
            roads = None
    ids = obs.track_id
    first = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    last = np.r_[first[1:] - 1, len(ids) - 1]
    group = np.repeat(np.arange(len(first)), last - first + 1)
    step = np.hypot(np.diff(obs.x_m, prepend=obs.x_m[0]), np.diff(obs.y_m, prepend=obs.y_m[0]))
    step[first] = 0.0
    length = np.bincount(group, weights=step)
    # Passes a site, leaves or arrives at one, ends near the border, keeps company.
    touch = np.zeros(len(first), dtype=bool)
    leaves = np.zeros(len(first), dtype=bool)
    site_xy = np.zeros((0, 2))
    if sites:
        sx, sy = info.frame.to_xy([s.lon_deg for s in sites], [s.lat_deg for s in sites])
        site_xy = np.column_stack([sx, sy])
        d, k = cKDTree(site_xy).query(np.column_stack([obs.x_m, obs.y_m]))
        touch = np.bincount(group, weights=d <= p.site_touch_m, minlength=len(first)) > 0
        leaves = _leaves_or_arrives(obs, first, last, site_xy, d, k, p)
    elon, elat = info.frame.to_lonlat(obs.x_m[last], obs.y_m[last])
    border = np.asarray(airspace.boundary_distance_m(elon, elat)) <= p.near_border_m
    company = np.bincount(group, weights=_in_company(obs, p), minlength=len(first))
    convoy = (company >= p.company_rows) & (company >= p.company_share * (last - first + 1))
    cand = np.flatnonzero((length >= p.min_length_m) & (leaves | convoy | (touch & border)))
    if len(cand) < p.min_traversals:
        return [], empty
    # Trace support: a convoy's drive counts fully, a lone vehicle's for ``lone_weight``.
    member_weight = np.where(convoy[cand], 1.0, p.lone_weight)
    rows = np.isin(group, cand)
    cg = np.searchsorted(cand, group[rows])  # candidate index of each row
    px, py = obs.x_m[rows], obs.y_m[rows]
    pvx, pvy = obs.vx_mps[rows], obs.vy_mps[rows]
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
    continues = np.zeros(nc, dtype=bool)
    if roads is not None:
        comp, continues = _chained_along_roads(
            obs, first[cand], last[cand], comp, convoy[cand], roads, p
        )
    corridors: list[Corridor] = []
    rows_of: list[IntArray] = []  # each corridor's members
    starters: list[IntArray] = []  # and those that began its passes
    start_s = obs.t_s[first[cand]]

    def border_m(x: FloatArray, y: FloatArray) -> FloatArray:
        return np.asarray(airspace.boundary_distance_m(*info.frame.to_lonlat(x, y)))

    def pass_starters(members: IntArray) -> IntArray:
        """The members whose start began a pass (those that do not continue another)."""
        own = members[~continues[members]]
        own = own[np.argsort(start_s[own], kind="stable")]
        return own[_pass_heads(start_s[own], p)]

    def passes_of(members: IntArray) -> FloatArray:
        return np.asarray(start_s[pass_starters(members)])

    convoy_weight = convoy[cand].astype(np.float64)
    ctx = _Candidates(
        obs, first, last, cand, px, py, pvx, pvy, sites, site_xy, info, airspace, p, marking
    )
    # Where the radar looked, each scan's dwell and its minimum detectable velocity: once
    # for every corridor.
    radar = None
    if scans is not None and len(scans):
        mdv = p.watch_mdv_mps if info.radar_mdv_mps is None else info.radar_mdv_mps
        radar = (scans, scans.dwell_s(), mdv)
    for c in np.unique(comp):  # loop over components (a handful), not points
        members = np.flatnonzero(comp == c)
        if len(passes_of(members)) < need:
            continue
        sel = np.isin(cg, members)
        watch = None
        if radar is not None:  # the radar's view of this corridor's road
            watch = _Watch(*radar, float(np.median(np.hypot(pvx[sel], pvy[sel]))), p)
        lines = _route_lines(
            px[sel], py[sel], cg[sel], member_weight, convoy_weight, p, roads, site_xy, border_m,
            watch,
        )  # fmt: skip
        for ln in lines:  # a line or a few per component
            mine = members
            if ln.site is not None:  # a site's route: the members that drove along it
                mine = _along(ln.xy, px[sel], py[sel], cg[sel], nc, p)
            passes = passes_of(mine)
            if len(passes) < need:
                continue
            rows_of.append(mine)
            starters.append(pass_starters(mine))
            corridors.append(
                _corridor(len(corridors) + 1, ln, mine, passes, np.isin(cg, mine), ctx)
            )
    taken = np.concatenate(rows_of) if rows_of else np.zeros(0, np.int64)
    which = np.repeat(np.arange(len(rows_of)), [len(r) for r in rows_of])
    free = np.setdiff1d(np.arange(nc), taken)
    rows = np.r_[taken, free]
    began = np.concatenate(
        [np.isin(r, st) for r, st in zip(rows_of, starters, strict=True)]
        + [np.zeros(len(free), dtype=bool)]
    )
    return corridors, Traversals(
        ids[first[cand[rows]]],
        start_s[rows],
        np.r_[which, np.full(len(free), -1)],
        began,
        convoy[cand[rows]],
    )


def convoy_passes(
    trav: Traversals, corridor: int, p: CorridorParams = CorridorParams()
) -> tuple[FloatArray, IntArray]:
    """Start times and first tracks of ``corridor``'s convoy passes (``convoy_pass_tracks``)."""
    mine = (trav.corridor == corridor) & trav.convoy
    order = np.argsort(trav.start_s[mine], kind="stable")
    t, ids = trav.start_s[mine][order], trav.track_id[mine][order]
    heads = _pass_heads(t, p)
    group = np.cumsum(heads) - 1
    size = np.bincount(group, minlength=1)
    head = heads & (size[group] >= p.convoy_pass_tracks)
    return t[head], ids[head]


def _pass_heads(t_sorted: FloatArray, p: CorridorParams) -> npt.NDArray[np.bool_]:
    """Which of the sorted start times begin a pass: tracks starting within
    ``same_pass_s`` of the one before are the same pass (e.g. a convoy's vehicles)."""
    return np.asarray(np.r_[True, np.diff(t_sorted) > p.same_pass_s][: len(t_sorted)], dtype=bool)


def _along(
    line: FloatArray, x: FloatArray, y: FloatArray, member: IntArray, n: int, p: CorridorParams
) -> IntArray:
    """The members (of ``n``) at least ``overlap_share`` of whose points ``x, y`` lie within
    ``link_m`` of ``line``."""
    near = shapely.distance(shapely.points(x, y), shapely.linestrings(line)) <= p.link_m
    count = np.bincount(member, minlength=n)
    share = np.bincount(member, weights=near, minlength=n) / np.maximum(count, 1)
    return np.flatnonzero((share >= p.overlap_share) & (count > 0))


@dataclass(frozen=True)
class _Candidates:
    """What every corridor of one run is drawn from: the observed rows (``first``/``last``
    row of each trajectory), the candidate trajectories ``cand`` and their rows' positions
    and velocities (``px``... in candidate order), the found sites and the run's context."""

    obs: TrackTable
    first: IntArray
    last: IntArray
    cand: IntArray
    px: FloatArray
    py: FloatArray
    pvx: FloatArray
    pvy: FloatArray
    sites: list[Site]
    site_xy: FloatArray
    info: RunInfo
    airspace: Airspace
    p: CorridorParams
    marking: Marking


def _corridor(
    number: int,
    ln: _Line,
    members: IntArray,
    passes: FloatArray,
    sel: npt.NDArray[np.bool_],
    ctx: _Candidates,
) -> Corridor:
    """The corridor drawn along ``ln`` from the rows ``sel`` of its ``members``."""
    line = ln.xy
    seen = _observed_share(line, ctx.px[sel], ctx.py[sel], ctx.p.link_m)
    lon, lat = ctx.info.frame.to_lonlat(line[:, 0], line[:, 1])
    bd = np.asarray(ctx.airspace.boundary_distance_m(lon[[0, -1]], lat[[0, -1]]))
    near_b = int(np.argmin(bd))
    has_border = bool(bd[near_b] <= ctx.p.near_border_m)
    if has_border and near_b == 0:  # orient the line towards the border
        lon, lat, line = lon[::-1], lat[::-1], line[::-1]
    elif not has_border and _against_traffic(
        line, ctx.px[sel], ctx.py[sel], ctx.pvx[sel], ctx.pvy[sel]
    ):
        lon, lat, line = lon[::-1], lat[::-1], line[::-1]  # the way most traffic drives
    reach = max(ctx.p.site_touch_m * 2, ctx.p.site_leave_m)
    from_site = (
        ctx.sites[ln.site].id
        if ln.site is not None
        else _site_near(ctx.sites, ctx.site_xy, line[0], reach)
    )
    to_site = None if has_border else _site_near(ctx.sites, ctx.site_xy, line[-1], reach)
    speeds = np.hypot(ctx.pvx[sel], ctx.pvy[sel])
    n_det = int(sel.sum())
    hours, _ = local_profiles(passes, ctx.info)
    conf = logistic_confidence(
        -2.0,
        {"traversals": (1.5, float(len(passes))), "detections/50": (0.5, n_det / 50)},
        ctx.info.nights,
    )
    return Corridor(
        id=f"corridor-{number:03d}",
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
            tuple(int(t) for t in ctx.obs.track_id[ctx.first[ctx.cand[members]]]),
            n_det,
            ("gmti",),
            ctx.info.utc(float(passes[0])),
            ctx.info.utc(float(ctx.obs.t_s[ctx.last[ctx.cand[members]]].max())),
        ),
        confidence=conf,
        marking=ctx.marking,
        observed_share=seen,
    )


def _leaves_or_arrives(
    obs: TrackTable,
    first: IntArray,
    last: IntArray,
    site_xy: FloatArray,
    site_d: FloatArray,
    site_k: IntArray,
    p: CorridorParams,
) -> npt.NDArray[np.bool_]:
    """Trajectories that begin within ``site_leave_m`` of a site driving away from it, or
    end that close driving towards it: a radar confirms a vehicle only after a few scans
    of motion, so a drive from a site is first seen a kilometre or two away.  ``site_d``
    and ``site_k``: every row's distance to its nearest site and that site's index."""
    out = np.zeros(len(first), dtype=bool)
    for rows, sign in ((first, 1.0), (last, -1.0)):
        off = np.column_stack([obs.x_m[rows], obs.y_m[rows]]) - site_xy[site_k[rows]]
        v = np.column_stack([obs.vx_mps[rows], obs.vy_mps[rows]]) * sign
        out |= (site_d[rows] <= p.site_leave_m) & (cosines(off, v) >= p.join_cos)
    return out


def _in_company(obs: TrackTable, p: CorridorParams) -> npt.NDArray[np.bool_]:
    """Rows with another trajectory's row within ``company_m`` and ``company_s``, heading
    the same way."""
    scale = p.company_m / p.company_s  # metres per second of time difference
    pts = np.column_stack([obs.x_m, obs.y_m, obs.t_s * scale])
    pairs = cKDTree(pts).query_pairs(p.company_m * np.sqrt(2.0), output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    v = np.column_stack([obs.vx_mps, obs.vy_mps])
    cos = cosines(v[i], v[j])
    ok = (
        (obs.track_id[i] != obs.track_id[j]) & (cos >= p.company_cos)
        & (np.hypot(obs.x_m[i] - obs.x_m[j], obs.y_m[i] - obs.y_m[j]) <= p.company_m)
        & (np.abs(obs.t_s[i] - obs.t_s[j]) <= p.company_s)
    )  # fmt: skip
    out = np.zeros(len(obs), dtype=bool)
    out[pairs[ok].ravel()] = True
    return out


def _chained_along_roads(
    obs: TrackTable,
    first: IntArray,
    last: IntArray,
    comp: IntArray,
    convoy: npt.NDArray[np.bool_],
    roads: RoadMap,
    p: CorridorParams,
) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Corridor components joined where convoys' drives continue from one to the other
    across a stretch the radar could not see, and which pieces continue a drive.

    A convoy trajectory ``j`` continues convoy trajectory ``i`` of another component when
    the road distance from a reference point of ``i`` to ``j``'s start (both within
    ``road_snap_m`` of a road) fits ``i``'s speed over the time between them: between
    ``chain_speed_lo`` and ``chain_speed_hi`` times it, give or take ``join_radius_m``.  The
    reference is ``i``'s end (``j`` starting 0..``chain_gap_s`` later; the speed at the end)
    or ``i``'s start (``j`` starting up to ``chain_gap_s`` after ``i`` ended; within
    ``chain_start_tolerance`` of ``i``'s median speed): a convoy's vehicles are tracked in
    turns, and a trajectory's end is often where
    the tracker lost its vehicle or took up another one, while its start, where a drive
    leaves a site, is where the drive began.  Two components are joined when that happens
    on at least ``min_traversals`` passes (chain ends more than ``same_pass_s`` apart): one
    chance meeting does not make one route."""
    cont = np.zeros(len(first), dtype=bool)
    conv = np.flatnonzero(convoy)
    if len(conv) < 2:
        return comp, cont
    t_first, t_last = obs.t_s[first], obs.t_s[last]
    d_end, n_end = roads.nearest(obs.x_m[last[conv]], obs.y_m[last[conv]])
    d_start, n_start = roads.nearest(obs.x_m[first[conv]], obs.y_m[first[conv]])
    # Each trajectory's median speed: its rows, sorted by trajectory then speed.
    lens = last - first + 1
    at = np.r_[0, np.cumsum(lens)[:-1]]
    rows = np.arange(lens.sum()) - np.repeat(at, lens) + np.repeat(first, lens)
    speed = np.hypot(obs.vx_mps[rows], obs.vy_mps[rows])
    speed = speed[np.lexsort((speed, np.repeat(np.arange(len(first)), lens)))]
    median_speed = speed[at + (lens - 1) // 2]
    # Reference points: every convoy trajectory's end, then its start.
    ok_end, ok_start = d_end <= p.road_snap_m, d_start <= p.road_snap_m
    ref = np.r_[conv[ok_end], conv[ok_start]]
    ref_t = np.r_[t_last[conv[ok_end]], t_first[conv[ok_start]]]
    ref_speed = np.r_[
        np.hypot(obs.vx_mps[last[conv[ok_end]]], obs.vy_mps[last[conv[ok_end]]]),
        median_speed[conv[ok_start]],
    ]
    starts = conv[ok_start]
    if not len(ref) or not len(starts):
        return comp, cont
    longest = float((t_last - t_first)[conv].max()) + p.chain_gap_s
    limit = float(ref_speed.max(initial=0.0)) * longest * p.chain_speed_hi + p.join_radius_m
    nodes, inv = np.unique(np.r_[n_end, n_start], return_inverse=True)
    dist = roads.distances(nodes, nodes, limit)
    node_of_end = dict(zip(conv.tolist(), inv[: len(conv)].tolist(), strict=True))
    node_of_start = dict(zip(conv.tolist(), inv[len(conv) :].tolist(), strict=True))
    ref_at = np.r_[inv[: len(conv)][ok_end], inv[len(conv) :][ok_start]]
    to = inv[len(conv) :][ok_start]
    # Every (reference, start) pair: road distance and time between them.
    i = np.repeat(np.arange(len(ref)), len(starts))
    j = np.tile(np.arange(len(starts)), len(ref))
    road = dist[ref_at[i], to[j]]
    ts = t_first[starts[j]]
    dt = ts - ref_t[i]
    after = ts - t_last[ref[i]]
    v = ref_speed[i] * dt
    from_start = i >= int(ok_end.sum())
    lo = np.where(from_start, 1.0 - p.chain_start_tolerance, p.chain_speed_lo)
    hi = np.where(from_start, 1.0 + p.chain_start_tolerance, p.chain_speed_hi)
    # From a start, the trajectory's own end must lie on the way to the next start.
    end_at = np.array([node_of_end[int(k)] for k in ref.tolist()], dtype=np.int64)
    start_at = np.array([node_of_start[int(k)] for k in ref.tolist()], dtype=np.int64)
    via = dist[start_at[i], end_at[i]] + dist[end_at[i], to[j]]
    on_way = ~from_start | (via <= road * 1.1 + 2.0 * p.join_radius_m)
    ok = (
        (comp[ref[i]] != comp[starts[j]]) & (dt > 0) & (after <= p.chain_gap_s)
        & (after > -p.same_pass_s) & on_way
        & (road <= hi * v + p.join_radius_m) & (road >= lo * v - p.join_radius_m)
    )  # fmt: skip
    ei, sj = ref[i[ok]], starts[j[ok]]
    if not len(ei):
        return comp, cont
    # Component pairs continued on enough passes (chain ends more than same_pass_s apart).
    t_end = t_last[ei]
    order = np.lexsort((t_end, comp[sj], comp[ei]))
    a, b, t = comp[ei][order], comp[sj][order], t_end[order]
    new_pair = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
    new_pass = new_pair | np.r_[True, np.diff(t) > p.same_pass_s]
    count = np.bincount(np.cumsum(new_pair) - 1, weights=new_pass)
    heads = np.flatnonzero(new_pair)[count >= p.min_traversals]
    good = np.column_stack([a[heads], b[heads]]).reshape(-1, 2)
    k = int(comp.max()) + 1
    g = coo_matrix((np.ones(len(good)), (good[:, 0], good[:, 1])), shape=(k, k))
    _, joined = connected_components(g, directed=False)
    kept = np.isin(comp[ei] * k + comp[sj], good[:, 0] * k + good[:, 1])
    cont[sj[kept]] = True
    return np.asarray(joined[comp], dtype=np.int64), cont


def _merge_chains(
    obs: TrackTable, first: IntArray, last: IntArray, a: IntArray, b: IntArray
) -> TrackTable:
    """Join trajectory ``a[k]``'s end to ``b[k]``'s start, best candidates first (each end
    and each start used once); the joined trajectory takes its earliest fragment's id."""
    ids = obs.track_id
    n = len(first)
    used_a = np.zeros(n, bool)
    used_b = np.zeros(n, bool)
    keep = np.zeros(len(a), bool)
    for k in range(len(a)):  # loop over candidate joins (one per track end at most)
        if not used_a[a[k]] and not used_b[b[k]]:
            keep[k] = used_a[a[k]] = used_b[b[k]] = True
    a, b = a[keep], b[keep]
    _, comp = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)))
    root = np.full(int(comp.max()) + 1, np.iinfo(np.int64).max)
    np.minimum.at(root, comp, ids[first])
    new_ids = np.repeat(root[comp], last - first + 1)
    order = np.lexsort((obs.t_s, new_ids))
    return TrackTable(
        new_ids[order], obs.t_s[order], obs.x_m[order], obs.y_m[order], obs.vx_mps[order],
        obs.vy_mps[order], obs.det_id[order], obs.source,
    )  # fmt: skip


def _joined(obs: TrackTable, p: CorridorParams) -> TrackTable:
    """``obs`` (observed rows, sorted by track then time) with the track ids of joined
    fragments replaced by the first fragment's id, re-sorted by trajectory then time."""
    ids = obs.track_id
    first = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    last = np.r_[first[1:] - 1, len(ids) - 1]
    n = len(first)
    if n < 2:
        return obs
    ex, ey, et = obs.x_m[last], obs.y_m[last], obs.t_s[last]
    evx, evy = obs.vx_mps[last], obs.vy_mps[last]
    sx, sy, st = obs.x_m[first], obs.y_m[first], obs.t_s[first]
    svx, svy = obs.vx_mps[first], obs.vy_mps[first]
    speed = np.maximum(np.hypot(evx, evy), np.hypot(svx, svy))
    reach = float(np.max(speed)) * p.join_gap_s * p.join_speed_factor + p.join_radius_m
    m = cKDTree(np.column_stack([ex, ey])).sparse_distance_matrix(
        cKDTree(np.column_stack([sx, sy])), reach, output_type="ndarray"
    )
    a, b, d = m["i"].astype(np.int64), m["j"].astype(np.int64), m["v"]
    dt = st[b] - et[a]
    ve = np.column_stack([evx[a], evy[a]])
    vs = np.column_stack([svx[b], svy[b]])
    cos = cosines(ve, vs)
    ok = (
        (a != b) & (dt > 0) & (dt <= p.join_gap_s)
        & (cos > -p.join_cos)
        & (d <= speed[a] * dt * p.join_speed_factor + p.join_radius_m)
    )  # fmt: skip
    a, b, dt = a[ok], b[ok], dt[ok]
    miss = np.hypot(sx[b] - (ex[a] + evx[a] * dt), sy[b] - (ey[a] + evy[a] * dt))
    order = np.argsort(miss, kind="stable")
    # One successor per end and one predecessor per start, best prediction first (greedy).
    return _merge_chains(obs, first, last, a[order], b[order])


@dataclass(frozen=True)
class _Trace:
    """The trace graph: cell of each point, cell mean points, links and their support."""

    cell: IntArray
    cx: FloatArray
    cy: FloatArray
    a: IntArray
    b: IntArray
    support: FloatArray
    cell_support: FloatArray
    convoy: FloatArray
    """Each link's support from trajectories in company alone (a convoy's drives)."""
    cell_convoy: FloatArray


def _trace(
    x: FloatArray,
    y: FloatArray,
    member: IntArray,
    weight: FloatArray,
    convoy: FloatArray,
    p: CorridorParams,
    roads: RoadMap | None = None,
) -> _Trace | None:
    """Points fall in ``bin_m`` cells; consecutive points of one member (at most
    ``trace_step_m`` apart, and with a road map not a jump between roads that do not meet)
    link their cells, pieces of the graph are bridged (see ``_bridges``; with a road map,
    only where the road between them is short too); a link's support is the summed
    ``weight`` of the members that drove it, its convoy support the summed ``convoy`` (a
    bridge: the smaller support of its two cells)."""
    if len(x) < 2:
        return None
    ij = np.column_stack([np.floor(x / p.bin_m), np.floor(y / p.bin_m)]).astype(np.int64)
    cells, cell = np.unique(ij, axis=0, return_inverse=True)
    cell = cell.ravel()
    n = len(cells)
    if n < 2:
        return None
    cx = np.bincount(cell, weights=x, minlength=n) / np.bincount(cell, minlength=n)
    cy = np.bincount(cell, weights=y, minlength=n) / np.bincount(cell, minlength=n)
    same = member[1:] == member[:-1]
    step = np.hypot(np.diff(x), np.diff(y))
    a, b = cell[:-1], cell[1:]
    ok = same & (a != b) & (step <= p.trace_step_m)
    long = np.flatnonzero(ok & (step > 2.0 * p.bin_m))
    if roads is not None and len(long):  # a jump between roads that do not meet
        ok[long] = _road_consistent(x[long], y[long], x[long + 1], y[long + 1], roads, p)
    if not ok.any():
        return None
    # Support: each member counts once per link and once per cell.
    lo, hi, who = np.minimum(a, b)[ok], np.maximum(a, b)[ok], member[:-1][ok]
    links = np.unique(np.column_stack([lo, hi, who]), axis=0)
    pairs, inv = np.unique(links[:, :2], axis=0, return_inverse=True)
    support = np.bincount(inv.ravel(), weights=weight[links[:, 2]])
    in_company = np.bincount(inv.ravel(), weights=convoy[links[:, 2]])
    visits = np.unique(np.column_stack([cell, member]), axis=0)
    cell_support: FloatArray = np.asarray(
        np.bincount(visits[:, 0], weights=weight[visits[:, 1]], minlength=n), dtype=np.float64
    )
    cell_convoy: FloatArray = np.asarray(
        np.bincount(visits[:, 0], weights=convoy[visits[:, 1]], minlength=n), dtype=np.float64
    )
    a, b = pairs[:, 0], pairs[:, 1]
    ba, bb = _bridges(cx, cy, a, b, p.bridge_m)
    if roads is not None and len(ba):
        keep = _road_consistent(cx[ba], cy[ba], cx[bb], cy[bb], roads, p)
        ba, bb = ba[keep], bb[keep]
    a, b = np.r_[a, ba], np.r_[b, bb]
    support = np.r_[support, np.minimum(cell_support[ba], cell_support[bb])]
    in_company = np.r_[in_company, np.minimum(cell_convoy[ba], cell_convoy[bb])]
    return _Trace(cell, cx, cy, a, b, support, cell_support, in_company, cell_convoy)


def _road_consistent(
    xa: FloatArray,
    ya: FloatArray,
    xb: FloatArray,
    yb: FloatArray,
    roads: RoadMap,
    p: CorridorParams,
) -> npt.NDArray[np.bool_]:
    """Which straight links (``xa, ya``)-(``xb, yb``) the road map does not contradict: a
    point off the roads (farther than ``road_snap_m``) may be anywhere, but between two
    points on roads the road must be at most twice the straight distance (plus
    ``2 road_snap_m``), so two roads that pass close by without meeting are not short-cut."""
    n = len(xa)
    d, node = roads.nearest(np.r_[xa, xb], np.r_[ya, yb])
    na, nb = node[:n], node[n:]
    on = (d[:n] <= p.road_snap_m) & (d[n:] <= p.road_snap_m)
    keep = ~on
    if on.any():
        limit = 2.0 * np.hypot(xb - xa, yb - ya) + 2.0 * p.road_snap_m
        src, at = np.unique(na[on], return_inverse=True)
        dst, to = np.unique(nb[on], return_inverse=True)
        dist = roads.distances(src, dst, float(limit[on].max()))
        keep[on] = dist[at.ravel(), to.ravel()] <= limit[on]
    return keep


def _road_bridges(
    t: _Trace, roads: RoadMap, p: CorridorParams
) -> tuple[FloatArray, FloatArray, IntArray, FloatArray] | None:
    """Points along roads joining the pieces of trace ``t``: from each piece, the shortest
    road (at most ``road_bridge_m``) to the nearest other piece, between cells within
    ``road_snap_m`` of a road.  Returns the points (x, y), the road each belongs to and
    each road's support and convoy support (``(k, 2)``: the smaller of the two cells it
    joins), or None when the trace is one piece or no road joins its pieces."""
    n = len(t.cx)
    g = coo_matrix((np.ones(len(t.a)), (t.a, t.b)), shape=(n, n))
    k, piece = connected_components(g, directed=False)
    if k < 2:
        return None
    d, node = roads.nearest(t.cx, t.cy)
    # Only pieces some of whose cells carry a good share of the best support take part.
    peak = np.zeros(k)
    np.maximum.at(peak, piece, t.cell_support)
    strong = peak[piece] >= p.road_piece_share * peak.max()
    on_road = (d <= p.road_snap_m) & strong
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    ws: list[tuple[float, float]] = []
    for q in range(k):  # loop over the trace's pieces (a handful), not points
        mine = on_road & (piece == q)
        others = np.flatnonzero(on_road & (piece != q))
        if not mine.any() or not len(others):
            continue
        dist, pred, src = roads.shortest_from(node[mine], p.road_bridge_m)
        reach = dist[node[others]]
        if not np.isfinite(reach).any():
            continue
        far_cell = others[int(np.argmin(reach))]
        nodes = path_to_source(pred, int(node[far_cell]))
        near_cell = np.flatnonzero(mine)[np.argmax(node[mine] == src[node[far_cell]])]
        xs.append(roads.x_m[nodes])
        ys.append(roads.y_m[nodes])
        ends = [far_cell, near_cell]
        ws.append((float(t.cell_support[ends].min()), float(t.cell_convoy[ends].min())))
    if not xs:
        return None
    sizes = np.array([len(v) for v in xs])
    road = np.repeat(np.arange(len(xs)), sizes)
    return np.concatenate(xs), np.concatenate(ys), road, np.array(ws)


@dataclass(frozen=True)
class _Line:
    """A corridor's centre line (local metres) and the found site it starts from (index
    into the sites passed in; None for a line that is not a site's route to the border)."""

    xy: FloatArray
    site: int | None


def _route_lines(
    x: FloatArray,
    y: FloatArray,
    member: IntArray,
    weight: FloatArray,
    convoy: FloatArray,
    p: CorridorParams,
    roads: RoadMap | None,
    site_xy: FloatArray,
    border_m: Callable[[FloatArray, FloatArray], FloatArray],
    watch: _Watch | None = None,
) -> list[_Line]:
    """A corridor's centre lines: its sites' routes to the border, or its most driven route.

    The trace (see ``_trace``) is a graph of cells with links supported by the members
    that drove them; with a road map, its pieces are joined along roads (see
    ``_road_bridges``).  On the graph's maximum-support spanning tree, every path from a
    found site (within ``site_leave_m`` of a cell) to a leaf of the tree within
    ``near_border_m`` of the border, at
    least ``convoy_share`` of whose length convoys drove (links with a convoy support of 1
    or more) is a line, unless ``route_new_share`` of its length is not new (heaviest paths
    first, a path's weight being the sum of its links' length x support).  A corridor with
    no such path is drawn along its heaviest path (the tree's weighted diameter, two
    Dijkstra passes).  Lines run through the cells' mean points: so routes observed
    piecewise over several passes are drawn whole, a branch a few members drove does not
    pull a line off the road most of them took, and two convoys' routes that share a road
    are two lines."""
    t = _trace(x, y, member, weight, convoy, p, roads)
    if t is None:
        return []
    if roads is not None:
        extra = _road_bridges(t, roads, p)
        if extra is not None:  # each road is traced as a member of its own
            rx, ry, road, rw = extra
            x, y = np.r_[x, rx], np.r_[y, ry]
            member = np.r_[member, len(weight) + road]
            w, c = np.r_[weight, rw[:, 0]], np.r_[convoy, rw[:, 1]]
            t = _trace(x, y, member, w, c, p, roads) or t
    n = len(t.cx)
    a, b, support = t.a, t.b, t.support
    length = np.hypot(t.cx[a] - t.cx[b], t.cy[a] - t.cy[b]) + 1e-3
    # Maximum-support spanning tree (shorter links first among equals).
    cost = 1.0 / support + 1e-9 * length
    tree = minimum_spanning_tree(coo_matrix((cost, (a, b)), shape=(n, n)))
    on_tree = (tree + tree.T) > 0

    def sym(v: FloatArray) -> sparse.csr_matrix:
        m = coo_matrix((v, (a, b)), shape=(n, n)).tocsr()
        return (m + m.T).multiply(on_tree).tocsr()

    g = sym(length * support)
    _, comp = connected_components(g, directed=False)
    big = np.flatnonzero(comp == np.bincount(comp).argmax())
    lengths, convoys = sym(length), sym(t.convoy)
    # The heaviest path: on a tree the farthest cell from any cell is an end of it.
    d0 = dijkstra(g, directed=False, indices=int(big[0]))
    u = int(np.argmax(np.where(np.isfinite(d0), d0, -1.0)))
    du, pred = dijkstra(g, directed=False, indices=u, return_predecessors=True)
    v = int(np.argmax(np.where(np.isfinite(du), du, -1.0)))
    heaviest = _walk(pred, v, u)[::-1]
    found = _site_routes(t, g, lengths, convoys, big, p, site_xy, border_m, roads, watch)
    paths: list[tuple[list[int], int | None]] = []
    ahead: dict[int, FloatArray] = {}  # road ahead of a trace's end (cell) to the border
    for _, cells, at, tail in sorted(found, key=lambda f: -f[0]):
        paths.append((cells, at))
        if tail is not None:
            ahead[cells[-1]] = tail
    if not paths:  # no site's route to the border: the heaviest path, whoever drove it
        paths = [(heaviest, None)]
        lines = paths
    else:  # and the heaviest path too, if convoys drove what it adds
        lines = _distinct([*paths, (heaviest, None)], lengths, convoys, p)
    out: list[_Line] = []
    for cells, site in lines:
        if len(cells) < 2:
            continue
        xy = np.column_stack([t.cx[cells], t.cy[cells]])
        if site is not None and cells[-1] in ahead:
            xy = np.vstack([xy, ahead[cells[-1]]])
        line = shapely.linestrings(xy)
        xy = np.asarray(shapely.get_coordinates(shapely.simplify(line, p.simplify_m)))
        out.append(_Line(xy, site))
    return out


def _walk(pred: npt.NDArray[np.int32], v: int, u: int) -> list[int]:
    """The cells from ``v`` back to ``u`` along Dijkstra's predecessors (cells, not
    points)."""
    path = [v]
    while path[-1] != u:
        path.append(int(pred[path[-1]]))
    return path


def _site_routes(
    t: _Trace,
    g: sparse.csr_matrix,
    length: sparse.csr_matrix,
    convoy: sparse.csr_matrix,
    big: IntArray,
    p: CorridorParams,
    site_xy: FloatArray,
    border_m: Callable[[FloatArray, FloatArray], FloatArray],
    roads: RoadMap | None = None,
    watch: _Watch | None = None,
) -> list[tuple[float, list[int], int, FloatArray | None]]:
    """The paths of ``_route_lines``' first rule, as cells from the site to the border,
    each with its weight, its site's index and, for a trace that ends short of the border,
    the road ahead to it (``_road_ahead``; None when the trace reaches it)."""
    if not len(site_xy):
        return []
    d, k = cKDTree(np.column_stack([t.cx[big], t.cy[big]])).query(site_xy)
    near_site = np.flatnonzero(d <= p.site_leave_m)
    if not len(near_site):  # no site's route here: no road search either
        return []
    # The ends: leaves of the tree near the border, or short of it with the road ahead.
    degree = np.diff(g.indptr)
    leaves = big[degree[big] == 1]
    to_border = border_m(t.cx[leaves], t.cy[leaves])
    tails: dict[int, FloatArray | None] = {
        int(c): None for c in leaves[to_border <= p.near_border_m]
    }
    if roads is not None:
        short = leaves[(to_border > p.near_border_m) & (to_border <= p.border_ahead_m)]
        for leaf in short.tolist():  # a few leaves, each one road search
            tail = _road_ahead(t, g, convoy, leaf, roads, p, border_m)
            if tail is not None:
                tails[leaf] = tail
    if not tails:
        return []
    found: list[tuple[float, list[int], int, FloatArray | None]] = []
    for site in near_site.tolist():  # a few sites and border ends, not points
        start = int(big[k[site]])
        dist, pred = dijkstra(g, directed=False, indices=start, return_predecessors=True)
        for end, tail in tails.items():
            if not np.isfinite(dist[end]) or end == start:
                continue
            cells = _walk(pred, end, start)[::-1]
            seg, driven = _links(cells, length, convoy)
            if seg.sum() >= p.min_length_m and seg[driven].sum() >= p.convoy_share * seg.sum():
                if watch is not None and watch.contradicted(t, cells, seg, convoy):
                    continue
                found.append((float(dist[end]), cells, site, tail))
    return found


class _Watch:
    """Where the radar could have seen a corridor's convoys, link by link of its trace: the
    seconds of scans whose sector held the link with a vehicle driving along it at the
    corridor's median speed at least ``mdv_mps`` along the line of sight (the radar's
    minimum detectable velocity: it is blind to one driving across it).  One per trace:
    links are keyed by its cells, and their seconds kept for the paths to come."""

    def __init__(
        self,
        scans: ScanTable,
        dwell_s: FloatArray,
        mdv_mps: float,
        speed_mps: float,
        p: CorridorParams,
    ) -> None:
        self.scans = scans
        self.dwell = dwell_s
        self.mdv = mdv_mps
        self.speed = speed_mps
        self.p = p
        self.seen: dict[tuple[int, int], float] = {}

    def seconds(self, t: _Trace, u: IntArray, v: IntArray) -> FloatArray:
        """Seconds the radar could have seen a convoy on each link ``u[k]``-``v[k]``."""
        keys = [(min(a, b), max(a, b)) for a, b in zip(u.tolist(), v.tolist(), strict=True)]
        new = [k for k in dict.fromkeys(keys) if k not in self.seen]
        if new:
            a, b = np.array(new, dtype=np.int64).T
            x, y = (t.cx[a] + t.cx[b]) / 2.0, (t.cy[a] + t.cy[b]) / 2.0
            ux, uy = t.cx[b] - t.cx[a], t.cy[b] - t.cy[a]
            norm = np.maximum(np.hypot(ux, uy), 1e-9)
            sc = self.scans
            out = np.zeros(len(new))
            for k in range(0, len(new), 64):  # (scans x 64 links) at a time
                s = slice(k, k + 64)
                lx, ly = x[s][None, :] - sc.x_m[:, None], y[s][None, :] - sc.y_m[:, None]
                radial = (
                    self.speed * np.abs(ux[s] * lx + uy[s] * ly)
                    / (norm[s] * np.maximum(np.hypot(lx, ly), 1e-9))
                )  # fmt: skip
                out[s] = self.dwell @ (sc.looked(x[s], y[s]) & (radial >= self.mdv))
            self.seen.update(zip(new, out.tolist(), strict=True))
        return np.array([self.seen[k] for k in keys], dtype=np.float64)

    def contradicted(
        self, t: _Trace, cells: list[int], seg: FloatArray, convoy: sparse.csr_matrix
    ) -> bool:
        """Whether the radar watched ``contradicted_m`` or more of the path ``cells`` (links
        ``seg`` long) for at least ``watched_min_s`` each and saw convoys on it at under
        ``watched_share`` of the rate (convoy support per second watched) of the path's
        median watched link.  Links it did not watch neither make nor break the stretch."""
        u, v = np.asarray(cells[:-1], dtype=np.int64), np.asarray(cells[1:], dtype=np.int64)
        watched_s = self.seconds(t, u, v)
        watched = watched_s >= self.p.watched_min_s
        if not watched.any():
            return False
        rate = np.asarray(convoy[u, v], dtype=np.float64).ravel() / np.maximum(watched_s, 1.0)
        low = watched & (rate < self.p.watched_share * float(np.median(rate[watched])))
        stretch = longest = 0.0
        for length, is_low, is_watched in zip(
            seg.tolist(), low.tolist(), watched.tolist(), strict=True
        ):  # the links of one path (tens)
            if is_low:
                stretch += length
            elif is_watched:
                stretch = 0.0
            longest = max(longest, stretch)
        return longest >= self.p.contradicted_m


def _driven_share(
    t: _Trace, g: sparse.csr_matrix, convoy: sparse.csr_matrix, leaf: int, span_m: float
) -> float:
    """The share of the tree's last ``span_m`` before ``leaf`` (back to the first fork)
    that convoys drove (links with a convoy support of 1 or more)."""
    prev, here = -1, leaf
    driven = total = 0.0
    while total < span_m:  # one cell at a time along a branch (tens of cells)
        nxt = [int(c) for c in g[here].indices if c != prev]
        if len(nxt) != 1:
            break
        step = float(np.hypot(t.cx[here] - t.cx[nxt[0]], t.cy[here] - t.cy[nxt[0]]))
        total += step
        driven += step if float(convoy[here, nxt[0]]) >= 1.0 else 0.0
        prev, here = here, nxt[0]
    return driven / total if total > 0 else 0.0


_AHEAD_TRIES = 200
"""Road nodes near the border tried, best first, for the road ahead of a trace's end."""


def _road_ahead(
    t: _Trace,
    g: sparse.csr_matrix,
    convoy: sparse.csr_matrix,
    leaf: int,
    roads: RoadMap,
    p: CorridorParams,
    border_m: Callable[[FloatArray, FloatArray], FloatArray],
) -> FloatArray | None:
    """The road from a trace's end ``leaf`` on to the border (road nodes, local metres), or
    None.  Only where convoys drove up to the leaf (at least ``convoy_share`` of the trace's
    last ``border_ahead_m / 2`` before it, see ``_driven_share``), the leaf lies within
    ``road_snap_m`` of a road, and the shortest road from it to a road node
    within ``near_border_m`` of the border (the one that minimises the road distance plus
    twice its distance to the border), at most ``2 x border_ahead_m`` long, leaves the
    way the convoys drove (its first ``2 x road_snap_m`` within acos(``ahead_cos``) of the
    heading along the link): the radar lost the convoys short of the border, on a road that
    goes on to it.  The part carried is inferred, not observed (``observed_share``)."""
    nb = int(g[leaf].indices[0])
    if _driven_share(t, g, convoy, leaf, p.border_ahead_m / 2.0) < p.convoy_share:
        return None
    heading = np.array([t.cx[leaf] - t.cx[nb], t.cy[leaf] - t.cy[nb]])
    norm = float(np.hypot(*heading))
    snap, node = roads.nearest(np.array([t.cx[leaf]]), np.array([t.cy[leaf]]))
    if norm <= 0.0 or snap[0] > p.road_snap_m:
        return None
    dist, pred, _ = roads.shortest_from(node, 2.0 * p.border_ahead_m)
    reach = np.flatnonzero(np.isfinite(dist))
    gap = border_m(roads.x_m[reach], roads.y_m[reach])
    close = gap <= p.near_border_m
    # Best first: short on the road and close to the border (a road that runs along the
    # border is not followed beyond where it comes closest).
    cost = dist[reach[close]] + 2.0 * gap[close]
    for end in reach[close][np.argsort(cost)][:_AHEAD_TRIES].tolist():
        path = path_to_source(pred, end)
        px, py = roads.x_m[path], roads.y_m[path]
        first = np.flatnonzero(np.hypot(px - px[0], py - py[0]) >= 2.0 * p.road_snap_m)
        if not len(first):
            continue
        step = np.array([px[first[0]] - px[0], py[first[0]] - py[0]])
        if step @ heading >= p.ahead_cos * norm * float(np.hypot(*step)):
            return np.column_stack([px, py])
    return None


def _links(
    cells: list[int], length: sparse.csr_matrix, convoy: sparse.csr_matrix
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """The length of each link along ``cells`` and whether convoys drove it (a convoy
    support of 1 or more)."""
    u, v = np.asarray(cells[:-1]), np.asarray(cells[1:])
    seg = np.asarray(length[u, v], dtype=np.float64).ravel()
    return seg, np.asarray(convoy[u, v]).ravel() >= 1.0


def _distinct(
    paths: list[tuple[list[int], int | None]],
    length: sparse.csr_matrix,
    convoy: sparse.csr_matrix,
    p: CorridorParams,
) -> list[tuple[list[int], int | None]]:
    """``paths`` in turn, each kept when at least ``route_new_share`` of its length is on
    links no kept path took, and convoys drove at least ``convoy_share`` of that new part.
    The heaviest path (no site) is new against each kept path on its own: the convoys'
    through route past a site is the site's two routes end to end, and still drawn."""
    kept: list[tuple[list[int], int | None]] = []
    taken: set[tuple[int, int]] = set()
    each: list[set[tuple[int, int]]] = []  # the links of each kept path
    for cells, site in paths:
        links = [(min(i, j), max(i, j)) for i, j in itertools.pairwise(cells)]
        seg, driven = _links(cells, length, convoy)
        if site is None and each:  # the heaviest path: new against each site's route
            best = max(each, key=lambda k: float(seg[[lk in k for lk in links]].sum()))
            new = np.array([lk not in best for lk in links])
        else:
            new = np.array([lk not in taken for lk in links])
        fresh = seg[new].sum()
        if fresh >= p.route_new_share * seg.sum() and (
            seg[new & driven].sum() >= p.convoy_share * fresh
        ):
            kept.append((cells, site))
            taken.update(links)
            each.append(set(links))
    return kept


def _observed_share(line: FloatArray, x: FloatArray, y: FloatArray, near_m: float) -> float:
    """Share of ``line``'s length within ``near_m`` of a point ``x, y`` (sampled every
    25 m)."""
    ls = shapely.linestrings(line)
    probe = shapely.get_coordinates(
        shapely.line_interpolate_point(ls, np.arange(12.5, max(ls.length, 25.0), 25.0))
    )
    d, _ = cKDTree(np.column_stack([x, y])).query(probe)
    return round(float(np.mean(d <= near_m)), 3)


def _against_traffic(
    line: FloatArray, x: FloatArray, y: FloatArray, vx: FloatArray, vy: FloatArray
) -> bool:
    """Whether most of the members' points (``x, y`` moving at ``vx, vy``) move from the
    line's end towards its start."""
    ls = shapely.linestrings(line)
    s0 = shapely.line_locate_point(ls, shapely.points(x, y))
    s1 = shapely.line_locate_point(ls, shapely.points(x + 10.0 * vx, y + 10.0 * vy))
    return bool(np.sum(np.sign(s1 - s0)) < 0)


def _bridges(
    cx: FloatArray, cy: FloatArray, a: IntArray, b: IntArray, bridge_m: float
) -> tuple[IntArray, IntArray]:
    """Bridges between pieces of the trace (cells ``cx, cy`` linked by ``a``-``b``): cells of
    different pieces (connected parts of the graph) within ``bridge_m`` of each other, as
    pairs ``i < j``, so a route whose parts were traced by tracks a lane of cells apart (or
    lost in a turn) is one line without detours, while cells of one piece (two roads
    already joined elsewhere) get no shortcut."""
    n = len(cx)
    none = np.zeros(0, dtype=np.int64)
    g = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    k, piece = connected_components(g, directed=False)
    if k < 2:
        return none, none
    pairs = cKDTree(np.column_stack([cx, cy])).query_pairs(bridge_m, output_type="ndarray")
    if not len(pairs):
        return none, none
    pairs = pairs[piece[pairs[:, 0]] != piece[pairs[:, 1]]]
    return pairs[:, 0], pairs[:, 1]


def _site_near(
    sites: list[Site], site_xy: FloatArray, xy: FloatArray, radius_m: float
) -> str | None:
    if not sites:
        return None
    d = np.hypot(site_xy[:, 0] - xy[0], site_xy[:, 1] - xy[1])
    k = int(np.argmin(d))
    return sites[k].id if d[k] <= radius_m else None
