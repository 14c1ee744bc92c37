"""Mission files (YAML): validated strictly once, turned into a :class:`MissionRequest`.

Unknown fields are refused with their path; so is any weapon declaration (the mandate).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from standoff.core.errors import InputError
from standoff.core.files import load_yaml
from standoff.core.units import FT_M
from standoff.core.utc import with_iso_start
from standoff.platforms import (
    AircraftSpec,
    SensorSpec,
    refuse_kinetic,
    resolve_aircraft,
    resolve_sensor,
)

__all__ = ["AoiRequest", "LookPoint", "MissionRequest", "load_mission", "parse_mission"]


@dataclass(frozen=True)
class AoiRequest:
    """An area of interest: a valid (Multi)Polygon in lon/lat, with a priority weight."""

    name: str
    priority: float
    geometry: BaseGeometry


@dataclass(frozen=True)
class LookPoint:
    """A place a sensor must be able to look at from the orbits (e.g. a site a partner's
    request names, for the EO/IR camera): the planner keeps it within the sensor's reach."""

    name: str
    lon_deg: float
    lat_deg: float
    sensor: SensorSpec
    priority: float


@dataclass(frozen=True)
class MissionRequest:
    """What a mission file asks for, validated and resolved."""

    name: str
    operator: str
    base_icao: str
    base_lon_deg: float
    base_lat_deg: float
    base_elevation_m: float
    aircraft: AircraftSpec
    sensors: tuple[SensorSpec, ...]
    altitude_m: float
    margin_m: float
    start_utc: datetime
    aois: tuple[AoiRequest, ...]
    on_station_s: float | None
    max_orbits: int
    source: str
    look_points: tuple[LookPoint, ...] = ()
    radar_aim: Literal["aois", "planned"] = "aois"
    """Where the moving-target radar's sector points on each orbit: at the AOIs in reach
    (``aois``), or at an azimuth per orbit the planner chooses (``planned``: each orbit
    holds the look points in reach, then covers what the other orbits leave)."""


def _default_sensors() -> list[str | dict[str, Any]]:
    return ["gmti", "eoir"]


class _Aoi(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=80)
    priority: float = Field(default=1.0, gt=0)
    geometry: dict[str, Any] | str


class _LookPoint(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=80)
    lon_deg: float = Field(ge=-180, le=180)
    lat_deg: float = Field(ge=-90, le=90)
    sensor: str = "eoir"
    priority: float = Field(default=1.0, gt=0)


