"""Reading paths, points and no-fly zones from files; writing classified points.

Every problem with a file is an :class:`~standoff.core.errors.InputError` that names the
file, the row (as a person counts lines: the header is line 1) or feature, the field and the
value.  Coordinates in GeoJSON are (lon, lat) as RFC 7946 says; CSV files name their columns.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry import shape

from standoff.airspace.model import Airspace, NoFlyZone
from standoff.airspace.path import FlightPath
from standoff.core.errors import InputError
from standoff.core.files import load_json

__all__ = [
    "ClassifySummary",
    "NamedPath",
    "classify_csv",
    "parse_times",
    "read_no_fly_zones",
    "read_paths",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class NamedPath:
    """A path read from a file, with the name the file gives it."""

    name: str
    path: FlightPath


@dataclass(frozen=True)
class ClassifySummary:
    rows: int
    owners: dict[str, int]
    output: Path


def _features(doc: Any, source: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(where, geometry, properties) for each feature of a GeoJSON document."""
    if not isinstance(doc, dict) or "type" not in doc:
        raise InputError("not a GeoJSON object (no 'type')", source=source)
    kind = doc["type"]
    if kind == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise InputError("'features' must be a list", source=source, field="features")
        out = []
        for i, feat in enumerate(feats):
            if not isinstance(feat, dict) or feat.get("type") != "Feature":
                raise InputError("not a GeoJSON Feature", source=source, field=f"features[{i}]")
            geom = feat.get("geometry")
            if not isinstance(geom, dict):
                raise InputError(
                    "feature without a geometry", source=source, field=f"features[{i}].geometry"
                )
            props = feat.get("properties") or {}
            out.append((f"features[{i}]", geom, props if isinstance(props, dict) else {}))
        return out
    if kind == "Feature":
        geom = doc.get("geometry")
        if not isinstance(geom, dict):
            raise InputError("feature without a geometry", source=source, field="geometry")
        props = doc.get("properties") or {}
        return [("feature", geom, props if isinstance(props, dict) else {})]
    if kind in ("LineString", "Polygon", "MultiPolygon", "MultiLineString", "Point"):
        return [("geometry", doc, {})]
    raise InputError("unsupported GeoJSON type", source=source, field="type", value=kind)


def _positions(coords: Any, source: str, where: str) -> FloatArray:
    """A list of GeoJSON positions as an (n, 2) array, checked for numbers and ranges."""
    if not isinstance(coords, list):
        raise InputError(
            "coordinates must be a list of positions", source=source, field=f"{where}.coordinates"
        )
    out = np.empty((len(coords), 2))
    for i, pos in enumerate(coords):
        field = f"{where}.coordinates[{i}]"
        if (
            not isinstance(pos, list)
            or len(pos) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos[:3])
        ):
            raise InputError(
                "a position must be [lon, lat] or [lon, lat, alt] numbers",
                source=source,
                field=field,
                value=pos,
            )
        lon, lat = float(pos[0]), float(pos[1])
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise InputError("coordinate is not finite", source=source, field=field, value=pos)
        if abs(lat) > 90:
            raise InputError(
                "latitude outside ±90 (GeoJSON order is [lon, lat])",
                source=source,
                field=field,
                value=pos,
            )
        if abs(lon) > 180:
            raise InputError("longitude outside ±180", source=source, field=field, value=pos)
        out[i] = (lon, lat)
    return out


