"""The standoff planner: where to orbit so the sensors see as much of the AOIs as physics
allows, without the aircraft ever coming within the margin of forbidden airspace.

1. Flyable region: the operator's own and international airspace minus every forbidden area
   grown by the margin, restricted to the piece connected to the base.
2. Coverable region of an AOI: the part within the longest sensor's ground reach of the
   flyable region: what any legal orbit could ever see.
3. Candidate racetracks (and circles) along the flyable region's edge facing the AOIs, with
   the turn radius the aircraft can fly in the planning wind; greedy maximal-covering
   selection over priority-weighted cells (within 1 - 1/e of the optimum for the same number
   of orbits; a data-dependent bound is reported too).
4. Transits: shortest legal routes (visibility graph), endurance and reserve checked; time on
   station split across the orbits by what each adds.
5. With ``radar_aim: planned``, the moving-target radar's azimuth on each orbit: its
   sector (``fov_deg``) sees less than the ground annulus the orbits were chosen on, so
   each orbit is given the azimuth that holds the look points in reach and, with the
   others', best covers the AOIs for the time on station (coordinate ascent over
   ``radar_step_deg`` steps from the AOIs' centroid, see ``radar_saturation_s``): an orbit
   whose near AOIs another orbit watches turns to what nobody sees.  By default
   (``aois``) the sector is centred on the AOIs in reach, which the analysis measures
   best with today (``benchmarks/README.md``).
6. The whole nominal path is checked exactly by :func:`standoff.airspace.check_path`; a
   non-conformant plan is a bug that raises, never an output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from standoff.airspace import Airspace, FlightPath, check_path
from standoff.core.errors import AirspaceViolation, InfeasiblePlan
from standoff.domain.detections import in_sector
from standoff.domain.mission import AoiCoverage, MissionPlan, Orbit, PlanLeg
from standoff.geo.frame import LocalFrame
from standoff.geo.geodesy import WGS84, geodesic_interpolate
from standoff.plan.mission_file import MissionRequest
from standoff.plan.transit import shortest_path
from standoff.platforms import as_profile
from standoff.platforms.footprint import aimed_sector

__all__ = ["PlannerOptions", "plan_mission"]

FloatArray = npt.NDArray[np.float64]

_RADAR_STEP_M = 2_000.0
"""Spacing of the positions round an orbit from which the radar's sweep is drawn."""


@dataclass(frozen=True)
class PlannerOptions:
    candidate_spacing_m: float = 2_000.0
    leg_lengths_m: tuple[float, ...] = (0.0, 10_000.0, 20_000.0, 30_000.0, 40_000.0, 60_000.0)
    max_cells: int = 12_000
    min_gain_fraction: float = 0.005
    """Stop adding orbits when one adds less than this share of the coverable weight."""
    safety_fraction: float = 0.01
    """Allowance for the local frame's scale error, as a share of every distance kept."""
    safety_m: float = 100.0
    transit_spacing_m: float = 1_000.0
    orbit_spacing_m: float = 150.0
    look_share: float = 0.15
    """Share of the time on station given to each look point, on the orbit that first keeps
    it in reach (the rest is shared by the AOI coverage each orbit adds)."""
    radar_step_deg: float = 5.0
    """The radar azimuths the planner weighs for each orbit, this far apart."""
    radar_saturation_s: float = 14_400.0
    """Watching a place this long earns 1 - 1/e of what watching it all night would: the
    radar azimuths maximise the priority-weighted sum of 1 - exp(-t / this) over the AOI
    cells, ``t`` the time on station of the orbits whose sector holds the cell.  Patterns
    of life and change alerts count passes over the night, so a place one orbit watches for
    two hours is still worth another's time (with an hour, the demo's orbit-2 turned
    away from the road to bp-sasabe; ``benchmarks/README.md``)."""


def _largest_part_containing(geom: BaseGeometry, point: Point) -> BaseGeometry | None:
    for part in shapely.get_parts(geom):
        if part.covers(point):
            return part
    return None


def _segment_distance(px: FloatArray, py: FloatArray, a: FloatArray, b: FloatArray) -> FloatArray:
    """Distance from points (n,) to segments a-b (m, 2): an (m, n) matrix."""
    ab = b - a
    ab2 = np.einsum("ij,ij->i", ab, ab)
    t = ((px[None, :] - a[:, :1]) * ab[:, :1] + (py[None, :] - a[:, 1:]) * ab[:, 1:]) / np.where(
        ab2 > 0, ab2, 1.0
    )[:, None]
    np.clip(t, 0.0, 1.0, out=t)
    dx = px[None, :] - (a[:, :1] + t * ab[:, :1])
    dy = py[None, :] - (a[:, 1:] + t * ab[:, 1:])
    return np.asarray(np.hypot(dx, dy), dtype=np.float64)


def _racetrack_loop(a: FloatArray, b: FloatArray, radius: float, spacing: float) -> FloatArray:
    """Closed clockwise loop around axis a-b at ``radius``, starting on the first leg."""
    d = b - a
    length = float(np.hypot(*d))
    u = d / length if length > 0 else np.array([1.0, 0.0])
    n = np.array([u[1], -u[0]])  # right-hand normal: clockwise when flying a->b on the left side
    start = a - n * radius
    pieces = []
    legs = max(2, int(length / (spacing * 4)) + 2)
    heading0 = np.arctan2(-n[1], -n[0])
    arc_pts = max(16, int(np.pi * radius / spacing) + 1)
    if length > 0:
        pieces.append(start + np.outer(np.linspace(0, length, legs), u))
    ang = heading0 - np.linspace(0.0, np.pi, arc_pts)  # clockwise around b
    pieces.append(b + radius * np.column_stack([np.cos(ang), np.sin(ang)]))
    if length > 0:
        pieces.append((b + n * radius) - np.outer(np.linspace(0, length, legs), u))
    ang = heading0 + np.pi - np.linspace(0.0, np.pi, arc_pts)
    pieces.append(a + radius * np.column_stack([np.cos(ang), np.sin(ang)]))
    loop = np.vstack(pieces)
    keep = np.ones(len(loop), dtype=bool)
    keep[1:] = np.hypot(*np.diff(loop, axis=0).T) > 1e-6
    loop = loop[keep]
    return np.vstack([loop, loop[:1]])


