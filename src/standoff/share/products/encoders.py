"""Findings as GeoJSON (RFC 7946), KML 2.2 and GeoParquet 1.1.

Every feature carries its finding's kind, evidence, confidence (words and number) and marking;
every document carries the product's marking.  Positions are (lon, lat) in WGS 84.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from standoff.domain.findings import (
    BorderApproach,
    ChangeAlert,
    Corridor,
    Evidence,
    Finding,
    Findings,
    Site,
)
from standoff.domain.marking import Marking

__all__ = [
    "finding_geometry",
    "finding_properties",
    "findings_to_geojson",
    "findings_to_kml",
    "validate_geojson",
    "write_geoparquet",
]


def _evidence(e: Evidence) -> dict[str, Any]:
    return {
        "track_ids": list(e.track_ids),
        "detection_count": e.detection_count,
        "sensors": list(e.sensors),
        "first_utc": e.first_utc.isoformat().replace("+00:00", "Z"),
        "last_utc": e.last_utc.isoformat().replace("+00:00", "Z"),
    }


def finding_geometry(f: Finding, findings: Findings) -> dict[str, Any] | None:
    """A finding's GeoJSON geometry (an alert takes its subject's), or None."""
    if isinstance(f, Site | BorderApproach):
        return {"type": "Point", "coordinates": [round(f.lon_deg, 7), round(f.lat_deg, 7)]}
    if isinstance(f, Corridor):
        return {
            "type": "LineString",
            "coordinates": [[round(x, 7), round(y, 7)] for x, y in f.path_lonlat_deg],
        }
    if isinstance(f, ChangeAlert):
        try:
            return finding_geometry(findings.by_id(f.subject_id), findings)
        except Exception:  # the subject is not in this edition
            return None
    return None


def finding_properties(f: Finding) -> dict[str, Any]:
    kind = {
        Site: "site",
        Corridor: "corridor",
        BorderApproach: "border_approach",
        ChangeAlert: "change_alert",
    }[type(f)]
    props: dict[str, Any] = {
        "id": f.id,
        "kind": kind,
        "marking": f.marking.banner(),
        "confidence": f.confidence.words,
        "confidence_probability": round(f.confidence.probability, 4),
        "evidence": _evidence(f.evidence),
    }
    if isinstance(f, Site):
        props.update(
            visit_count=f.visit_count,
            mean_dwell_s=round(f.mean_dwell_s, 1),
            radius_m=round(f.radius_m, 1),
        )
    elif isinstance(f, Corridor):
        props.update(
            traversal_count=f.traversal_count,
            typical_speed_mps=round(f.typical_speed_mps, 2),
            from_site_id=f.from_site_id,
            to_site_id=f.to_site_id,
        )
    elif isinstance(f, BorderApproach):
        props.update(
            approach=f.kind,
            time_utc=f.time_utc.isoformat().replace("+00:00", "Z"),
            border_distance_m=round(f.border_distance_m, 1),
            nearest_port=f.nearest_port,
            nearest_port_distance_m=round(f.nearest_port_distance_m, 1),
            track_id=f.track_id,
        )
    elif isinstance(f, ChangeAlert):
        props.update(
            subject_id=f.subject_id,
            direction=f.direction,
            baseline_rate_per_day=round(f.baseline_rate_per_day, 3),
            observed_rate_per_day=round(f.observed_rate_per_day, 3),
            p_value=f.p_value,
        )
    return props


def findings_to_geojson(findings: Findings, marking: Marking) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection of every finding with a place."""
    feats = []
    for f in findings.all():
        geom = finding_geometry(f, findings)
        if geom is None:
            continue
        feats.append(
            {"type": "Feature", "id": f.id, "geometry": geom, "properties": finding_properties(f)}
        )
    return {
        "type": "FeatureCollection",
        "marking": marking.banner(),
        "run_id": findings.run_id,
        "features": feats,
    }


def _positions(geom: dict[str, Any]) -> list[Any]:
    t, c = geom.get("type"), geom.get("coordinates")
    if t == "Point":
        return [c]
    if t in ("LineString", "MultiPoint"):
        return list(c or [])
    if t in ("Polygon", "MultiLineString"):
        return [p for ring in c or [] for p in ring]
    if t == "MultiPolygon":
        return [p for poly in c or [] for ring in poly for p in ring]
    return []


def _ring_area(ring: list[list[float]]) -> float:
    return 0.5 * sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))