def parse_times(
    values: pd.Series, source: str, field: str = "time", first_row: int = 2
) -> tuple[FloatArray, datetime | None]:
    """Times as seconds: numbers stay seconds (no epoch); ISO 8601 strings must carry a UTC
    offset and become seconds since the first time, which is returned as the epoch."""
    text = values.astype(str).str.strip()
    numeric = pd.to_numeric(text, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(dtype=np.float64), None
    has_zone = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    bad = parsed.isna() | ~has_zone
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            "time must be ISO 8601 with a UTC offset (e.g. 2026-03-20T02:00:00Z) "
            "or numeric seconds",
            source=source,
            row=first_row + i,
            field=field,
            value=text.iloc[i],
        )
    ns = parsed.dt.as_unit("ns").astype("int64").to_numpy()
    epoch_ns = int(ns[0])
    epoch = datetime.fromtimestamp(epoch_ns // 10**9, tz=UTC).replace(
        microsecond=(epoch_ns % 10**9) // 1000
    )
    return (ns - epoch_ns).astype(np.float64) / 1e9, epoch


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError as exc:
        raise InputError("file not found", source=str(path)) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError("the file is empty", source=str(path)) from exc
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"cannot parse as CSV: {exc}", source=str(path)) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _float_column(
    frame: pd.DataFrame, column: str, source: str, lo: float, hi: float
) -> FloatArray:
    if column not in frame.columns:
        raise InputError(
            f"missing column {column!r}; columns are {', '.join(frame.columns)}", source=source
        )
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < lo) | (values > hi)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        reason = "not a number" if not np.isfinite(values[i]) else f"outside {lo:g}..{hi:g}"
        raise InputError(reason, source=source, row=i + 2, field=column, value=raw.iloc[i])
    return values


def read_csv_track(path: Path) -> list[NamedPath]:
    """A CSV track with columns ``[sortie,]time,lat,lon[,alt_m]`` (time ISO 8601 UTC or
    seconds): one path, or with a ``sortie`` column (whole numbers, each sortie's rows
    together, in ascending order) one path per sortie, named ``<file stem> sortie <n>`` when
    there are several: the aircraft was on the ground between sorties, so no path joins one
    to the next."""
    source = str(path)
    frame = _read_csv(path)
    if len(frame) == 0:
        raise InputError("the track has no rows", source=source)
    for column in ("time", "lat", "lon"):
        if column not in frame.columns:
            raise InputError(
                f"missing column {column!r}; a track needs time,lat,lon[,alt_m]", source=source
            )
    lat = _float_column(frame, "lat", source, -90.0, 90.0)
    lon = _float_column(frame, "lon", source, -180.0, 180.0)
    alt = _float_column(frame, "alt_m", source, -1e3, 1e5) if "alt_m" in frame.columns else None
    time_s, epoch = parse_times(frame["time"], source)
    dec = np.flatnonzero(np.diff(time_s) < 0)
    if len(dec):
        i = int(dec[0]) + 1
        raise InputError(
            "times must not decrease",
            source=source,
            row=i + 2,
            field="time",
            value=frame["time"].iloc[i],
        )
    if "sortie" not in frame.columns:
        return [
            NamedPath(
                path.stem, FlightPath(lon, lat, time_s, epoch=epoch, alt_m=alt, source=source)
            )
        ]
    sortie = _float_column(frame, "sortie", source, 1.0, 1e6)
    bad = np.flatnonzero((sortie != np.floor(sortie)) | (np.diff(sortie, prepend=sortie[0]) < 0))
    if len(bad):
        i = int(bad[0])
        raise InputError(
            "sortie must be a whole number, each sortie's rows together in ascending order",
            source=source,
            row=i + 2,
            field="sortie",
            value=frame["sortie"].iloc[i],
        )
    cut = np.flatnonzero(np.diff(sortie)) + 1
    out = []
    for lo, hi in zip(np.r_[0, cut], np.r_[cut, len(sortie)], strict=True):
        n = int(sortie[lo])
        out.append(
            NamedPath(
                f"{path.stem} sortie {n}" if len(cut) else path.stem,
                FlightPath(
                    lon[lo:hi],
                    lat[lo:hi],
                    time_s[lo:hi],
                    epoch=epoch,
                    alt_m=None if alt is None else alt[lo:hi],
                    source=f"{source} sortie {n}" if len(cut) else source,
                ),
            )
        )
    return out