def _cw_tangent_angle(
    centre: FloatArray, radius: float, point: FloatArray, *, arriving: bool
) -> float | None:
    """Angle (radians, from +x) of the point where a straight line from (``arriving``) or to
    ``point`` touches the circle and continues clockwise along it; None inside the circle."""
    d = point - centre
    dist = float(np.hypot(*d))
    if dist <= radius * 1.001:
        return None
    phi = float(np.arctan2(d[1], d[0]))
    alpha = float(np.arccos(radius / dist))
    for theta in (phi + alpha, phi - alpha):
        touch = centre + radius * np.array([np.cos(theta), np.sin(theta)])
        clockwise = np.array([np.sin(theta), -np.cos(theta)])
        direction = (touch - point) if arriving else (point - touch)
        if float(direction @ clockwise) > 0:
            return theta
    return None  # pragma: no cover - one of the two tangents always runs clockwise


def _cw_arc(
    centre: FloatArray, radius: float, from_rad: float, to_rad: float, spacing: float
) -> FloatArray:
    """Points of the clockwise arc from angle ``from_rad`` to ``to_rad`` (both included)."""
    sweep = (from_rad - to_rad) % (2.0 * np.pi)
    n = max(2, int(np.ceil(sweep * radius / spacing)) + 1)
    ang = from_rad - np.linspace(0.0, sweep, n)
    return centre + radius * np.column_stack([np.cos(ang), np.sin(ang)])


@dataclass(frozen=True)
class _OrbitJoin:
    """Where a transit meets an orbit: the centre of the orbit's first turn and the angle of
    the orbit's start point on that turn circle (orbits are flown clockwise)."""

    centre: FloatArray
    start_rad: float


@dataclass(frozen=True)
class _Leg:
    """A transit polyline; ``arc[i]`` tells whether segment ``i`` is on a turn circle."""

    xy: FloatArray
    arc: npt.NDArray[np.bool_]

    def seconds(self, cruise_mps: float, loiter_mps: float) -> float:
        seg = np.hypot(*np.diff(self.xy, axis=0).T)
        return float((seg / np.where(self.arc, loiter_mps, cruise_mps)).sum())

    def speeds(self, cruise_mps: float, loiter_mps: float) -> FloatArray:
        return np.where(self.arc, loiter_mps, cruise_mps).astype(np.float64)


def _fillet(
    a: FloatArray, v: FloatArray, b: FloatArray, radius: float, spacing: float
) -> FloatArray | None:
    """The arc of ``radius`` tangent to the segments a-v and v-b, from the first tangent
    point to the second (None when the bend is too slight, too sharp, or the segments too
    short for it)."""
    u1, u2 = v - a, b - v
    l1, l2 = float(np.hypot(*u1)), float(np.hypot(*u2))
    if l1 < 1e-6 or l2 < 1e-6:
        return None
    u1, u2 = u1 / l1, u2 / l2
    turn = float(np.arctan2(u1[0] * u2[1] - u1[1] * u2[0], u1 @ u2))  # + left, - right
    if abs(turn) < np.radians(1.0) or abs(turn) > np.radians(150.0):
        return None
    t = radius * np.tan(abs(turn) / 2.0)
    if t > 0.5 * l1 or t > 0.5 * l2:
        return None
    p1 = v - u1 * t
    left = np.array([-u1[1], u1[0]])
    centre = p1 + left * radius * np.sign(turn)
    a0 = float(np.arctan2(*(p1 - centre)[::-1]))
    n = max(2, int(np.ceil(abs(turn) * radius / spacing)) + 1)
    ang = a0 + np.linspace(0.0, turn, n)
    return np.asarray(centre + radius * np.column_stack([np.cos(ang), np.sin(ang)]), np.float64)


def _filleted(
    inner: FloatArray,
    before: FloatArray | None,
    after: FloatArray | None,
    radius: float,
    spacing: float,
) -> list[tuple[FloatArray, bool]]:
    """``inner``'s bends rounded with turn-radius arcs (see :func:`_fillet`), as pieces
    (straight points, arc points); ``before``/``after`` are the points the transit comes
    from and goes to."""
    if len(inner) == 0:
        return []
    pts = [p for p in (before,) if p is not None] + list(inner)
    pts += [p for p in (after,) if p is not None]
    hi = len(pts) - 1
    out: list[tuple[FloatArray, bool]] = []
    straight: list[FloatArray] = []
    for i in range(len(pts)):  # a loop over a transit's few bends
        if (before is not None and i == 0) or (after is not None and i == hi):
            continue
        arc = _fillet(pts[i - 1], pts[i], pts[i + 1], radius, spacing) if 1 <= i < hi else None
        if arc is None:
            straight.append(pts[i])
            continue
        if straight:
            out.append((np.asarray(straight), False))
            straight = []
        out.append((arc, True))
    if straight:
        out.append((np.asarray(straight), False))
    return out


