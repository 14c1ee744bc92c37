"""The autopilot fence: exclusion polygons that conservatively contain forbidden airspace.

Forbidden airspace for the plan's operator (every other state's airspace and every no-fly
zone) is clipped to a window around the plan (the path's bounds grown by ``_WINDOW_M``),
moved into a local metric frame that keeps straight lines straight (see ``_local``), grown by
``buffer_m`` (``d``) and simplified with tolerance ``t < d``: the simplified outline stays
within ``t`` of the grown one, so it still contains the forbidden part, and its edge lies
between ``d - t`` and ``d`` outside the legal boundary, where a breach leaves the aircraft
room to turn away.  Polygons with holes or more than ``max_vertices`` vertices are cut into
pieces (which only adds vertices on the cuts: the union is unchanged).

Every fence is then checked, in longitude/latitude with straight edges as autopilots test
them: it must cover the forbidden part of the window, and no polygon may touch the planned
path, the orbits or the straight lines the autopilot flies between mission items.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from standoff.airspace.model import Airspace
from standoff.core.errors import AirspaceViolation, InputError
from standoff.domain.mission import MissionPlan
from standoff.share._local import LocalFrame
from standoff.share.mission_items import build_mission_items, nav_polyline

__all__ = ["AutopilotFence", "FencePolygon", "build_autopilot_fence"]

FloatArray = npt.NDArray[np.float64]

DEFAULT_MAX_VERTICES: Final = 64
"""PX4's per-polygon limit; ArduPilot common boards hold about 70 fence points in all."""
DEFAULT_MAX_POLYGONS: Final = 16
_WINDOW_M: Final = 50_000.0
"""How far beyond the path's bounds the fence reaches."""
_BUFFER_FRACTION_OF_MARGIN: Final = 1.0 / 3.0
_TOLERANCE_FRACTION_OF_BUFFER: Final = 0.5
_WINDOW_SLACK_M: Final = 10.0
"""The fence is clipped this much outside the window, so it covers the window's edge."""
_MAX_SPLIT_DEPTH: Final = 16
_DECIMALS: Final = 7
"""1e-7 degree: the MAVLink int32 resolution."""


@dataclass(frozen=True)
class FencePolygon:
    """One exclusion polygon: vertices clockwise, no repeated closing vertex."""

    lon_deg: FloatArray
    lat_deg: FloatArray

    @property
    def n_vertices(self) -> int:
        return len(self.lon_deg)

    @property
    def polygon(self) -> Polygon:
        """The polygon in (lon, lat), straight edges."""
        return Polygon(np.column_stack([self.lon_deg, self.lat_deg]))


@dataclass(frozen=True)
class AutopilotFence:
    """The exported fence and how it was made."""

    operator: str
    polygons: tuple[FencePolygon, ...]
    buffer_m: float
    """Growth of the forbidden airspace (``d``)."""
    simplify_tolerance_m: float
    """Simplification tolerance (``t < d``)."""
    window_lonlat: tuple[float, float, float, float]
    """(min lon, min lat, max lon, max lat) of the region the fence covers."""
    max_vertices: int
    forbidden_names: tuple[str, ...]
    """Forbidden areas that reach into the window (ISO3 codes, ``NFZ:<name>``)."""
    path_distance_m: float
    """Smallest distance from the planned path to the fence (local frame, ~1 %; inf if none)."""

    @property
    def total_vertices(self) -> int:
        return sum(p.n_vertices for p in self.polygons)

    @property
    def geometry(self) -> MultiPolygon:
        """The union of the polygons as a (lon, lat) MultiPolygon (empty when no fence)."""
        return MultiPolygon([p.polygon for p in self.polygons])


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    return [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and p.area > 0]


def _forbidden_in_window(
    airspace: Airspace, operator: str, window: Polygon
) -> tuple[BaseGeometry, tuple[str, ...]]:
    areas = [(c, g) for c, g in zip(airspace.codes, airspace.geometries, strict=True)]
    areas = [(c, g) for c, g in areas if c != operator]
    areas += [(f"NFZ:{z.name}", z.geometry) for z in airspace.no_fly_zones]
    parts: list[Polygon] = []
    names: list[str] = []
    for name, geom in areas:
        if not shapely.intersects(geom, window):
            continue
        clipped = _polygons(shapely.intersection(geom, window))
        if clipped:
            parts += clipped
            names.append(name)
    return shapely.union_all(parts), tuple(names)


