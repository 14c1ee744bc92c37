"""``plan.kml``: the path, the orbits and the base for Google Earth and friends (KML 2.2).

Coordinates are ``lon,lat,alt`` with absolute altitudes (metres above mean sea level).  The
plan has no per-vertex altitude: the path is drawn at the cruise altitude, each orbit at its
own altitude, the base at its elevation.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from standoff.domain.mission import MissionPlan
from standoff.share._io import write_text_atomic
from standoff.share.geojson import path_times_utc

__all__ = ["KML_NS", "plan_kml", "write_plan_kml"]

KML_NS: Final = "http://www.opengis.net/kml/2.2"


def _el(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, f"{{{KML_NS}}}{tag}")
    if text is not None:
        child.text = text
    return child


def _coordinates(lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike, alt_m: float) -> str:
    lon = np.asarray(lon_deg, dtype=np.float64).ravel()
    lat = np.asarray(lat_deg, dtype=np.float64).ravel()
    return " ".join(f"{x:.7f},{y:.7f},{alt_m:.1f}" for x, y in zip(lon, lat, strict=True))


def _placemark(
    doc: ET.Element,
    name: str,
    kind: str,
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    alt_m: float,
    description: str = "",
    times: Sequence[str] = (),
) -> None:
    mark = _el(doc, "Placemark")
    _el(mark, "name", name)
    if description:
        _el(mark, "description", description)
    if times:
        span = _el(mark, "TimeSpan")
        _el(span, "begin", times[0])
        _el(span, "end", times[-1])
    geom = _el(mark, "Point" if kind == "point" else "LineString")
    _el(geom, "altitudeMode", "absolute")
    _el(geom, "coordinates", _coordinates(lon, lat, alt_m))


def plan_kml(plan: MissionPlan) -> ET.Element:
    """The KML document element of a plan."""
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = _el(root, "Document")
    _el(doc, "name", plan.mission_name)
    times = path_times_utc(plan) if len(plan.path_time_s) else []
    _placemark(
        doc,
        f"{plan.mission_name} path",
        "line",
        plan.path_lon_deg,
        plan.path_lat_deg,
        plan.altitude_m,
        f"operator {plan.operator}, aircraft {plan.aircraft_name}",
        times,
    )
    for orbit in plan.orbits:
        _placemark(
            doc,
            orbit.name,
            "line",
            orbit.lon_deg,
            orbit.lat_deg,
            orbit.alt_m,
            f"{orbit.kind}, radius {orbit.radius_m:.0f} m, {orbit.on_station_s:.0f} s on station",
        )
    _placemark(
        doc,
        plan.base_icao,
        "point",
        [plan.base_lon_deg],
        [plan.base_lat_deg],
        plan.base_elevation_m,
        "base",
    )
    return root


def write_plan_kml(plan: MissionPlan, path: str | Path) -> Path:
    """Write ``plan.kml``."""
    root = plan_kml(plan)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode", xml_declaration=False)
    return write_text_atomic(path, '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")