def read_paths(path: str | Path) -> list[NamedPath]:
    """Paths from a GeoJSON LineString, Feature or FeatureCollection of them, or a CSV track."""
    p = Path(path)
    if p.suffix.lower() == ".csv":
        return read_csv_track(p)
    if p.suffix.lower() not in (".geojson", ".json"):
        raise InputError(
            "a path must be GeoJSON (.geojson, .json) or a CSV track (.csv)",
            source=str(p),
            value=p.suffix,
        )
    source = str(p)
    out: list[NamedPath] = []
    features = _features(load_json(p), source)
    # A product that also carries orbits, bases or areas marks its flight path(s) with
    # properties.kind = "path": read only those.
    if any(props.get("kind") == "path" for _, _, props in features):
        features = [f for f in features if f[2].get("kind") == "path"]
    for where, geom, props in features:
        if geom.get("type") != "LineString":
            raise InputError(
                "a path must be a LineString",
                source=source,
                field=f"{where}.type",
                value=geom.get("type"),
            )
        coords = _positions(geom.get("coordinates"), source, where)
        if len(coords) < 2:
            raise InputError(
                "a LineString needs at least two positions",
                source=source,
                field=f"{where}.coordinates",
            )
        times = props.get("times")
        time_s = epoch = None
        if times is not None:
            if not isinstance(times, list) or len(times) != len(coords):
                raise InputError(
                    "properties.times must list one time per position",
                    source=source,
                    field=f"{where}.properties.times",
                )
            time_s, epoch = parse_times(
                pd.Series(times), source, field=f"{where}.properties.times", first_row=0
            )
            dec = np.flatnonzero(np.diff(time_s) < 0)
            if len(dec):
                raise InputError(
                    "times must not decrease",
                    source=source,
                    field=f"{where}.properties.times[{int(dec[0]) + 1}]",
                )
        name = str(
            props.get("name")
            or (p.stem if where in ("feature", "geometry") else f"{p.stem}:{where}")
        )
        out.append(
            NamedPath(
                name,
                FlightPath(
                    coords[:, 0], coords[:, 1], time_s, epoch=epoch, source=f"{source}:{where}"
                ),
            )
        )
    if not out:
        raise InputError("no path in the file", source=source)
    return out


def read_no_fly_zones(path: str | Path) -> list[NoFlyZone]:
    """No-fly zones from GeoJSON (Multi)Polygons; invalid shapes are refused, not repaired."""
    p = Path(path)
    source = str(p)
    zones: list[NoFlyZone] = []
    for k, (where, geom, props) in enumerate(_features(load_json(p), source)):
        kind = geom.get("type")
        if kind not in ("Polygon", "MultiPolygon"):
            raise InputError(
                "a no-fly zone must be a Polygon or MultiPolygon",
                source=source,
                field=f"{where}.type",
                value=kind,
            )
        polys = geom.get("coordinates")
        if not isinstance(polys, list) or not polys:
            raise InputError("empty coordinates", source=source, field=f"{where}.coordinates")
        rings_list = [polys] if kind == "Polygon" else polys
        for j, rings in enumerate(rings_list):
            if not isinstance(rings, list) or not rings:
                raise InputError(
                    "a polygon needs at least one ring",
                    source=source,
                    field=f"{where}.coordinates[{j}]",
                )
            for r, ring in enumerate(rings):
                label = (
                    f"{where}.coordinates" + (f"[{j}]" if kind == "MultiPolygon" else "") + f"[{r}]"
                )
                pts = _positions(ring, source, label)
                if len(pts) < 4 or not np.array_equal(pts[0], pts[-1]):
                    raise InputError(
                        "a ring must be closed and have at least four positions",
                        source=source,
                        field=label,
                    )
                if len(np.unique(pts[:-1], axis=0)) < 3:
                    raise InputError(
                        "a ring needs at least three distinct vertices", source=source, field=label
                    )
                if np.ptp(pts[:, 0]) > 180:
                    raise InputError(
                        "ring crosses the antimeridian; split it", source=source, field=label
                    )
        try:
            g = shape(geom)
        except (ValueError, TypeError, AttributeError) as exc:
            raise InputError(f"invalid geometry: {exc}", source=source, field=where) from exc
        if not g.is_valid:
            raise InputError(
                f"invalid polygon ({shapely.is_valid_reason(g)}); self-intersecting or "
                "overlapping rings are refused, not repaired",
                source=source,
                field=where,
            )
        if g.area <= 0:
            raise InputError("zero-area polygon", source=source, field=where)
        name = str(props.get("name") or f"zone-{k + 1}")
        zones.append(NoFlyZone(name=name, geometry=g))
    if not zones:
        raise InputError("no zone in the file", source=source)
    return zones