def _join_leg(
    route: FloatArray,
    leave: _OrbitJoin | None,
    reach: _OrbitJoin | None,
    radius: float,
    spacing: float,
) -> _Leg:
    """A transit that leaves and joins orbits on tangents instead of through the turn centre.

    ``route`` runs between turn centres (or the gateway); the aircraft instead stays on the
    turn circle until the straight line towards the route's next vertex is tangent, and
    arrives on the tangent of the next turn circle, flying on into the orbit without a corner.
    Every added point lies within ``radius`` of the route, which keeps a turn's radius from
    everything forbidden, so the join stays legal.  Falls back to the radial hop where a
    vertex lies inside a turn circle.  The arcs are flown at loiter speed, the speed the
    turn radius is sized for."""
    inner = route[1 if leave else 0 : len(route) - 1 if reach else len(route)]
    pieces: list[tuple[FloatArray, bool]] = []
    out_rad = in_rad = None
    if leave is not None:
        toward = inner[0] if len(inner) else route[-1]
        out_rad = _cw_tangent_angle(leave.centre, radius, toward, arriving=False)
    if reach is not None:
        if len(inner):
            src = inner[-1]
        elif leave is not None and out_rad is not None:
            src = leave.centre + radius * np.array([np.cos(out_rad), np.sin(out_rad)])
        else:
            src = route[0]
        in_rad = _cw_tangent_angle(reach.centre, radius, src, arriving=True)
        if leave is not None and not len(inner) and out_rad is not None and in_rad is not None:
            for _ in range(2):  # orbit to orbit directly: refine towards the common tangent
                touch_in = reach.centre + radius * np.array([np.cos(in_rad), np.sin(in_rad)])
                out_new = _cw_tangent_angle(leave.centre, radius, touch_in, arriving=False)
                if out_new is None:
                    break
                out_rad = out_new
                touch_out = leave.centre + radius * np.array([np.cos(out_rad), np.sin(out_rad)])
                in_new = _cw_tangent_angle(reach.centre, radius, touch_out, arriving=True)
                if in_new is None:
                    break
                in_rad = in_new
    if leave is not None:
        start = leave.centre + radius * np.array([np.cos(leave.start_rad), np.sin(leave.start_rad)])
        if out_rad is None:
            pieces.append((np.vstack([start, leave.centre]), False))
        else:
            pieces.append((_cw_arc(leave.centre, radius, leave.start_rad, out_rad, spacing), True))
    prev = pieces[-1][0][-1] if pieces else None
    after = None
    if reach is not None and in_rad is not None:
        after = reach.centre + radius * np.array([np.cos(in_rad), np.sin(in_rad)])
    elif reach is not None:
        after = reach.centre
    pieces.extend(_filleted(inner, prev, after, radius, spacing))
    if reach is not None:
        end = reach.centre + radius * np.array([np.cos(reach.start_rad), np.sin(reach.start_rad)])
        if in_rad is None:
            pieces.append((np.vstack([reach.centre, end]), False))
        else:
            pieces.append((_cw_arc(reach.centre, radius, in_rad, reach.start_rad, spacing), True))
    pieces = [(p, a) for p, a in pieces if len(p)]
    xy = np.vstack([p for p, _ in pieces])
    # A segment is on an arc when both its ends come from the same arc piece.
    arc = np.concatenate([np.full(len(p), a) for p, a in pieces])
    first = np.concatenate([np.arange(len(p)) == 0 for p, _ in pieces])
    on_arc = arc[1:] & ~first[1:]
    keep = np.hypot(*np.diff(xy, axis=0).T) > 1e-6
    xy = np.vstack([xy[:1], xy[1:][keep]])
    return _Leg(np.asarray(xy, dtype=np.float64), on_arc[keep])


def _path_length(xy: FloatArray) -> float:
    return float(np.hypot(*np.diff(xy, axis=0).T).sum()) if len(xy) > 1 else 0.0


def _geodesic_densify(
    lon: FloatArray, lat: FloatArray, spacing_m: float
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.int64]]:
    """Densify a polyline along geodesics; returns lon, lat, cumulative distance and, for
    every vertex after the first, the index of the input segment it lies on."""
    _, _, seg = WGS84.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    seg = np.atleast_1d(np.asarray(seg, dtype=np.float64))
    k = np.maximum(1, np.ceil(seg / spacing_m).astype(np.int64))
    idx = np.repeat(np.arange(len(seg)), k)
    step = np.arange(len(idx)) - np.repeat(np.cumsum(k) - k, k) + 1
    frac = step / k[idx]
    lo, la = geodesic_interpolate(lon[idx], lat[idx], lon[idx + 1], lat[idx + 1], frac)
    lon_d = np.concatenate([lon[:1], lo])
    lat_d = np.concatenate([lat[:1], la])
    dist = np.concatenate([[0.0], np.cumsum(np.repeat(seg / k, k))])
    return lon_d, lat_d, dist, idx


@dataclass
class _Candidate:
    a: FloatArray
    b: FloatArray
    length_m: float


