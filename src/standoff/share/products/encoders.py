"""Findings as GeoJSON (RFC 7946), KML 2.2 and GeoParquet 1.1.

Every feature carries its finding's kind, evidence, confidence (words and number) and marking;
every document carries the product's marking.  Positions are (lon, lat) in WGS 84.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standoff.core.errors import InputError
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
from standoff.share.products.inputs import TrackPoints

__all__ = [
    "finding_geometry",
    "finding_properties",
    "findings_to_geojson",
    "findings_to_kml",
    "validate_geojson",
    "write_geoparquet",
    "write_tracks_geoparquet",
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
        subject = next((g for g in findings.all() if g.id == f.subject_id), None)
        if subject is None or isinstance(subject, ChangeAlert):
            return None  # the subject is not in this edition
        return finding_geometry(subject, findings)
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
            observed_share=f.observed_share,
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
            activity=f.activity,
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


_KML_NS = "http://www.opengis.net/kml/2.2"
_NCNAME = re.compile(r"[^A-Za-z0-9._-]")
_STYLES = {  # aabbggrr
    "site": ("ff8e44ad", None),
    "corridor": (None, "ff2b39c0"),
    "border_approach": ("ff0054d3", None),
    "change_alert": ("ff00c0ff", None),
    "flown": (None, "ff602a10"),
}


def _kml_id(text: str) -> str:
    """An ``xs:ID``: starts with a letter, then letters, digits, ``.``, ``-``, ``_``."""
    clean = _NCNAME.sub("_", text)
    return clean if clean[:1].isalpha() else f"f_{clean}"


def _k(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, f"{{{_KML_NS}}}{tag}", attrs)
    if text is not None:
        child.text = text
    return child


def _iso_z(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def findings_to_kml(
    findings: Findings, marking: Marking, flown: tuple[list[float], list[float]] | None = None
) -> str:
    """KML 2.2 (valid against the OGC schema): a folder per kind of finding, and the flown
    path when given as ``(lon_deg, lat_deg)`` lists.  Each placemark carries its marking,
    kind, confidence (words and probability) and evidence in ``ExtendedData`` and its
    evidence's time span; the document's name and description carry the product marking."""
    ET.register_namespace("", _KML_NS)
    root = ET.Element(f"{{{_KML_NS}}}kml")
    doc = _k(root, "Document", id="standoff-findings")
    _k(doc, "name", f"{marking.banner()} Standoff findings {findings.run_id}")
    _k(
        doc,
        "description",
        f"{marking.banner()}. Findings of run {findings.run_id}, "
        f"{_iso_z(findings.start_utc)} to {_iso_z(findings.end_utc)}. Confidence in the words "
        "of ICD 203 with the probability behind them.",
    )
    for name, (icon, line) in _STYLES.items():
        style = _k(doc, "Style", id=f"style-{name}")
        if icon:
            _k(_k(style, "IconStyle"), "color", icon)
        if line:
            ls = _k(style, "LineStyle")
            _k(ls, "color", line)
            _k(ls, "width", "3" if name == "corridor" else "1.5")

    def placemark(folder: ET.Element, f: Finding) -> None:
        geom = finding_geometry(f, findings)
        if geom is None:
            return
        props = finding_properties(f)
        mark = _k(folder, "Placemark", id=_kml_id(f.id))
        _k(mark, "name", f.id)
        _k(
            mark,
            "description",
            f"{f.marking.banner()}. {props['kind'].replace('_', ' ')} {f.id}: "
            f"{f.confidence}. Evidence: {f.evidence.detection_count} detections "
            f"({', '.join(f.evidence.sensors)}) from {len(f.evidence.track_ids)} tracks, "
            f"{_iso_z(f.evidence.first_utc)} to {_iso_z(f.evidence.last_utc)}.",
        )
        span = _k(mark, "TimeSpan")
        _k(span, "begin", _iso_z(f.evidence.first_utc))
        _k(span, "end", _iso_z(f.evidence.last_utc))
        _k(mark, "styleUrl", f"#style-{props['kind']}")
        data = _k(mark, "ExtendedData")
        for key in ("marking", "kind", "confidence", "confidence_probability"):
            _k(_k(data, "Data", name=key), "value", str(props[key]))
        _k(_k(data, "Data", name="evidence"), "value", json.dumps(props["evidence"]))
        if props.get("observed_share") is not None:
            _k(_k(data, "Data", name="observed_share"), "value", str(props["observed_share"]))
        if geom["type"] == "Point":
            x, y = geom["coordinates"]
            _k(_k(mark, "Point"), "coordinates", f"{x},{y}")
        else:
            line = _k(mark, "LineString")
            _k(line, "tessellate", "1")
            _k(line, "coordinates", " ".join(f"{x},{y}" for x, y in geom["coordinates"]))

    for title, items in (
        ("Sites", findings.sites),
        ("Corridors", findings.corridors),
        ("Border approaches", findings.approaches),
        ("Change alerts", findings.alerts),
    ):
        folder = _k(doc, "Folder")
        _k(folder, "name", title)
        for f in items:
            placemark(folder, f)
    if flown is not None and len(flown[0]) > 1:
        folder = _k(doc, "Folder")
        _k(folder, "name", "Flown path")
        mark = _k(folder, "Placemark", id="flown-path")
        _k(mark, "name", "flown path")
        _k(mark, "styleUrl", "#style-flown")
        path = _k(mark, "LineString")
        _k(path, "tessellate", "1")
        _k(
            path,
            "coordinates",
            " ".join(f"{x:.6f},{y:.6f}" for x, y in zip(flown[0], flown[1], strict=True)),
        )
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode", xml_declaration=False)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _geoparquet(
    columns: dict[str, Any], geometries: list[Any], marking: Marking, path: str | Path
) -> Path:
    """Write ``columns`` plus a WKB ``geometry`` column with GeoParquet 1.1 ``geo`` metadata
    (CRS omitted: OGC:CRS84, lon/lat) and the product marking in ``standoff.marking``."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    types = sorted({g.geom_type for g in geometries})
    bounds = shapely.total_bounds(geometries).tolist() if geometries else []
    table = pa.table(
        {**columns, "geometry": pa.array(list(shapely.to_wkb(geometries)), pa.binary())}
    )
    column_meta: dict[str, Any] = {"encoding": "WKB", "geometry_types": types}
    if bounds and all(math.isfinite(b) for b in bounds):
        column_meta["bbox"] = bounds
    geo = {"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": column_meta}}
    table = table.replace_schema_metadata(
        {"geo": json.dumps(geo), "standoff.marking": marking.banner()}
    )
    out = Path(path)
    tmp = out.with_name(out.name + ".partial")
    try:
        pq.write_table(table, tmp)
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write the file: {exc}", source=str(out)) from exc
    return out


