"""A MissionPlan as an ordered list of MAVLink mission items, shared by ``.plan`` and WPL.

Sequence numbers follow the ArduPilot convention: 0 is home (written by each encoder), the
items here are 1, 2, ... in order, and a DO_JUMP names its target by that number (QGC's
``doJumpId`` is the same number, so both files agree).

Order: take-off at the base; the transit legs as waypoints (the densified path reduced to
the vertices needed to stay within ``_TRANSIT_TOLERANCE_M`` of it, never more than
``_MAX_WAYPOINT_SPACING_M`` apart, so any straight-line interpretation of a leg stays on the
planned track); for each orbit its entry waypoint, then for a racetrack its corners (the
ends of both straight legs and the apex of both turns, in flight order) and a DO_JUMP back to
the first corner; for a circle a NAV_LOITER_TIME at its centre (param3 = radius, positive
clockwise); after the last transit, return to launch.  Altitudes are metres above mean sea
level (``MAV_FRAME_GLOBAL``), as in the plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from pyproj import Transformer

from standoff.core.errors import InputError
from standoff.domain.mission import MissionPlan, Orbit
from standoff.share._local import LocalFrame
from standoff.share.mavlink import (
    MAV_CMD_DO_JUMP,
    MAV_CMD_NAV_LOITER_TIME,
    MAV_CMD_NAV_RETURN_TO_LAUNCH,
    MAV_CMD_NAV_TAKEOFF,
    MAV_CMD_NAV_WAYPOINT,
    MAV_FRAME_GLOBAL,
    MAV_FRAME_MISSION,
)

__all__ = ["MissionItem", "build_mission_items", "nav_polyline"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_TRANSIT_TOLERANCE_M: Final = 25.0
"""Largest distance between the planned transit path and the waypoint polyline."""
_MAX_WAYPOINT_SPACING_M: Final = 20_000.0
"""Longest transit leg between two waypoints (keeps great-circle/rhumb differences < 5 m)."""
_TAKEOFF_CLIMB_M: Final = 300.0
"""Height above the base at which the take-off item ends."""
_TAKEOFF_MIN_PITCH_DEG: Final = 15.0


@dataclass(frozen=True)
class MissionItem:
    """One MAVLink mission item (``MISSION_ITEM`` fields, in degrees and metres)."""

    command: int
    frame: int
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    lat_deg: float = 0.0
    lon_deg: float = 0.0
    alt_m: float = 0.0
    autocontinue: bool = True

    @property
    def params(self) -> tuple[float, float, float, float, float, float, float]:
        """The seven MAVLink parameters: param1-4, latitude, longitude, altitude."""
        return (
            self.param1,
            self.param2,
            self.param3,
            self.param4,
            self.lat_deg,
            self.lon_deg,
            self.alt_m,
        )

    @property
    def has_position(self) -> bool:
        return self.frame != MAV_FRAME_MISSION


def _waypoint(lon_deg: float, lat_deg: float, alt_m: float) -> MissionItem:
    return MissionItem(
        MAV_CMD_NAV_WAYPOINT,
        MAV_FRAME_GLOBAL,
        lat_deg=float(lat_deg),
        lon_deg=float(lon_deg),
        alt_m=float(alt_m),
    )


def _simplify_indices(x: FloatArray, y: FloatArray, tol_m: float, max_gap_m: float) -> IntArray:
    """Douglas-Peucker on segment distances, also splitting any stretch longer than
    ``max_gap_m`` (path length); returns the kept vertex indices (first and last included)."""
    n = len(x)
    keep = np.zeros(n, dtype=bool)
    keep[[0, n - 1]] = True
    along = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        dx, dy = x[j] - x[i], y[j] - y[i]
        px, py = x[i + 1 : j] - x[i], y[i + 1 : j] - y[i]
        length2 = dx * dx + dy * dy
        u = np.clip((px * dx + py * dy) / length2, 0.0, 1.0) if length2 > 0 else np.zeros(len(px))
        dev = np.hypot(px - u * dx, py - u * dy)
        k = int(np.argmax(dev))
        if dev[k] > tol_m:
            m = i + 1 + k
        elif along[j] - along[i] > max_gap_m:
            m = int(np.clip(np.searchsorted(along, 0.5 * (along[i] + along[j])), i + 1, j - 1))
        else:
            continue
        keep[m] = True
        stack += [(i, m), (m, j)]
    return np.flatnonzero(keep).astype(np.int64)


def _transit_items(
    plan: MissionPlan, start_s: float, end_s: float, drop_last: bool
) -> list[MissionItem]:
    t = plan.path_time_s
    i0 = int(np.searchsorted(t, start_s, side="left"))
    i1 = int(np.searchsorted(t, end_s, side="right"))
    lon, lat = plan.path_lon_deg[i0:i1], plan.path_lat_deg[i0:i1]
    if len(lon) < 2:
        return []
    x, y = LocalFrame.around(lon, lat).to_xy(lon, lat)
    idx = _simplify_indices(x, y, _TRANSIT_TOLERANCE_M, _MAX_WAYPOINT_SPACING_M)[1:]
    if drop_last:
        idx = idx[:-1]
    return [_waypoint(lon[k], lat[k], plan.altitude_m) for k in idx]


def _racetrack_corners(orbit: Orbit) -> tuple[FloatArray, FloatArray]:
    """Corners in flight order from the start of the first straight leg: leg end, turn apex,
    second leg start, second leg end, turn apex (lon, lat arrays of six)."""
    h = math.radians(orbit.axis_heading_deg)
    along = np.array([math.sin(h), math.cos(h)])  # east, north
    side = -1.0 if orbit.clockwise else 1.0  # first leg lies left of travel when clockwise
    perp = side * np.array([math.cos(h), -math.sin(h)])  # right of the axis heading
    half, r = 0.5 * orbit.leg_length_m, orbit.radius_m
    pts = np.array(
        [
            -half * along + r * perp,
            half * along + r * perp,
            (half + r) * along,
            half * along - r * perp,
            -half * along - r * perp,
            -(half + r) * along,
        ]
    )
    proj = (
        f"+proj=aeqd +lat_0={orbit.centre_lat_deg:.9f} +lon_0={orbit.centre_lon_deg:.9f} "
        "+datum=WGS84 +units=m +no_defs"
    )
    inv = Transformer.from_crs(proj, "EPSG:4326", always_xy=True)
    lon, lat = inv.transform(pts[:, 0], pts[:, 1])
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def _first_corner(corner_x: FloatArray, corner_y: FloatArray, px: float, py: float) -> int:
    """Index of the corner the aircraft reaches first from the entry point (px, py): the end
    of the racetrack segment nearest to it."""
    ax, ay = corner_x, corner_y
    bx, by = np.roll(corner_x, -1), np.roll(corner_y, -1)
    dx, dy = bx - ax, by - ay
    u = np.clip(((px - ax) * dx + (py - ay) * dy) / np.maximum(dx * dx + dy * dy, 1e-9), 0, 1)
    dist = np.hypot(ax + u * dx - px, ay + u * dy - py)
    return (int(np.argmin(dist)) + 1) % len(corner_x)


def _orbit_items(
    plan: MissionPlan, orbit: Orbit, start_s: float, first_seq: int
) -> list[MissionItem]:
    entry_lon = float(np.interp(start_s, plan.path_time_s, plan.path_lon_deg))
    entry_lat = float(np.interp(start_s, plan.path_time_s, plan.path_lat_deg))
    items = [_waypoint(entry_lon, entry_lat, orbit.alt_m)]
    if orbit.kind == "circle":
        sign = 1.0 if orbit.clockwise else -1.0
        items.append(
            MissionItem(
                MAV_CMD_NAV_LOITER_TIME,
                MAV_FRAME_GLOBAL,
                param1=float(orbit.on_station_s),
                param3=sign * float(orbit.radius_m),
                lat_deg=orbit.centre_lat_deg,
                lon_deg=orbit.centre_lon_deg,
                alt_m=orbit.alt_m,
            )
        )
        return items
    lon, lat = _racetrack_corners(orbit)
    frame = LocalFrame(orbit.centre_lon_deg, orbit.centre_lat_deg)
    cx, cy = frame.to_xy(lon, lat)
    ex, ey = frame.to_xy(entry_lon, entry_lat)
    k = _first_corner(cx, cy, float(ex), float(ey))
    order = np.roll(np.arange(len(lon)), -k)
    items += [_waypoint(lon[i], lat[i], orbit.alt_m) for i in order]
    lap_m = 2.0 * orbit.leg_length_m + 2.0 * math.pi * orbit.radius_m
    laps = max(1, round(orbit.on_station_s * plan.loiter_speed_mps / lap_m))
    target_seq = first_seq + 1  # the first corner, right after the entry waypoint
    items.append(
        MissionItem(
            MAV_CMD_DO_JUMP, MAV_FRAME_MISSION, param1=float(target_seq), param2=float(laps - 1)
        )
    )
    return items


def build_mission_items(plan: MissionPlan) -> tuple[MissionItem, ...]:
    """The plan's mission items (home excluded; the first item is sequence number 1)."""
    items: list[MissionItem] = [
        MissionItem(
            MAV_CMD_NAV_TAKEOFF,
            MAV_FRAME_GLOBAL,
            param1=_TAKEOFF_MIN_PITCH_DEG,
            lat_deg=plan.base_lat_deg,
            lon_deg=plan.base_lon_deg,
            alt_m=plan.base_elevation_m + _TAKEOFF_CLIMB_M,
        )
    ]
    orbits = {o.name: o for o in plan.orbits}
    legs = list(plan.legs)
    if not legs and len(plan.path_time_s) >= 2:
        items += _transit_items(plan, plan.path_time_s[0], plan.path_time_s[-1], False)
    for n, leg in enumerate(legs):
        if leg.kind == "orbit":
            if leg.name not in orbits:
                raise InputError(
                    "an orbit leg names no orbit of the plan",
                    source="plan",
                    field=f"legs[{n}].name",
                    value=leg.name,
                )
            items += _orbit_items(plan, orbits[leg.name], leg.start_s, len(items) + 1)
        else:
            before_orbit = n + 1 < len(legs) and legs[n + 1].kind == "orbit"
            items += _transit_items(plan, leg.start_s, leg.end_s, before_orbit)
    items.append(MissionItem(MAV_CMD_NAV_RETURN_TO_LAUNCH, MAV_FRAME_MISSION))
    return tuple(items)


def nav_polyline(plan: MissionPlan, items: tuple[MissionItem, ...]) -> list[FloatArray]:
    """What the autopilot flies between positions, as (n, 2) lon/lat polylines: the chain
    from the base through every positioned item, and each racetrack's closing jump."""
    chain = [(plan.base_lon_deg, plan.base_lat_deg)]
    lines: list[FloatArray] = []
    for seq, item in enumerate(items, start=1):
        if item.has_position:
            chain.append((item.lon_deg, item.lat_deg))
        elif item.command == MAV_CMD_DO_JUMP:
            target = items[int(item.param1) - 1]
            last = items[seq - 2]
            lines.append(np.array([(last.lon_deg, last.lat_deg), (target.lon_deg, target.lat_deg)]))
    chain.append((plan.base_lon_deg, plan.base_lat_deg))
    return [np.asarray(chain, dtype=np.float64), *lines]