def plan_mission(
    airspace: Airspace, req: MissionRequest, options: PlannerOptions | None = None
) -> MissionPlan:
    """Plan a sortie for ``req``; raises :class:`InfeasiblePlan` with numbers when impossible."""
    opt = options or PlannerOptions()
    airspace.check_operator(req.operator, source=f"{req.source}: operator")
    aircraft = req.aircraft
    radius = aircraft.turn_radius_m()
    sensor = max(req.sensors, key=lambda s: s.ground_reach_m(req.altitude_m))
    reach = sensor.ground_reach_m(req.altitude_m)
    aoi_union_ll = shapely.union_all([a.geometry for a in req.aois])
    base_ll = Point(req.base_lon_deg, req.base_lat_deg)
    minx, miny, maxx, maxy = shapely.union_all([aoi_union_ll, base_ll]).bounds
    frame = LocalFrame(0.5 * (minx + maxx), 0.5 * (miny + maxy))
    pad_deg = (reach + 150_000.0) / 90_000.0
    x0, y0, x1, y1 = airspace.data_box
    window_ll = shapely.box(
        max(minx - pad_deg, x0),
        max(miny - pad_deg, y0),
        min(maxx + pad_deg, x1),
        min(maxy + pad_deg, y1),
    )
    permitted_ll = shapely.intersection(airspace.permitted_polygon(req.operator), window_ll)
    permitted = frame.geometry_to_xy(permitted_ll)
    base = Point(*frame.to_xy(req.base_lon_deg, req.base_lat_deg))

    keep_m = req.margin_m * (1.0 + opt.safety_fraction) + opt.safety_m
    flyable_all = permitted.buffer(-keep_m)
    flyable = _largest_part_containing(flyable_all, base)
    if flyable is None:
        clearance = float(
            airspace.clearance_m([req.base_lon_deg], [req.base_lat_deg], req.operator)[0]
        )
        raise InfeasiblePlan(
            f"base {req.base_icao} lies {clearance:,.0f} m from airspace {req.operator} may not "
            f"enter, inside the {req.margin_m:,.0f} m margin: no legal departure"
        )
    turn_keep = radius * (1.0 + opt.safety_fraction) + 50.0
    axis_region = flyable.buffer(-turn_keep)
    if axis_region.is_empty:
        raise InfeasiblePlan("the flyable region is too narrow for the aircraft's turn radius")
    shapely.prepare(axis_region)
    reach_zone = flyable.buffer(reach)

    # --- coverable regions and weighted cells
    aoi_xy: list[BaseGeometry] = []
    coverable_xy: list[BaseGeometry] = []
    for aoi in req.aois:
        a_xy = frame.geometry_to_xy(aoi.geometry)
        c_xy = shapely.intersection(a_xy, reach_zone)
        if c_xy.is_empty or c_xy.area < 1.0:
            gap = float(shapely.distance(a_xy, flyable))
            owner = str(airspace.owner_at([aoi.geometry.centroid.x], [aoi.geometry.centroid.y])[0])
            where = f"inside {owner}" if owner != req.operator else "from the flyable region"
            raise InfeasiblePlan(
                f"{aoi.name} lies {gap / 1000:,.0f} km {where} beyond where {req.operator} may fly "
                f"with a {req.margin_m:,.0f} m margin; {sensor.name} ground reach at "
                f"{req.altitude_m:,.0f} m is {reach / 1000:,.0f} km: nothing is visible from "
                "permitted airspace"
            )
        aoi_xy.append(a_xy)
        coverable_xy.append(c_xy)
    total_c = sum(c.area for c in coverable_xy)
    cell = float(np.clip(np.sqrt(total_c / opt.max_cells), 200.0, 2_000.0))
    cx_l: list[FloatArray] = []
    cy_l: list[FloatArray] = []
    cw_l: list[FloatArray] = []
    caoi_l: list[npt.NDArray[np.int64]] = []
    for k, (aoi, c_xy) in enumerate(zip(req.aois, coverable_xy, strict=True)):
        bx0, by0, bx1, by1 = c_xy.bounds
        gx, gy = np.meshgrid(
            np.arange(bx0 + cell / 2, bx1, cell), np.arange(by0 + cell / 2, by1, cell)
        )
        px, py = gx.ravel(), gy.ravel()
        inside = shapely.contains_xy(c_xy, px, py)
        if not inside.any():
            p = c_xy.representative_point()
            px, py, inside = np.array([p.x]), np.array([p.y]), np.array([True])
        cx_l.append(px[inside])
        cy_l.append(py[inside])
        weight = aoi.priority * c_xy.area / inside.sum()
        cw_l.append(np.full(int(inside.sum()), weight))
        caoi_l.append(np.full(int(inside.sum()), k, dtype=np.int64))
    cx: FloatArray = np.concatenate(cx_l)
    cy: FloatArray = np.concatenate(cy_l)
    cw: FloatArray = np.concatenate(cw_l)
    caoi = np.concatenate(caoi_l)
    n_aoi_cells = len(cx)
    see_cell = np.full(n_aoi_cells, radius + reach)
    unreachable: dict[str, str] = {}  # look point -> why no orbit can keep it in reach

    # --- look points: one cell each, worth as much as all the AOIs together (so orbits
    # that keep them in their sensor's reach come first), seen within that sensor's reach
    if req.look_points:
        lx, ly = frame.to_xy(
            [lp.lon_deg for lp in req.look_points], [lp.lat_deg for lp in req.look_points]
        )
        lx, ly = np.atleast_1d(lx), np.atleast_1d(ly)
        l_reach = np.asarray([lp.sensor.ground_reach_m(req.altitude_m) for lp in req.look_points])
        # The closest an orbit can keep a point all the way round: a circle centred on the
        # edge of the region orbit axes may use.
        gap = shapely.distance(axis_region, shapely.points(lx, ly)) + radius
        for lp, g, r in zip(req.look_points, gap, l_reach, strict=True):
            if g > r:
                unreachable[lp.name] = (
                    f"the closest legal orbit flies {g / 1000:,.1f} km from it at best; "
                    f"{lp.sensor.name} ground reach at {req.altitude_m:,.0f} m is "
                    f"{r / 1000:,.1f} km"
                )
        aoi_w = float(cw.sum())
        cx = np.concatenate([cx, lx])
        cy = np.concatenate([cy, ly])
        weights = [0.0 if lp.name in unreachable else lp.priority * aoi_w for lp in req.look_points]
        cw = np.concatenate([cw, weights])
        caoi = np.concatenate([caoi, np.full(len(lx), -1, dtype=np.int64)])
        see_cell = np.concatenate([see_cell, radius + l_reach])

    # --- candidate orbits along the axis region's edge facing the coverable cells
    see = radius + reach
    cands: list[_Candidate] = []
    c_union = shapely.union_all(coverable_xy)
    for ring in shapely.get_parts(shapely.boundary(axis_region)):
        length = ring.length
        if length <= 0:
            continue
        s = np.arange(0.0, length, opt.candidate_spacing_m)
        pts = shapely.line_interpolate_point(ring, s)
        near = shapely.distance(c_union, pts) < see
        if len(cx) > n_aoi_cells:
            look = shapely.multipoints(np.column_stack([cx, cy])[n_aoi_cells:])
            near |= shapely.distance(look, pts) < float(see_cell[n_aoi_cells:].max())
        for si in s[near]:
            p = np.asarray(ring.interpolate(si).coords[0])
            q0 = np.asarray(ring.interpolate(max(si - 500.0, 0.0)).coords[0])
            q1 = np.asarray(ring.interpolate(min(si + 500.0, length)).coords[0])
            t = q1 - q0
            norm = float(np.hypot(*t))
            if norm == 0:
                continue
            t = t / norm
            n_in = np.array([-t[1], t[0]])
            if not axis_region.covers(Point(*(p + n_in * 10.0))):
                n_in = -n_in
            for shift in (1.0, 2_000.0):
                centre = p + n_in * shift
                for leg in opt.leg_lengths_m:
                    a = centre - t * leg / 2
                    b = centre + t * leg / 2
                    cands.append(_Candidate(a, b, leg))
    if not cands:
        raise InfeasiblePlan("no orbit fits the flyable region within sensor reach of the AOIs")
    seg_a = np.asarray([c.a for c in cands])
    seg_b = np.asarray([c.b for c in cands])
    lines = shapely.linestrings(np.stack([seg_a, seg_b], axis=1))
    degenerate = np.asarray([c.length_m == 0 for c in cands])
    ok = np.where(
        degenerate,
        shapely.contains_xy(axis_region, seg_a[:, 0], seg_a[:, 1]),
        shapely.covers(axis_region, lines),
    )
    seg_a, seg_b = seg_a[ok], seg_b[ok]
    leg_len = np.asarray([c.length_m for c in cands])[ok]
    if len(seg_a) == 0:
        raise InfeasiblePlan("no orbit fits the flyable region within sensor reach of the AOIs")
    covers = np.zeros((len(seg_a), len(cx)), dtype=bool)
    for chunk in range(0, len(seg_a), 256):
        sl = slice(chunk, chunk + 256)
        covers[sl] = _segment_distance(cx, cy, seg_a[sl], seg_b[sl]) <= see_cell[None, :]
    if len(cx) > n_aoi_cells:
        # A look point must stay in reach all the way round the orbit: from the far end of
        # its axis, plus the turn radius.
        lx, ly = cx[n_aoi_cells:], cy[n_aoi_cells:]
        far = np.maximum(
            np.hypot(lx[None, :] - seg_a[:, :1], ly[None, :] - seg_a[:, 1:]),
            np.hypot(lx[None, :] - seg_b[:, :1], ly[None, :] - seg_b[:, 1:]),
        )
        covers[:, n_aoi_cells:] = far + radius <= see_cell[None, n_aoi_cells:] - radius

    # --- greedy maximal covering
    uncovered = np.ones(len(cx), dtype=bool)
    total_w = float(cw.sum())
    chosen: list[int] = []
    gains: list[float] = []
    aoi_gains: list[float] = []  # the AOI part of each gain: it shares the time on station
    looks_first: list[int] = []  # look points each orbit is the first to keep in reach
    for _ in range(req.max_orbits):
        gain = covers.astype(np.float64) @ (cw * uncovered)
        gain = gain - 1e-9 * total_w * leg_len / 60_000.0  # shorter orbits win ties
        best = int(np.argmax(gain))
        if gain[best] < opt.min_gain_fraction * total_w and chosen:
            break
        chosen.append(best)
        gains.append(float(gain[best]))
        aoi_gains.append(
            float(covers[best, :n_aoi_cells] @ (cw[:n_aoi_cells] * uncovered[:n_aoi_cells]))
        )
        looks_first.append(int((covers[best, n_aoi_cells:] & uncovered[n_aoi_cells:]).sum()))
        uncovered &= ~covers[best]
    covered_w = total_w - float((cw * uncovered).sum())
    residual = np.sort(covers.astype(np.float64) @ (cw * uncovered))[::-1][: len(chosen)]
    online_bound = covered_w / (covered_w + float(residual.sum())) if covered_w > 0 else 1.0

    # --- order orbits, transits, endurance
    entry_pts: list[FloatArray] = []
    loops: list[FloatArray] = []
    for idx in chosen:
        loop = _racetrack_loop(seg_a[idx], seg_b[idx], radius, opt.orbit_spacing_m)
        loops.append(loop)
        entry_pts.append(loop[0])
    order: list[int] = []
    here = np.array([base.x, base.y])
    remaining = list(range(len(chosen)))
    while remaining:
        nxt = min(remaining, key=lambda i: float(np.hypot(*(entry_pts[i] - here))))
        order.append(nxt)
        remaining.remove(nxt)
        here = entry_pts[nxt]
    # Transits are routed between orbit axis points (the centre of each orbit's first turn),
    # inside the axis region, so a turn of the aircraft's radius fits around every bend; the
    # aircraft joins and leaves each orbit on a tangent of that turn circle (_join_leg).
    transit_free = axis_region
    hubs = [(float(seg_a[chosen[i]][0]), float(seg_a[chosen[i]][1])) for i in range(len(chosen))]
    base_xy = (base.x, base.y)
    if not transit_free.covers(base):
        # Climb-out from the base to the nearest point clear of the turn allowance.
        near = nearest_points(transit_free, base)[0]
        climb = np.asarray([base_xy, (near.x, near.y)])
        if not flyable.covers(LineString(climb)):
            raise InfeasiblePlan(f"no legal climb-out from {req.base_icao}")
        gateway = (near.x, near.y)
    else:
        climb = np.asarray([base_xy])
        gateway = base_xy

    joins = [
        _OrbitJoin(
            np.asarray(hubs[i]),
            float(np.arctan2(*(entry_pts[i] - np.asarray(hubs[i]))[::-1])),
        )
        for i in range(len(chosen))
    ]

    def route_all(sequence: list[int]) -> tuple[list[_Leg], _Leg, float]:
        """Transit legs: to the first orbit, between orbits, and home (tangential joins)."""
        legs_xy: list[_Leg] = []
        prev: int | None = None
        for i in sequence:
            route = shortest_path(transit_free, gateway if prev is None else hubs[prev], hubs[i])
            leave = None if prev is None else joins[prev]
            legs_xy.append(_join_leg(route, leave, joins[i], radius, opt.orbit_spacing_m))
            prev = i
        last = sequence[-1]
        home = _join_leg(
            shortest_path(transit_free, hubs[last], gateway),
            joins[last],
            None,
            radius,
            opt.orbit_spacing_m,
        )
        v = (aircraft.cruise_speed_mps, aircraft.loiter_speed_mps)
        seconds = (
            sum(leg.seconds(*v) for leg in legs_xy)
            + home.seconds(*v)
            + 2 * _path_length(climb) / aircraft.cruise_speed_mps
        )
        return legs_xy, home, seconds

    # Orbits that do not fit the endurance are dropped, last in the tour first, and the AOIs
    # they alone served are reported as not reachable (never silently dropped).
    dropped: list[int] = []
    while True:
        routes, back, transit_s = route_all(order)
        available = aircraft.endurance_s - aircraft.reserve_s - transit_s
        periods = [_path_length(loops[i]) / aircraft.loiter_speed_mps for i in order]
        if available >= sum(periods):
            break
        if len(order) == 1:
            names = ", ".join(a.name for a in req.aois)
            raise InfeasiblePlan(
                f"the AOIs ({names}) do not fit the endurance: transits take "
                f"{transit_s / 3600:.1f} h of {aircraft.endurance_s / 3600:.1f} h endurance "
                f"with a {aircraft.reserve_s / 3600:.1f} h reserve"
            )
        dropped.append(order.pop())
    wanted = available if req.on_station_s is None else min(req.on_station_s, available)
    share = np.asarray([aoi_gains[i] for i in order])
    share = share / share.sum() if share.sum() > 0 else np.full(len(order), 1.0 / len(order))
    looked = np.asarray([opt.look_share * looks_first[i] for i in order])
    if looked.sum() > 0:
        looked = looked / max(1.0, looked.sum())
        share = share * (1.0 - looked.sum()) + looked
    laps = [max(1, int(np.floor(wanted * s / p))) for s, p in zip(share, periods, strict=True)]

    # --- assemble the nominal path in lon/lat with times
    segs_lon: list[FloatArray] = []
    segs_lat: list[FloatArray] = []
    segs_t: list[FloatArray] = []
    legs: list[PlanLeg] = []
    t_now = 0.0

    def add(
        xy: FloatArray, speed: float | FloatArray, spacing: float, kind: str, name: str
    ) -> None:
        """Append a stretch flown at ``speed`` (one value, or one per segment of ``xy``)."""
        nonlocal t_now
        if len(xy) < 2:
            return
        lon, lat = frame.to_lonlat(xy[:, 0], xy[:, 1])
        lon_d, lat_d, dist, seg = _geodesic_densify(lon, lat, spacing)
        step_speed = np.broadcast_to(np.asarray(speed, dtype=np.float64), (len(xy) - 1,))[seg]
        times = t_now + np.concatenate([[0.0], np.cumsum(np.diff(dist) / step_speed)])
        keep = np.concatenate([[True], np.diff(dist) > 1e-6])  # no zero-length steps
        lon_d, lat_d, times = lon_d[keep], lat_d[keep], times[keep]
        start = t_now
        if segs_lon:
            lon_d, lat_d, times = lon_d[1:], lat_d[1:], times[1:]
        segs_lon.append(lon_d)
        segs_lat.append(lat_d)
        segs_t.append(times)
        t_now = float(times[-1]) if len(times) else t_now
        legs.append(PlanLeg(kind, name, start, t_now))  # type: ignore[arg-type]

    orbit_records: list[Orbit] = []
    v = (aircraft.cruise_speed_mps, aircraft.loiter_speed_mps)
    out_speeds = routes[0].speeds(*v)
    add(
        np.vstack([climb, routes[0].xy[1:]]) if len(climb) > 1 else routes[0].xy,
        np.concatenate([np.full(len(climb) - 1, v[0]), out_speeds]),
        opt.transit_spacing_m,
        "transit_out",
        "to orbit-1",
    )
    for n_orbit, i in enumerate(order):
        if n_orbit > 0:
            add(
                routes[n_orbit].xy,
                routes[n_orbit].speeds(*v),
                opt.transit_spacing_m,
                "transit_between",
                f"to orbit-{n_orbit + 1}",
            )
        loop = loops[i]
        start = t_now
        add(
            np.vstack([loop] + [loop[1:]] * (laps[n_orbit] - 1)),
            aircraft.loiter_speed_mps,
            opt.orbit_spacing_m,
            "orbit",
            f"orbit-{n_orbit + 1}",
        )
        idx = chosen[i]
        a_ll = frame.to_lonlat(*seg_a[idx])
        b_ll = frame.to_lonlat(*seg_b[idx])
        c_ll = frame.to_lonlat(*(0.5 * (seg_a[idx] + seg_b[idx])))
        heading = (
            float(WGS84.inv(a_ll[0], a_ll[1], b_ll[0], b_ll[1])[0]) if leg_len[idx] > 0 else 0.0
        )
        loop_lon, loop_lat = frame.to_lonlat(loop[:, 0], loop[:, 1])
        seen = [req.aois[k].name for k in range(len(req.aois)) if (covers[idx] & (caoi == k)).any()]
        orbit_records.append(
            Orbit(
                name=f"orbit-{n_orbit + 1}",
                centre_lon_deg=float(c_ll[0]),
                centre_lat_deg=float(c_ll[1]),
                axis_heading_deg=heading % 360.0,
                leg_length_m=float(leg_len[idx]),
                radius_m=radius,
                alt_m=req.altitude_m,
                clockwise=True,
                on_station_s=t_now - start,
                aoi_names=tuple(seen),
                lon_deg=loop_lon,
                lat_deg=loop_lat,
            )
        )
    azimuths = _radar_azimuths(
        req, frame, orbit_records, cx[:n_aoi_cells], cy[:n_aoi_cells], cw[:n_aoi_cells], opt
    )
    orbit_records = [
        replace(o, radar_azimuth_deg=az) for o, az in zip(orbit_records, azimuths, strict=True)
    ]
    back_xy = np.vstack([back.xy, climb[::-1][1:]]) if len(climb) > 1 else back.xy
    back_speeds = np.concatenate([back.speeds(*v), np.full(len(climb) - 1, v[0])])
    add(back_xy, back_speeds, opt.transit_spacing_m, "transit_back", "to base")
    path_lon = np.concatenate(segs_lon)
    path_lat = np.concatenate(segs_lat)
    path_t = np.concatenate(segs_t)
    on_station = sum(o.on_station_s for o in orbit_records)
    transit_total = t_now - on_station

    # --- the exact airspace check: a failure here is a planner bug, never an output
    result = check_path(
        airspace,
        FlightPath(path_lon, path_lat, source=f"plan {req.name}"),
        req.operator,
        req.margin_m,
    )
    if not result.conformant:
        first = result.incursions[0] if result.incursions else None
        raise AirspaceViolation(
            f"internal error: the planned path for {req.name} is not conformant "
            f"(min clearance {result.min_clearance_m:,.1f} m < margin {req.margin_m:,.0f} m"
            + (f", near {first.deepest_lat_deg:.5f}, {first.deepest_lon_deg:.5f}" if first else "")
            + ")"
        )

    # --- coverage per AOI
    kept = [chosen[i] for i in order]
    footprints = shapely.union_all(
        [
            LineString([seg_a[i], seg_b[i]]).buffer(see)
            if leg_len[i] > 0
            else Point(seg_a[i]).buffer(see)
            for i in kept
        ]
    )
    radar_view = _radar_view(req, frame, aoi_xy, orbit_records)
    coverage: list[AoiCoverage] = []
    for aoi, a_xy, c_xy in zip(req.aois, aoi_xy, coverable_xy, strict=True):
        covered = shapely.intersection(c_xy, footprints).area
        seen_s = sum(o.on_station_s for o in orbit_records if aoi.name in o.aoi_names)
        lost = seen_s == 0 and any(
            (covers[chosen[i]] & (caoi == req.aois.index(aoi))).any() for i in dropped
        )
        coverage.append(
            AoiCoverage(
                aoi.name,
                aoi.priority,
                a_xy.area,
                c_xy.area,
                covered,
                seen_s,
                reachable=not lost,
                note="does not fit the endurance with the other AOIs" if lost else "",
                geometry=json.loads(shapely.to_geojson(aoi.geometry)),
                radar_m2=None
                if radar_view is None
                else float(shapely.intersection(a_xy, radar_view).area),
            )
        )
    return MissionPlan(
        mission_name=req.name,
        operator=req.operator,
        base_icao=req.base_icao,
        base_lon_deg=req.base_lon_deg,
        base_lat_deg=req.base_lat_deg,
        base_elevation_m=req.base_elevation_m,
        start_utc=req.start_utc,
        aircraft_name=aircraft.name,
        sensors=tuple(s.name for s in req.sensors),
        altitude_m=req.altitude_m,
        margin_m=req.margin_m,
        cruise_speed_mps=aircraft.cruise_speed_mps,
        loiter_speed_mps=aircraft.loiter_speed_mps,
        endurance_s=aircraft.endurance_s,
        reserve_s=aircraft.reserve_s,
        orbits=tuple(orbit_records),
        legs=tuple(legs),
        coverage=tuple(coverage),
        path_lon_deg=path_lon,
        path_lat_deg=path_lat,
        path_time_s=path_t,
        min_clearance_m=result.min_clearance_m,
        airspace_sha256=airspace.data_sha256,
        transit_s=transit_total,
        on_station_s=on_station,
        endurance_reserve_s=aircraft.endurance_s - aircraft.reserve_s - t_now,
        extra={
            "turn_radius_m": radius,
            "ground_reach_m": {s.name: s.ground_reach_m(req.altitude_m) for s in req.sensors},
            # The aircraft and sensors as planned (a mission may change a profile's
            # figures): the simulator flies these, not the catalogue's.
            "aircraft_profile": as_profile(aircraft),
            "sensor_profiles": {s.name: as_profile(s) for s in req.sensors},
            "coverage_sensor": sensor.name,
            "greedy_online_bound": online_bound,
            "candidates": len(seg_a),
            "cells": len(cx),
            "cell_m": cell,
            "look_points": _look_point_report(
                req,
                path_lon,
                path_lat,
                path_t,
                [leg for leg in legs if leg.kind == "orbit"],
                unreachable,
            ),
        },
    )