class _Mission(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    operator: str = Field(min_length=3, max_length=3)
    base: str = Field(min_length=3, max_length=4)
    aircraft: str | dict[str, Any] = "mq9"
    sensors: list[str | dict[str, Any]] = Field(default_factory=_default_sensors, min_length=1)
    altitude_m: float = Field(gt=0)
    margin_m: float = Field(ge=0)
    start: datetime
    on_station_s: float | None = Field(default=None, gt=0)
    max_orbits: int = Field(default=4, ge=1, le=12)
    aoi: list[_Aoi] = Field(min_length=1)
    look_points: list[_LookPoint] = Field(default_factory=list, max_length=50)
    radar_aim: Literal["aois", "planned"] = "aois"

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.utcoffset() is None:
            raise ValueError("start must carry a UTC offset, e.g. 2026-03-20T02:00:00Z")
        return value.astimezone(UTC)


def _aoi_geometry(
    raw: dict[str, Any] | str, source: str, where: str, base_dir: Path | None
) -> BaseGeometry:
    if isinstance(raw, str):
        if base_dir is None:
            raise InputError(
                "AOI files are not read here: give the GeoJSON geometry inline",
                source=source,
                field=where,
                value=raw,
            )
        path = (base_dir / raw) if not Path(raw).is_absolute() else Path(raw)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise InputError("AOI file not found", source=source, field=where, value=raw) from exc
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the AOI GeoJSON: {exc}", source=str(path)) from exc
        if doc.get("type") == "FeatureCollection":
            geoms = [f.get("geometry") for f in doc.get("features", [])]
        elif doc.get("type") == "Feature":
            geoms = [doc.get("geometry")]
        else:
            geoms = [doc]
        parts = [
            _aoi_geometry(g, str(path), f"{where}[{i}]", base_dir) for i, g in enumerate(geoms)
        ]
        return shapely.union_all(parts)
    if not isinstance(raw, dict) or raw.get("type") not in ("Polygon", "MultiPolygon"):
        raise InputError(
            "an AOI geometry must be a GeoJSON Polygon or MultiPolygon (lon, lat)",
            source=source,
            field=where,
            value=raw.get("type") if isinstance(raw, dict) else raw,
        )
    try:
        geom = shape(raw)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise InputError(f"invalid GeoJSON geometry: {exc}", source=source, field=where) from exc
    coords = shapely.get_coordinates(geom)
    if (
        len(coords) == 0
        or not (abs(coords[:, 1]) <= 90).all()
        or not (abs(coords[:, 0]) <= 180).all()
    ):
        raise InputError(
            "coordinates out of range (GeoJSON order is [lon, lat])", source=source, field=where
        )
    if not geom.is_valid:
        raise InputError(
            f"invalid polygon: {shapely.is_valid_reason(geom)}", source=source, field=where
        )
    if geom.area <= 0:
        raise InputError("zero-area polygon", source=source, field=where)
    return geom


def _base(icao: str, source: str) -> tuple[float, float, float]:
    import airportsdata  # loaded on demand: 28,000 airfields

    airports = airportsdata.load("ICAO")
    entry = airports.get(icao.upper())
    if entry is None:
        raise InputError("unknown ICAO airfield code", source=source, field="base", value=icao)
    return float(entry["lon"]), float(entry["lat"]), float(entry["elevation"]) * FT_M


def parse_mission(
    document: Any, *, source: str, base_dir: Path | None = None, files: bool = True
) -> MissionRequest:
    """Validate a mission document (parsed from YAML, or JSON with ``start`` as ISO 8601
    text).  ``files=False`` refuses AOI file references (a document from a client)."""
    if not isinstance(document, dict):
        raise InputError("a mission file must be a YAML mapping", source=source)
    refuse_kinetic(document, source=source, values=False)
    document = with_iso_start(document, source=source)
    try:
        model = _Mission.model_validate(document)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise InputError(
            err["msg"], source=source, field=loc or None, value=err.get("input")
        ) from exc
    aircraft = resolve_aircraft(model.aircraft, source=source)
    sensors = tuple(
        resolve_sensor(s, source=source, field_path=f"sensors[{i}]")
        for i, s in enumerate(model.sensors)
    )
    if model.altitude_m > aircraft.service_ceiling_m:
        raise InputError(
            f"above the aircraft's service ceiling of {aircraft.service_ceiling_m:,.0f} m",
            source=source,
            field="altitude_m",
            value=model.altitude_m,
        )
    names = [a.name for a in model.aoi]
    if len(set(names)) != len(names):
        raise InputError("AOI names must be unique", source=source, field="aoi", value=names)
    folder = (base_dir or Path(".")) if files else None
    aois = tuple(
        AoiRequest(
            a.name, a.priority, _aoi_geometry(a.geometry, source, f"aoi[{i}].geometry", folder)
        )
        for i, a in enumerate(model.aoi)
    )
    by_name = {spec.name: spec for spec in sensors}
    looks: list[LookPoint] = []
    for i, lp in enumerate(model.look_points):
        if lp.sensor not in by_name:
            raise InputError(
                f"not one of the mission's sensors ({', '.join(by_name)})",
                source=source,
                field=f"look_points[{i}].sensor",
                value=lp.sensor,
            )
        if any(lp.name == other.name for other in looks):
            raise InputError(
                "look point names must be unique",
                source=source,
                field=f"look_points[{i}].name",
                value=lp.name,
            )
        looks.append(LookPoint(lp.name, lp.lon_deg, lp.lat_deg, by_name[lp.sensor], lp.priority))
    lon, lat, elev = _base(model.base, source)
    return MissionRequest(
        name=model.name,
        operator=model.operator.upper(),
        base_icao=model.base.upper(),
        base_lon_deg=lon,
        base_lat_deg=lat,
        base_elevation_m=elev,
        aircraft=aircraft,
        sensors=sensors,
        altitude_m=model.altitude_m,
        margin_m=model.margin_m,
        start_utc=model.start,
        aois=aois,
        on_station_s=model.on_station_s,
        max_orbits=model.max_orbits,
        source=source,
        look_points=tuple(looks),
        radar_aim=model.radar_aim,
    )


def load_mission(path: str | Path) -> MissionRequest:
    """Read and validate a mission YAML file."""
    p = Path(path)
    doc = load_yaml(p)
    return parse_mission(doc, source=str(p), base_dir=p.parent)
