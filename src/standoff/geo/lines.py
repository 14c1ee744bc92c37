"""Reading lines (roads) from GeoJSON: LineStrings and MultiLineStrings in lon/lat."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from standoff.core.errors import InputError

__all__ = ["GeoLine", "read_lines_geojson"]


@dataclass(frozen=True)
class GeoLine:
    """One line of a GeoJSON file: its feature's index and properties, and its positions."""

    feature: int
    properties: dict[str, Any]
    lon_deg: npt.NDArray[np.float64]
    lat_deg: npt.NDArray[np.float64]


def read_lines_geojson(path: str | Path) -> list[GeoLine]:
    """Every line of a GeoJSON FeatureCollection, Feature or geometry at ``path``.

    Errors name the file, the feature's field and the value: a missing or unreadable
    file, another geometry type, non-numeric or out-of-range positions (GeoJSON order is
    [lon, lat]), a line of fewer than two positions, a file without lines."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError("file not found", source=str(p)) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", source=str(p), row=exc.lineno) from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read: {exc}", source=str(p)) from exc
    if not isinstance(doc, dict):
        raise InputError("a GeoJSON file must hold an object", source=str(p))
    feats = doc.get("features") if doc.get("type") == "FeatureCollection" else [doc]
    if not isinstance(feats, list):
        raise InputError("'features' must be a list", source=str(p), field="features")
    lines: list[GeoLine] = []
    for i, feat in enumerate(feats):
        where = f"features[{i}]"
        if not isinstance(feat, dict):
            raise InputError("a feature must be an object", source=str(p), field=where)
        geom = feat.get("geometry", feat) if feat.get("type") == "Feature" else feat
        props = feat.get("properties") if feat.get("type") == "Feature" else None
        gtype = geom.get("type") if isinstance(geom, dict) else None
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        if gtype == "LineString":
            parts = [coords]
        elif gtype == "MultiLineString" and isinstance(coords, list):
            parts = coords
        else:
            raise InputError(
                "lines must be LineStrings or MultiLineStrings (lon, lat)",
                source=str(p),
                field=f"{where}.geometry.type",
                value=gtype,
            )
        for j, part in enumerate(parts):
            at = f"{where}.geometry.coordinates" + (f"[{j}]" if gtype != "LineString" else "")
            try:
                arr = np.asarray(part, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise InputError("coordinates must be numbers", source=str(p), field=at) from exc
            if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 2:
                raise InputError(
                    "a line needs at least two [lon, lat] positions", source=str(p), field=at
                )
            if not (np.abs(arr[:, 0]) <= 180).all() or not (np.abs(arr[:, 1]) <= 90).all():
                raise InputError(
                    "coordinates out of range (GeoJSON order is [lon, lat])",
                    source=str(p),
                    field=at,
                )
            lines.append(
                GeoLine(i, dict(props) if isinstance(props, dict) else {}, arr[:, 0], arr[:, 1])
            )
    if not lines:
        raise InputError("the file holds no lines", source=str(p))
    return lines