def _look_point_report(
    req: MissionRequest,
    lon: FloatArray,
    lat: FloatArray,
    t_s: FloatArray,
    orbits: list[PlanLeg],
    unreachable: dict[str, str],
) -> list[dict[str, object]]:
    """Each look point: how long, on station, the nominal path keeps it within its sensor's
    slant range, and whether an orbit could keep it in reach at all (with why not)."""
    if not req.look_points or len(t_s) < 2:
        return []
    mid = 0.5 * (t_s[1:] + t_s[:-1])
    dt = np.diff(t_s)
    on = np.zeros(len(mid), dtype=bool)
    for leg in orbits:
        on |= (mid >= leg.start_s) & (mid < leg.end_s)
    out: list[dict[str, object]] = []
    for lp in req.look_points:  # a handful of points, each against the whole path at once
        _, _, ground = WGS84.inv(
            lon[:-1], lat[:-1], np.full(len(mid), lp.lon_deg), np.full(len(mid), lp.lat_deg)
        )
        slant = np.hypot(np.asarray(ground), req.altitude_m)
        inside = on & (slant <= lp.sensor.max_slant_range_m)
        total = float(dt[on].sum())
        out.append(
            {
                "name": lp.name,
                "sensor": lp.sensor.name,
                "lon_deg": lp.lon_deg,
                "lat_deg": lp.lat_deg,
                "in_reach_s": round(float(dt[inside].sum()), 1),
                "in_reach_share": round(float(dt[inside].sum()) / total, 3) if total else 0.0,
                "nearest_slant_m": round(float(slant[on].min()), 1) if on.any() else None,
                "reachable": lp.name not in unreachable,
                "note": unreachable.get(lp.name, ""),
            }
        )
    return out