def validate_geojson(doc: Any) -> list[str]:
    """RFC 7946 problems of a FeatureCollection (empty list: valid): member types, no
    ``crs``, positions of 2 or 3 finite numbers with lon in [-180, 180] and lat in
    [-90, 90], LineStrings of 2+ positions, closed rings of 4+ positions, exterior rings
    counter-clockwise and holes clockwise."""
    problems: list[str] = []
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        return ["not a FeatureCollection"]
    if "crs" in doc:
        problems.append("a crs member is not allowed (RFC 7946 section 4)")
    for i, feat in enumerate(doc.get("features", [])):
        where = f"features[{i}]"
        if feat.get("type") != "Feature" or "properties" not in feat:
            problems.append(f"{where}: not a Feature with properties")
            continue
        geom = feat.get("geometry")
        if geom is None:
            continue
        for p in _positions(geom):
            if not (
                isinstance(p, list)
                and len(p) in (2, 3)
                and all(isinstance(v, int | float) and math.isfinite(v) for v in p)
            ):
                problems.append(f"{where}: bad position {p!r}")
            elif not (-180 <= p[0] <= 180 and -90 <= p[1] <= 90):
                problems.append(f"{where}: position out of range {p!r} (lon, lat order)")
        if geom.get("type") == "LineString" and len(geom.get("coordinates", [])) < 2:
            problems.append(f"{where}: a LineString needs two positions")
        polys = (
            [geom["coordinates"]]
            if geom.get("type") == "Polygon"
            else geom.get("coordinates", [])
            if geom.get("type") == "MultiPolygon"
            else []
        )
        for poly in polys:
            for k, ring in enumerate(poly):
                if len(ring) < 4 or ring[0] != ring[-1]:
                    problems.append(f"{where}: ring {k} is not closed with 4+ positions")
                elif (_ring_area(ring) > 0) != (k == 0):
                    problems.append(f"{where}: ring {k} winds the wrong way (right-hand rule)")
    return problems


def findings_to_kml(
    findings: Findings, marking: Marking, flown: tuple[list[float], list[float]] | None = None
) -> str:
    """KML 2.2: a folder per kind of finding, and the flown path when given (lon, lat)."""

    def placemark(f: Finding) -> str:
        geom = finding_geometry(f, findings)
        if geom is None:
            return ""
        props = finding_properties(f)
        desc = escape(
            f"{props['kind']} {f.id}: {f.confidence} ; marking {f.marking.banner()} ; "
            f"evidence {f.evidence.detection_count} detections from tracks "
            f"{', '.join(str(t) for t in f.evidence.track_ids[:20])}"
        )
        if geom["type"] == "Point":
            x, y = geom["coordinates"]
            shape = f"<Point><coordinates>{x},{y}</coordinates></Point>"
        else:
            coords = " ".join(f"{x},{y}" for x, y in geom["coordinates"])
            shape = (
                "<LineString><tessellate>1</tessellate>"
                f"<coordinates>{coords}</coordinates></LineString>"
            )
        return (
            f'<Placemark id="{escape(f.id)}"><name>{escape(f.id)}</name>'
            f"<description>{desc}</description>{shape}</Placemark>"
        )

    folders = []
    for title, items in (
        ("Sites", findings.sites),
        ("Corridors", findings.corridors),
        ("Border approaches", findings.approaches),
        ("Change alerts", findings.alerts),
    ):
        body = "".join(placemark(f) for f in items)
        folders.append(f"<Folder><name>{title}</name>{body}</Folder>")
    if flown is not None and len(flown[0]) > 1:
        coords = " ".join(f"{x:.6f},{y:.6f}" for x, y in zip(flown[0], flown[1], strict=True))
        folders.append(
            "<Folder><name>Flown path</name><Placemark><name>flown path</name><LineString>"
            f"<coordinates>{coords}</coordinates></LineString></Placemark></Folder>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<name>Standoff findings {escape(findings.run_id)}</name>"
        f"<description>{escape(marking.banner())}</description>"
        + "".join(folders)
        + "</Document></kml>\n"
    )


def write_geoparquet(findings: Findings, marking: Marking, path: str | Path) -> Path:
    """Findings as GeoParquet 1.1 (WKB geometry column ``geometry``, ``geo`` metadata)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely
    from shapely.geometry import shape

    rows = [(f, finding_geometry(f, findings)) for f in findings.all()]
    rows = [(f, g) for f, g in rows if g is not None]
    geoms = [shape(g) for _, g in rows]
    props = [finding_properties(f) for f, _ in rows]
    types = sorted({g.geom_type for g in geoms})
    bounds = shapely.total_bounds(geoms).tolist() if geoms else [0.0, 0.0, 0.0, 0.0]
    table = pa.table(
        {
            "id": pa.array([p["id"] for p in props], pa.string()),
            "kind": pa.array([p["kind"] for p in props], pa.string()),
            "marking": pa.array([p["marking"] for p in props], pa.string()),
            "confidence": pa.array([p["confidence"] for p in props], pa.string()),
            "confidence_probability": pa.array(
                [p["confidence_probability"] for p in props], pa.float64()
            ),
            "properties": pa.array([json.dumps(p, sort_keys=True) for p in props], pa.string()),
            "geometry": pa.array([shapely.to_wkb(g) for g in geoms], pa.binary()),
        }
    )
    geo = {
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {"geometry": {"encoding": "WKB", "geometry_types": types, "bbox": bounds}},
    }
    table = table.replace_schema_metadata(
        {"geo": json.dumps(geo), "standoff.marking": marking.banner()}
    )
    out = Path(path)
    pq.write_table(table, out)
    return out