def _fast_lat_lon(path: Path) -> tuple[FloatArray, FloatArray, list[str]] | None:
    """lat/lon columns and the raw lines of a plain CSV, or None when the fast path does not
    apply (quoted line breaks, bad values: the careful reader then names the problem)."""
    try:
        raw = path.read_bytes().decode("utf-8")
        frame = pd.read_csv(io.StringIO(raw), usecols=["lat", "lon"], dtype=np.float64, engine="c")
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError):
        return None
    lines = raw.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) != len(frame) + 1:
        return None  # blank or multi-line records: use the careful reader
    return frame["lat"].to_numpy(), frame["lon"].to_numpy(), lines


def classify_csv(airspace: Airspace, in_path: str | Path, out_path: str | Path) -> ClassifySummary:
    """Add ``airspace`` (ISO3 or INTL) and ``boundary_distance_m`` columns to a CSV of points.

    Input needs ``lat`` and ``lon`` columns; every other column is copied unchanged (each
    input line is kept byte for byte, with the two new fields appended).  Nothing is written
    when any row is bad.
    """
    source = str(in_path)
    path = Path(in_path)
    fast = _fast_lat_lon(path) if path.is_file() else None
    frame: pd.DataFrame | None = None
    if fast is not None:
        lat, lon, lines = fast
        header = next(csv.reader([lines[0]]))
        columns = [c.strip() for c in header]
        bad = ~(np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180))
        if bad.any():
            fast = None
    if fast is None:
        frame = _read_csv(path)
        columns = list(frame.columns)
        lat = _float_column(frame, "lat", source, -90.0, 90.0)
        lon = _float_column(frame, "lon", source, -180.0, 180.0)
    if len(lat) == 0:
        raise InputError("the file has no rows", source=source)
    x0, y0, x1, y1 = airspace.data_box
    out = np.flatnonzero((lon < x0) | (lon > x1) | (lat < y0) | (lat > y1))
    if len(out):
        i = int(out[0])
        raise InputError(
            f"point outside the airspace data (lon {x0:g}..{x1:g}, lat {y0:g}..{y1:g})",
            source=source,
            row=i + 2,
            field="lat,lon",
            value=f"{lat[i]},{lon[i]}",
        )
    for column in ("airspace", "boundary_distance_m"):
        if column in columns:
            raise InputError(
                f"the input already has a column {column!r}", source=source, field=column
            )
    owners = airspace.owner_at(lon, lat)
    distance = np.round(airspace.boundary_distance_m(lon, lat), 1)
    target = Path(out_path)
    tmp = target.with_name(target.name + ".partial")
    try:
        if frame is None:
            body = "\n".join(
                f"{line},{o},{d:.1f}"
                for line, o, d in zip(lines[1:], owners.tolist(), distance.tolist(), strict=True)
            )
            tmp.write_text(f"{lines[0]},airspace,boundary_distance_m\n{body}\n", encoding="utf-8")
        else:
            frame["airspace"] = owners
            frame["boundary_distance_m"] = [f"{d:.1f}" for d in distance.tolist()]
            frame.to_csv(tmp, index=False)
        tmp.replace(target)
    except OSError as exc:
        raise InputError(f"cannot write the output: {exc.strerror}", source=str(target)) from exc
    names, counts = np.unique(owners, return_counts=True)
    return ClassifySummary(
        len(lat), {str(k): int(v) for k, v in zip(names, counts, strict=True)}, target
    )