def _without_holes(poly: Polygon) -> list[Polygon]:
    """Cut a polygon through each hole until no piece has one (the union is unchanged)."""
    if not poly.interiors:
        return [poly]
    x_cut = Polygon(poly.interiors[0]).representative_point().x
    x0, y0, x1, y1 = poly.bounds
    out: list[Polygon] = []
    for half in (box(x0 - 1, y0 - 1, x_cut, y1 + 1), box(x_cut, y0 - 1, x1 + 1, y1 + 1)):
        for piece in _polygons(shapely.intersection(poly, half)):
            out += _without_holes(piece)
    return out


def _n_vertices(poly: Polygon) -> int:
    return len(poly.exterior.coords) - 1


def _within_budget(poly: Polygon, max_vertices: int, depth: int = 0) -> list[Polygon] | None:
    """Cut a hole-free polygon at the median vertex until each piece has at most
    ``max_vertices`` vertices; None when that takes more than ``_MAX_SPLIT_DEPTH`` cuts."""
    if _n_vertices(poly) <= max_vertices:
        return [poly]
    if depth >= _MAX_SPLIT_DEPTH:
        return None
    xy = np.asarray(poly.exterior.coords)[:-1]
    x0, y0, x1, y1 = poly.bounds
    axis = 0 if x1 - x0 >= y1 - y0 else 1
    cut = float(np.median(xy[:, axis]))
    lo, hi = (x0, y0), (x1, y1)
    if not lo[axis] < cut < hi[axis]:
        cut = 0.5 * (lo[axis] + hi[axis])
    if axis == 0:
        halves = (box(x0 - 1, y0 - 1, cut, y1 + 1), box(cut, y0 - 1, x1 + 1, y1 + 1))
    else:
        halves = (box(x0 - 1, y0 - 1, x1 + 1, cut), box(x0 - 1, cut, x1 + 1, y1 + 1))
    out: list[Polygon] = []
    for half in halves:
        for piece in _polygons(shapely.intersection(poly, half)):
            fitted = _within_budget(piece, max_vertices, depth + 1)
            if fitted is None:
                return None
            out += fitted
    return out


def _to_fence_polygon(poly_xy: Polygon, frame: LocalFrame) -> FencePolygon | None:
    xy = np.asarray(shapely.orient_polygons(poly_xy, exterior_cw=True).exterior.coords)[:-1]
    lon, lat = frame.to_lonlat(xy[:, 0], xy[:, 1])
    lon, lat = np.round(lon, _DECIMALS), np.round(lat, _DECIMALS)
    keep = np.ones(len(lon), dtype=bool)
    keep[1:] = (np.diff(lon) != 0) | (np.diff(lat) != 0)
    keep[0] = (lon[0] != lon[-1]) or (lat[0] != lat[-1])
    lon, lat = lon[keep], lat[keep]
    if len(lon) < 3:
        return None
    return FencePolygon(lon, lat)


def _protected_lines(plan: MissionPlan) -> list[tuple[str, BaseGeometry]]:
    """What the fence must not touch: the planned path, each orbit, the mission's lines."""
    path = np.column_stack([plan.path_lon_deg, plan.path_lat_deg])
    out: list[tuple[str, BaseGeometry]] = [
        ("the planned path", LineString(path) if len(path) >= 2 else Point(path[0]))
    ]
    out += [
        (f"orbit {o.name!r}", LineString(np.column_stack([o.lon_deg, o.lat_deg])))
        for o in plan.orbits
        if len(o.lon_deg) >= 2
    ]
    items = build_mission_items(plan)
    out += [("the mission's waypoint lines", LineString(ln)) for ln in nav_polyline(plan, items)]
    return out