def _orbit_positions(frame: LocalFrame, orbit: Orbit) -> tuple[FloatArray, FloatArray]:
    """Positions every ``_RADAR_STEP_M`` round ``orbit`` (local metres), from which the
    radar's sweep is drawn."""
    ox, oy = (np.asarray(v, dtype=np.float64) for v in frame.to_xy(orbit.lon_deg, orbit.lat_deg))
    along = np.r_[0.0, np.cumsum(np.hypot(np.diff(ox), np.diff(oy)))]
    s = np.arange(0.0, max(along[-1], 1.0), _RADAR_STEP_M)
    return np.interp(s, along, ox), np.interp(s, along, oy)


def _radar_view(
    req: MissionRequest,
    frame: LocalFrame,
    aoi_xy: list[BaseGeometry],
    orbits: list[Orbit],
) -> BaseGeometry | None:
    """What the moving-target radar's azimuth sector sweeps from the orbits (local metres):
    the union of its sectors (``platforms.footprint.aimed_sector``, the simulator's rule,
    at each orbit's ``radar_azimuth_deg``) from positions every ``_RADAR_STEP_M`` round
    each orbit.  None without a moving-target radar."""
    gmti = next((s for s in req.sensors if s.kind == "gmti"), None)
    if gmti is None or not orbits:
        return None
    aois = shapely.union_all(aoi_xy)
    r_min, r_max = gmti.ground_min_m(req.altitude_m), gmti.ground_reach_m(req.altitude_m)
    half = gmti.half_fov_rad
    views: list[BaseGeometry] = []
    for o in orbits:  # a handful of orbits, tens of positions each
        centre = (
            None
            if o.radar_azimuth_deg is None
            else float(
                frame.frame_azimuth_rad(o.centre_lon_deg, o.centre_lat_deg, o.radar_azimuth_deg)
            )
        )
        for x, y in zip(*_orbit_positions(frame, o), strict=True):
            aimed = aimed_sector(float(x), float(y), r_min, r_max, half, aois, centre)
            if aimed is not None:
                views.append(aimed[1])
    return shapely.union_all(views) if views else Polygon()