def write_geoparquet(findings: Findings, marking: Marking, path: str | Path) -> Path:
    """Findings as GeoParquet 1.1: one row per finding with a place (``id``, ``kind``,
    ``marking``, ``confidence``, ``confidence_probability``, ``own_territory``, evidence
    columns, every property as JSON in ``properties``) and a WKB ``geometry``."""
    import pyarrow as pa
    from shapely.geometry import shape

    rows = [(f, finding_geometry(f, findings)) for f in findings.all()]
    kept = [(f, g) for f, g in rows if g is not None]
    props = [finding_properties(f) for f, _ in kept]
    ts = pa.timestamp("us", tz="UTC")
    columns = {
        "id": pa.array([p["id"] for p in props], pa.string()),
        "kind": pa.array([p["kind"] for p in props], pa.string()),
        "marking": pa.array([p["marking"] for p in props], pa.string()),
        "confidence": pa.array([p["confidence"] for p in props], pa.string()),
        "confidence_probability": pa.array(
            [p["confidence_probability"] for p in props], pa.float64()
        ),
        "own_territory": pa.array([f.own_territory for f, _ in kept], pa.bool_()),
        "detection_count": pa.array([f.evidence.detection_count for f, _ in kept], pa.int64()),
        "track_ids": pa.array([list(f.evidence.track_ids) for f, _ in kept], pa.list_(pa.int64())),
        "first_utc": pa.array([f.evidence.first_utc for f, _ in kept], ts),
        "last_utc": pa.array([f.evidence.last_utc for f, _ in kept], ts),
        "properties": pa.array([json.dumps(p, sort_keys=True) for p in props], pa.string()),
    }
    return _geoparquet(columns, [shape(g) for _, g in kept], marking, path)


def write_tracks_geoparquet(points: TrackPoints, marking: Marking, path: str | Path) -> Path:
    """Track reports as GeoParquet 1.1: ``time`` (UTC), ``track_id``, ``marking`` and a WKB
    Point ``geometry`` (lon, lat) per report, in time order."""
    import pyarrow as pa
    import shapely

    n = len(points)
    columns = {
        "time": pa.array(points.time_utc.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
        "track_id": pa.array(points.track_id, pa.int64()),
        "marking": pa.array([marking.banner()] * n, pa.string()),
    }
    geoms = list(shapely.points(points.lon_deg, points.lat_deg)) if n else []
    return _geoparquet(columns, geoms, marking, path)