def _check(
    plan: MissionPlan,
    fence: Sequence[FencePolygon],
    forbidden_ll: BaseGeometry,
    frame: LocalFrame,
    buffer_m: float,
    tol_m: float,
) -> float:
    """Prove containment and clearance; return the path's distance to the fence (metres)."""
    polys = [p.polygon for p in fence]
    union = shapely.union_all(polys)
    if not forbidden_ll.is_empty and not shapely.covers(union, forbidden_ll):
        left = shapely.difference(forbidden_ll, union)
        raise AirspaceViolation(
            "the simplified fence does not contain the forbidden airspace "
            f"({shapely.area(frame.geometry_to_xy(left)):.0f} m² left out near "
            f"lon/lat {left.representative_point().x:.5f}, {left.representative_point().y:.5f})"
        )
    forbidden_xy = frame.geometry_to_xy(forbidden_ll)
    for what, line in _protected_lines(plan):
        for k, poly in enumerate(polys):
            if shapely.intersects(poly, line):
                where = shapely.intersection(poly, line).representative_point()
                line_xy = frame.geometry_to_xy(line)
                gap = shapely.distance(forbidden_xy, line_xy)
                raise AirspaceViolation(
                    f"fence polygon {k} (forbidden airspace grown by {buffer_m:.0f} m, "
                    f"simplified to {tol_m:.0f} m) cuts {what} near lat {where.y:.5f}, "
                    f"lon {where.x:.5f}: it comes within {gap:.0f} m of forbidden airspace; "
                    f"the plan's margin is {plan.margin_m:.0f} m"
                )
    if not polys:
        return math.inf
    path = _protected_lines(plan)[0][1]
    return float(shapely.distance(frame.geometry_to_xy(union), frame.geometry_to_xy(path)))


def build_autopilot_fence(
    plan: MissionPlan,
    airspace: Airspace,
    *,
    max_vertices: int = DEFAULT_MAX_VERTICES,
    max_polygons: int = DEFAULT_MAX_POLYGONS,
    buffer_m: float | None = None,
) -> AutopilotFence:
    """Exclusion polygons containing the operator's forbidden airspace near the plan.

    ``buffer_m`` defaults to a third of ``plan.margin_m``.  Raises :class:`InputError` when
    the vertex budget cannot be met with ``max_polygons`` polygons, and
    :class:`AirspaceViolation` when a fence polygon would touch the planned path (a path
    closer than ``buffer_m`` to forbidden airspace) or fail to contain it.
    """
    if max_vertices < 3:
        raise InputError(
            "a fence polygon needs at least 3 vertices",
            source="max_fence_vertices",
            value=max_vertices,
        )
    operator = airspace.codes[airspace.check_operator(plan.operator, source="plan.operator")]
    d = plan.margin_m * _BUFFER_FRACTION_OF_MARGIN if buffer_m is None else float(buffer_m)
    if not (math.isfinite(d) and 0 < d < plan.margin_m):
        raise InputError(
            f"the fence buffer must be positive and below the plan's margin ({plan.margin_m:g} m)",
            source="plan",
            field="margin_m" if buffer_m is None else "buffer_m",
            value=d,
        )
    t = d * _TOLERANCE_FRACTION_OF_BUFFER
    frame = LocalFrame.around(plan.path_lon_deg, plan.path_lat_deg)
    px, py = frame.to_xy(plan.path_lon_deg, plan.path_lat_deg)
    bx = (px.min() - _WINDOW_M, py.min() - _WINDOW_M, px.max() + _WINDOW_M, py.max() + _WINDOW_M)
    lon_w, lat_w = frame.to_lonlat([bx[0], bx[2]], [bx[1], bx[3]])
    window_ll = (float(lon_w[0]), float(lat_w[0]), float(lon_w[1]), float(lat_w[1]))
    forbidden_ll, names = _forbidden_in_window(airspace, operator, box(*window_ll))
    pieces: list[Polygon] = []
    if not forbidden_ll.is_empty:
        grown = frame.geometry_to_xy(forbidden_ll).buffer(d)
        simple = shapely.simplify(grown, t, preserve_topology=True)
        window_xy = box(*frame.geometry_to_xy(box(*window_ll)).bounds).buffer(
            _WINDOW_SLACK_M, join_style="mitre"
        )
        for poly in _polygons(shapely.intersection(simple, window_xy)):
            for part in _without_holes(poly):
                fitted = _within_budget(part, max_vertices)
                if fitted is None or len(pieces) + len(fitted) > max_polygons:
                    raise InputError(
                        f"the fence does not fit in {max_polygons} polygons of at most "
                        f"{max_vertices} vertices (its outline has "
                        f"{sum(_n_vertices(p) for p in _polygons(simple))} vertices); "
                        "raise the vertex budget",
                        source="max_fence_vertices",
                        value=max_vertices,
                    )
                pieces += fitted
    fence = [fp for p in pieces if (fp := _to_fence_polygon(p, frame)) is not None]
    distance = _check(plan, fence, forbidden_ll, frame, d, t)
    return AutopilotFence(
        operator=operator,
        polygons=tuple(fence),
        buffer_m=d,
        simplify_tolerance_m=t,
        window_lonlat=window_ll,
        max_vertices=max_vertices,
        forbidden_names=names,
        path_distance_m=distance,
    )
