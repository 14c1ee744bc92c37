"""Where a moving-target radar looks: its annulus sector, aimed at the areas of interest.

One rule for the planner and the simulator: from ``(x, y)`` (local metres) the radar sees
the ground annulus [``r_min``, ``r_max``]; with areas of interest it aims its azimuth
sector (``half`` radians either side) at the azimuth the plan gives the orbit being flown
(``Orbit.radar_azimuth_deg``), or, without one (a transit, or a plan without it), at the
centroid of the AOIs inside the annulus, and looks at the AOIs within that sector.
Azimuths are clockwise from north.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

__all__ = ["aimed_sector", "sector_polygon", "swept_sector"]


def sector_polygon(
    x_m: float, y_m: float, r_min: float, r_max: float, centre: float, half: float
) -> BaseGeometry:
    """The annulus sector as a polygon (azimuths clockwise from north, radians)."""
    n = max(8, int(np.degrees(2.0 * half)))
    az = centre + np.linspace(-half, half, n)
    outer = np.column_stack([x_m + r_max * np.sin(az), y_m + r_max * np.cos(az)])
    if half >= np.pi:
        inner = np.column_stack([x_m + r_min * np.sin(az), y_m + r_min * np.cos(az)])
        return Polygon(outer, [inner[::-1]]) if r_min > 0 else Polygon(outer)
    if r_min <= 0:
        return Polygon(np.vstack([[[x_m, y_m]], outer]))
    inner = np.column_stack([x_m + r_min * np.sin(az), y_m + r_min * np.cos(az)])[::-1]
    return Polygon(np.vstack([outer, inner]))


def _in_reach(
    x_m: float, y_m: float, r_min: float, r_max: float, aois: BaseGeometry
) -> BaseGeometry | None:
    """The part of ``aois`` in the ground annulus around ``(x_m, y_m)`` (None: none)."""
    visible = shapely.intersection(aois, sector_polygon(x_m, y_m, r_min, r_max, 0.0, np.pi))
    return None if visible.is_empty or visible.area <= 0 else visible


def aimed_sector(
    x_m: float,
    y_m: float,
    r_min: float,
    r_max: float,
    half: float,
    aois: BaseGeometry,
    centre: float | None = None,
) -> tuple[float, BaseGeometry] | None:
    """The sector's centre azimuth and the part of ``aois`` it sees from ``(x_m, y_m)``;
    None when no AOI lies within the annulus (or the sector sees none of it).  The sector
    is centred on ``centre`` (radians) when given, else on the AOIs inside the annulus."""
    if centre is None or half >= np.pi:
        aois = _in_reach(x_m, y_m, r_min, r_max, aois)
        if aois is None:
            return None
        if centre is None:
            c = aois.centroid
            centre = float(np.arctan2(c.x - x_m, c.y - y_m))
        if half >= np.pi:
            return float(centre), aois
    seen = shapely.intersection(aois, sector_polygon(x_m, y_m, r_min, r_max, centre, half))
    return None if seen.is_empty or seen.area <= 0 else (float(centre), seen)


def swept_sector(
    x_m: float, y_m: float, r_min: float, r_max: float, half: float, aois: BaseGeometry, step: int
) -> tuple[float, BaseGeometry] | None:
    """Scan ``step`` of a sweep across the AOIs: the sector's centre azimuth and the part of
    ``aois`` it sees from ``(x_m, y_m)`` (None when no AOI lies within the annulus).

    The AOIs within the annulus span an arc of azimuths (the smallest one holding them);
    ``n = ceil(arc / (2 half))`` sectors cover it, the first and last flush with its ends,
    and scan ``step`` looks through sector ``step mod n``, so a place is revisited every
    ``n`` scans.  With ``n = 1`` the sector is centred on the arc."""
    visible = _in_reach(x_m, y_m, r_min, r_max, aois)
    if visible is None:
        return None
    pts = shapely.get_coordinates(shapely.segmentize(visible, max(r_max * 0.02, 1.0)))
    az = np.sort(np.arctan2(pts[:, 0] - x_m, pts[:, 1] - y_m) % (2.0 * np.pi))
    gaps = np.diff(np.r_[az, az[0] + 2.0 * np.pi])
    k = int(np.argmax(gaps))
    start = float(az[(k + 1) % len(az)])
    arc = 2.0 * np.pi - float(gaps[k])
    n = max(1, int(np.ceil(arc / (2.0 * half) - 1e-9)))
    offset = arc / 2.0 if n == 1 else half + (step % n) * (arc - 2.0 * half) / (n - 1)
    centre = float((start + offset + np.pi) % (2.0 * np.pi) - np.pi)
    seen = shapely.intersection(visible, sector_polygon(x_m, y_m, r_min, r_max, centre, half))
    if seen.is_empty or seen.area <= 0:
        return None
    return centre, seen