def _radar_azimuths(
    req: MissionRequest,
    frame: LocalFrame,
    orbits: list[Orbit],
    cx: FloatArray,
    cy: FloatArray,
    cw: FloatArray,
    opt: PlannerOptions,
) -> list[float | None]:
    """The moving-target radar's azimuth for each of ``orbits``, as a true azimuth at the
    orbit's centre (degrees).

    First, each orbit's sector holds as many of the request's look points as it can (by
    priority) all the way round the orbit, within the radar's reach: the places a partner
    named are where the traffic worth following starts, and the camera cannot follow it.
    Among those azimuths, coordinate ascent on ``sum(cw * (1 - exp(-t / tau)))`` over the
    AOI cells (``cx``, ``cy``, ``cw``; ``tau`` is ``radar_saturation_s``), ``t`` the time on
    station of the orbits whose sector holds the cell (seen from any position every
    ``_RADAR_STEP_M`` round the orbit), starting from each orbit's azimuth to the centroid
    of the cells in reach and keeping an azimuth unless another is better.  None for every
    orbit unless the request asks for it (``radar_aim: planned``), and without a
    moving-target radar or with an all-round one."""
    gmti = next((s for s in req.sensors if s.kind == "gmti"), None)
    aimed = req.radar_aim == "planned" and bool(orbits) and len(cx) > 0
    if gmti is None or gmti.half_fov_rad >= np.pi or not aimed:
        return [None] * len(orbits)
    r_min, r_max = gmti.ground_min_m(req.altitude_m), gmti.ground_reach_m(req.altitude_m)
    half = gmti.half_fov_rad
    n_bins = max(1, round(360.0 / opt.radar_step_deg))
    centres = np.arange(n_bins) * (2.0 * np.pi / n_bins)
    if req.look_points:
        lx, ly = frame.to_xy(
            [lp.lon_deg for lp in req.look_points], [lp.lat_deg for lp in req.look_points]
        )
        px_all = np.concatenate([cx, np.atleast_1d(lx)])
        py_all = np.concatenate([cy, np.atleast_1d(ly)])
    else:
        px_all, py_all = cx, cy
    looks_w = np.asarray([lp.priority for lp in req.look_points], dtype=np.float64)
    n = len(cx)
    seen: list[npt.NDArray[np.bool_]] = []  # per orbit: (azimuth, cell) held in the sector
    held_looks: list[FloatArray] = []  # per orbit and azimuth: the look points' priority held
    start: list[int] = []
    loops = (frame.to_xy(o.lon_deg, o.lat_deg) for o in orbits)
    mids = [(float(np.mean(x)), float(np.mean(y))) for x, y in loops]  # the loops' means
    for o, (mid_x, mid_y) in zip(orbits, mids, strict=True):
        held = np.zeros((n_bins, n), dtype=bool)  # from some position round the orbit
        kept = np.ones((n_bins, len(px_all) - n), dtype=bool)  # from every position
        for x, y in zip(*_orbit_positions(frame, o), strict=True):
            inside = in_sector(
                px_all[None, :] - x, py_all[None, :] - y, r_min, r_max, centres[:, None], half
            )
            held |= inside[:, :n]
            kept &= inside[:, n:]
        seen.append(held)
        held_looks.append(kept.astype(np.float64) @ looks_w)
        d = np.hypot(cx - mid_x, cy - mid_y)
        inside = (d >= r_min) & (d <= r_max)
        if inside.any():
            az0 = np.arctan2(cx[inside].mean() - mid_x, cy[inside].mean() - mid_y)
            start.append(round(float(az0 % (2.0 * np.pi)) / (2.0 * np.pi) * n_bins) % n_bins)
        else:
            start.append(0)
    t_on = np.asarray([o.on_station_s for o in orbits], dtype=np.float64)
    tau = opt.radar_saturation_s
    # Look points first: the best count held; only azimuths holding it are weighed.
    allowed = [h >= h.max() - 1e-9 for h in held_looks]
    pick = [k if ok[k] else int(np.argmax(ok)) for k, ok in zip(start, allowed, strict=True)]

    def watched(skip: int) -> FloatArray:
        t = np.zeros(len(cx))
        for j, k in enumerate(pick):
            if j != skip:
                t += seen[j][k] * t_on[j]
        return t

    for _ in range(10):  # a handful of orbits settle in two or three rounds
        changed = False
        for i in range(len(orbits)):
            rest = watched(i)
            value = (cw * -np.expm1(-(rest[None, :] + seen[i] * t_on[i]) / tau)).sum(axis=1)
            value[~allowed[i]] = -np.inf
            best = int(np.argmax(value))
            if value[best] > value[pick[i]] * (1.0 + 1e-9):
                pick[i] = best
                changed = True
        if not changed:
            break
    # As true azimuths at each orbit's centre (the frame's north is not true north there).
    out: list[float | None] = []
    for (mid_x, mid_y), k in zip(mids, pick, strict=True):
        true = frame.true_azimuth_deg(mid_x, mid_y, centres[k])
        out.append(round(float(true) % 360.0, 3) % 360.0)
    return out
