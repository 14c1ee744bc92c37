"""``path.geojson``: the nominal path with per-vertex UTC times, and the orbits (RFC 7946).

Positions are [lon, lat] with seven decimals (about 1 cm).  The file is readable by
:func:`standoff.airspace.io.read_paths`, which reads the feature marked ``kind = "path"``:
the path is the first feature (``properties.times`` one ISO 8601 UTC time per vertex,
``properties.name``), each orbit follows as a closed LineString (``kind = "orbit"``) and the
base as a Point (``kind = "base"``; ``include_base=False`` leaves it out).
"""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from standoff.core.errors import InputError
from standoff.domain.mission import MissionPlan
from standoff.share._io import write_text_atomic

__all__ = ["path_feature_collection", "path_times_utc", "write_path_geojson"]

_DECIMALS: Final = 7


def path_times_utc(plan: MissionPlan) -> list[str]:
    """ISO 8601 UTC time (microseconds, ``Z``) of every path vertex."""
    if plan.start_utc.tzinfo is None:
        raise InputError("start_utc must be timezone-aware UTC", source="plan", field="start_utc")
    start = np.datetime64(plan.start_utc.astimezone(UTC).replace(tzinfo=None), "us")
    offsets = np.round(np.asarray(plan.path_time_s, dtype=np.float64) * 1e6).astype(np.int64)
    stamps = np.datetime_as_string(start + offsets.astype("timedelta64[us]"), unit="us")
    return [f"{s}Z" for s in stamps.tolist()]


def _positions(lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike) -> list[list[float]]:
    lon = np.round(np.asarray(lon_deg, dtype=np.float64), _DECIMALS)
    lat = np.round(np.asarray(lat_deg, dtype=np.float64), _DECIMALS)
    if np.any(np.abs(lat) > 90) or np.any(np.abs(lon) > 180):
        raise InputError("coordinate out of range", source="plan", field="path")
    return np.column_stack([lon, lat]).tolist()  # type: ignore[no-any-return]


def path_feature_collection(plan: MissionPlan, *, include_base: bool = True) -> dict[str, Any]:
    """The GeoJSON FeatureCollection of the plan's path and orbits (and base, on request)."""
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {
                "type": "LineString",
                "coordinates": _positions(plan.path_lon_deg, plan.path_lat_deg),
            },
            "properties": {
                "name": plan.mission_name,
                "kind": "path",
                "operator": plan.operator,
                "altitude_m": float(plan.altitude_m),
                "times": path_times_utc(plan),
            },
        }
    ]
    for orbit in plan.orbits:
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": _positions(orbit.lon_deg, orbit.lat_deg),
                },
                "properties": {
                    "name": orbit.name,
                    "kind": "orbit",
                    "orbit_kind": orbit.kind,
                    "alt_m": float(orbit.alt_m),
                    "radius_m": float(orbit.radius_m),
                    "leg_length_m": float(orbit.leg_length_m),
                    "clockwise": orbit.clockwise,
                    "on_station_s": float(orbit.on_station_s),
                    "aoi_names": list(orbit.aoi_names),
                    "radar_azimuth_deg": orbit.radar_azimuth_deg,
                },
            }
        )
    if include_base:
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": _positions([plan.base_lon_deg], [plan.base_lat_deg])[0],
                },
                "properties": {
                    "name": plan.base_icao,
                    "kind": "base",
                    "elevation_m": float(plan.base_elevation_m),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def write_path_geojson(plan: MissionPlan, path: str | Path, *, include_base: bool = True) -> Path:
    """Write ``path.geojson`` (see the module docstring for ``include_base``)."""
    doc = path_feature_collection(plan, include_base=include_base)
    return write_text_atomic(path, json.dumps(doc, allow_nan=False) + "\n")
