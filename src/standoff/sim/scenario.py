"""Scenario files (YAML): the synthetic ground world a simulation runs in.

Validated strictly once (unknown fields refused with their path) and turned into frozen
records.  Everything is synthetic: roads are generated from the seed or read from a GeoJSON of
LineStrings; sites, border points and convoy routes are placed by the scenario, in either
country.  Times in the file are seconds from ``start`` (UTC); hours of day are local time
(``utc_offset_h``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, cast

import numpy as np
import numpy.typing as npt
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from standoff.core.errors import InputError
from standoff.core.files import load_yaml
from standoff.core.utc import with_iso_start
from standoff.geo.lines import read_lines_geojson
from standoff.platforms import refuse_kinetic

__all__ = [
    "DEMO_SCENARIO_YAML",
    "BorderPoint",
    "ConvoyRoute",
    "EoirSettings",
    "FlightSettings",
    "GmtiSettings",
    "RoadLine",
    "RoadSettings",
    "Scenario",
    "Site",
    "TrafficSettings",
    "demo_scenario",
    "load_scenario",
    "parse_scenario",
]

FloatArray = npt.NDArray[np.float64]
RoadClass = Literal["highway", "secondary", "dirt"]
SiteKind = Literal["lab", "stash_house", "ranch", "depot", "other"]
GmtiSweep = Literal["aimed", "stepped", "interleaved"]
TruthGrounded = Literal["all", "convoys"]


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class RoadLine:
    """One road polyline (lon/lat degrees) of a class."""

    road_class: RoadClass
    lon_deg: FloatArray
    lat_deg: FloatArray


@dataclass(frozen=True)
class RoadSettings:
    """Either generated (``lines`` empty) inside ``bbox_deg`` or loaded (``lines``)."""

    bbox_deg: tuple[float, float, float, float]
    """(lon_min, lat_min, lon_max, lat_max) of the generated network."""
    towns: int
    highways: int
    dirt_tracks: int
    lines: tuple[RoadLine, ...] = ()
    source: str = "generated"
    country: str | None = None
    """ISO3 code: a generated network keeps only the roads inside that state's land (the
    vendored boundary data), so that no road crosses the border."""
    closed_border: bool = False
    """A generated network keeps the roads of every state but none that crosses a border:
    each state's largest connected network is kept, and vehicles stay on their side."""


@dataclass(frozen=True)
class TrafficSettings:
    vehicles: int
    speed_factor_min: float
    speed_factor_max: float
    """Each vehicle drives at its road class speed times a factor drawn in this range."""
    rest_probability_day: float
    rest_probability_night: float
    """Chance of parking on reaching a junction, by local day (06-20 h) and night."""
    rest_mean_s: float


@dataclass(frozen=True)
class Site:
    """A place with a pattern of life: vehicles visit it, dwell and leave."""

    name: str
    kind: SiteKind
    lon_deg: float
    lat_deg: float
    visits_per_day: float
    hours_local: tuple[float, float]
    """Visits arrive between these local hours (a window may wrap midnight, e.g. 20-4)."""
    dwell_s: tuple[float, float]


@dataclass(frozen=True)
class BorderPoint:
    name: str
    lon_deg: float
    lat_deg: float


@dataclass(frozen=True)
class ConvoyRoute:
    """Convoys that leave ``from_site`` and drive to the border point ``to``."""

    name: str
    from_site: str
    to: str
    depart_s: tuple[float, ...]
    every_s: float | None
    vehicles: int
    spacing_s: float
    speed_mps: float
    hours_local: tuple[float, float] | None = None
    """Departures only between these local hours (a window may wrap midnight); None: any."""
    until_s: float | None = None
    """No departure after this (seconds from start): the route goes quiet; None: never."""


@dataclass(frozen=True)
class GmtiSettings:
    pd_max: float
    range_knee: float
    """Pd halves at ``range_knee`` x max slant range: Pd = pd_max / (1 + (R / R50)^8)."""
    min_grazing_deg: float
    """Below this grazing angle Pd falls linearly in sin(grazing) to zero."""
    false_alarms_per_km2: float
    """Mean false alarms per km^2 of scanned ground per scan (Poisson)."""
    radial_velocity_sigma_mps: float
    look_lon_deg: float | None
    look_lat_deg: float | None
    """Centre of the azimuth sector; default the centre of the road network."""
    sweep: GmtiSweep = "aimed"
    """How scans cover the AOIs in reach: ``aimed``, every scan's sector centred on the
    orbit's ``radar_azimuth_deg`` (or, without one, on the AOIs); ``stepped``, successive
    scans step the sector across the AOIs (a wider area, each place revisited every few
    scans); ``interleaved``, scans alternate between the orbit's ``radar_azimuth_deg`` and
    the AOIs' centre (both sectors' union, a place in only one of them revisited every
    other scan; the same as ``aimed`` where the plan sets no azimuth)."""


@dataclass(frozen=True)
class EoirSettings:
    cue: tuple[str, ...]
    """Sites the EO/IR ball is pointed at, in turn, one per look (empty: not used)."""
    pd_max: float
    range_knee: float


@dataclass(frozen=True)
class FlightSettings:
    dt_s: float
    bank_limit_deg: float | None
    """None: the aircraft profile's planning bank limit."""
    bank_rate_dps: float
    lookahead_s: float
    sorties: int = 1
    """The plan is flown this many times, one sortie every ``sortie_every_s``: the same
    ground watched on several days."""
    sortie_every_s: float = 86400.0


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    start_utc: datetime
    duration_s: float
    utc_offset_h: float
    wind_speed_mps: float
    wind_from_deg: float
    roads: RoadSettings
    traffic: TrafficSettings
    sites: tuple[Site, ...]
    border_points: tuple[BorderPoint, ...]
    routes: tuple[ConvoyRoute, ...]
    gmti: GmtiSettings
    eoir: EoirSettings
    flight: FlightSettings
    truth_interval_s: float
    source: str
    truth_grounded: TruthGrounded = "all"
    """Truth sampled while the aircraft is not airborne (before, between and after sorties):
    ``all`` vehicles, or only ``convoys`` (their arrivals at the border are the approach
    events an evaluation scores); a run of many sorties stays small."""


# --------------------------------------------------------------------------- file models


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Wind(_Strict):
    speed_mps: float = Field(ge=0, le=80)
    from_deg: float = Field(ge=0, le=360)


class _Generate(_Strict):
    bbox_deg: list[float] = Field(min_length=4, max_length=4)
    towns: int = Field(default=10, ge=1, le=500)
    highways: int = Field(default=2, ge=1, le=20)
    dirt_tracks: int = Field(default=10, ge=0, le=2000)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    closed_border: bool = False


class _Roads(_Strict):
    generate: _Generate | None = None
    file: str | None = None


class _Traffic(_Strict):
    vehicles: int = Field(default=200, ge=0, le=1_000_000)
    speed_factor: list[float] = Field(default_factory=lambda: [0.75, 1.1])
    rest_probability_day: float = Field(default=0.05, ge=0, le=1)
    rest_probability_night: float = Field(default=0.25, ge=0, le=1)
    rest_mean_s: float = Field(default=1800.0, gt=0)


class _Site(_Strict):
    name: str = Field(min_length=1, max_length=80)
    kind: SiteKind
    lon_deg: float = Field(ge=-180, le=180)
    lat_deg: float = Field(ge=-90, le=90)
    visits_per_day: float = Field(default=4.0, ge=0, le=1000)
    hours_local: list[float] = Field(default_factory=lambda: [0.0, 24.0])
    dwell_s: list[float] = Field(default_factory=lambda: [600.0, 3600.0])


class _BorderPoint(_Strict):
    name: str = Field(min_length=1, max_length=80)
    lon_deg: float = Field(ge=-180, le=180)
    lat_deg: float = Field(ge=-90, le=90)


class _Route(_Strict):
    name: str = Field(min_length=1, max_length=80)
    from_site: str
    to: str
    depart_s: list[float] = Field(min_length=1)
    every_s: float | None = Field(default=None, gt=0)
    vehicles: int = Field(default=3, ge=1, le=100)
    spacing_s: float = Field(default=30.0, ge=0)
    speed_mps: float = Field(default=15.0, gt=0, le=60)
    hours_local: list[float] | None = None
    until_s: float | None = Field(default=None, ge=0)


class _Gmti(_Strict):
    pd_max: float = Field(default=0.9, gt=0, le=1)
    range_knee: float = Field(default=0.85, gt=0, le=2)
    min_grazing_deg: float = Field(default=3.0, ge=0, lt=90)
    false_alarms_per_km2: float = Field(default=0.005, ge=0, le=10)
    radial_velocity_sigma_mps: float = Field(default=0.5, ge=0)
    look_lon_deg: float | None = Field(default=None, ge=-180, le=180)
    look_lat_deg: float | None = Field(default=None, ge=-90, le=90)
    sweep: GmtiSweep = "aimed"


class _Eoir(_Strict):
    cue: list[str] = Field(default_factory=list)
    pd_max: float = Field(default=0.95, gt=0, le=1)
    range_knee: float = Field(default=0.8, gt=0, le=2)


class _Sensors(_Strict):
    gmti: _Gmti = Field(default_factory=_Gmti)
    eoir: _Eoir = Field(default_factory=_Eoir)


class _Flight(_Strict):
    dt_s: float = Field(default=1.0, gt=0, le=10)
    bank_limit_deg: float | None = Field(default=None, gt=0, lt=60)
    bank_rate_dps: float = Field(default=10.0, gt=0, le=90)
    lookahead_s: float = Field(default=12.0, gt=0, le=120)
    sorties: int = Field(default=1, ge=1, le=30)
    sortie_every_s: float = Field(default=86400.0, gt=0, le=30 * 86400)


class _Output(_Strict):
    truth_interval_s: float = Field(default=60.0, gt=0)
    truth_grounded: TruthGrounded = "all"


class _Scenario(_Strict):
    name: str = Field(default="scenario", min_length=1, max_length=80)
    seed: int = Field(ge=0)
    start: datetime
    duration_s: float = Field(gt=0, le=30 * 86400)
    utc_offset_h: float = Field(default=0.0, ge=-14, le=14)
    wind: _Wind | None = None
    roads: _Roads
    traffic: _Traffic = Field(default_factory=_Traffic)
    sites: list[_Site] = Field(default_factory=list)
    border_points: list[_BorderPoint] = Field(default_factory=list)
    routes: list[_Route] = Field(default_factory=list)
    sensors: _Sensors = Field(default_factory=_Sensors)
    flight: _Flight = Field(default_factory=_Flight)
    output: _Output = Field(default_factory=_Output)

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.utcoffset() is None:
            raise ValueError("start must carry a UTC offset, e.g. 2026-03-20T02:00:00Z")
        return value.astimezone(UTC)


# --------------------------------------------------------------------------- parsing


def _pair(
    values: list[float], source: str, where: str, lo: float, hi: float
) -> tuple[float, float]:
    if len(values) != 2 or not (lo <= values[0] <= hi and lo <= values[1] <= hi):
        raise InputError(
            f"must be two numbers between {lo:g} and {hi:g}",
            source=source,
            field=where,
            value=values,
        )
    return float(values[0]), float(values[1])


def _unique(names: list[str], source: str, where: str) -> None:
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n in seen:
            raise InputError(
                "names must be unique", source=source, field=f"{where}[{i}].name", value=n
            )
        seen.add(n)


def _read_roads_geojson(raw: str, source: str, base_dir: Path) -> tuple[RoadLine, ...]:
    path = Path(raw) if Path(raw).is_absolute() else base_dir / raw
    if not path.is_file():
        raise InputError("road file not found", source=source, field="roads.file", value=raw)
    lines: list[RoadLine] = []
    for line in read_lines_geojson(path):
        cls = line.properties.get("class", "secondary")
        if cls not in ("highway", "secondary", "dirt"):
            raise InputError(
                "road class must be highway, secondary or dirt",
                source=str(path),
                field=f"features[{line.feature}].properties.class",
                value=cls,
            )
        lines.append(RoadLine(cast(RoadClass, cls), line.lon_deg, line.lat_deg))
    return tuple(lines)


def parse_scenario(document: Any, *, source: str, base_dir: Path | None = None) -> Scenario:
    """Validate a scenario document (already parsed from YAML)."""
    if not isinstance(document, dict):
        raise InputError("a scenario file must be a YAML mapping", source=source)
    refuse_kinetic(document, source=source, values=False)
    document = with_iso_start(document, source=source)
    try:
        m = _Scenario.model_validate(document)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise InputError(
            err["msg"], source=source, field=loc or None, value=err.get("input")
        ) from exc

    if (m.roads.generate is None) == (m.roads.file is None):
        raise InputError(
            "give exactly one of roads.generate and roads.file", source=source, field="roads"
        )
    lines: tuple[RoadLine, ...] = ()
    if m.roads.generate is not None:
        g = m.roads.generate
        b = g.bbox_deg
        if not (-180 <= b[0] < b[2] <= 180 and -90 <= b[1] < b[3] <= 90):
            raise InputError(
                "bbox must be [lon_min, lat_min, lon_max, lat_max]",
                source=source,
                field="roads.generate.bbox_deg",
                value=b,
            )
        if (b[2] - b[0]) > 10 or (b[3] - b[1]) > 10:
            raise InputError(
                "a generated network may span at most 10 degrees",
                source=source,
                field="roads.generate.bbox_deg",
                value=b,
            )
        roads = RoadSettings(
            (b[0], b[1], b[2], b[3]),
            g.towns,
            g.highways,
            g.dirt_tracks,
            country=g.country,
            closed_border=g.closed_border,
        )
    else:
        assert m.roads.file is not None
        lines = _read_roads_geojson(m.roads.file, source, base_dir or Path("."))
        lon = np.concatenate([ln.lon_deg for ln in lines])
        lat = np.concatenate([ln.lat_deg for ln in lines])
        roads = RoadSettings(
            (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())),
            0,
            0,
            0,
            lines,
            source=m.roads.file,
        )

    t = m.traffic
    f_lo, f_hi = _pair(t.speed_factor, source, "traffic.speed_factor", 0.05, 3.0)
    if f_lo > f_hi:
        raise InputError(
            "speed_factor must be [low, high]",
            source=source,
            field="traffic.speed_factor",
            value=t.speed_factor,
        )
    traffic = TrafficSettings(
        t.vehicles, f_lo, f_hi, t.rest_probability_day, t.rest_probability_night, t.rest_mean_s
    )

    _unique([s.name for s in m.sites], source, "sites")
    _unique([p.name for p in m.border_points], source, "border_points")
    _unique([r.name for r in m.routes], source, "routes")
    sites = []
    for i, s in enumerate(m.sites):
        hours = _pair(s.hours_local, source, f"sites[{i}].hours_local", 0.0, 24.0)
        dwell = _pair(s.dwell_s, source, f"sites[{i}].dwell_s", 0.0, 30 * 86400.0)
        if dwell[0] > dwell[1]:
            raise InputError(
                "dwell_s must be [shortest, longest]",
                source=source,
                field=f"sites[{i}].dwell_s",
                value=s.dwell_s,
            )
        sites.append(Site(s.name, s.kind, s.lon_deg, s.lat_deg, s.visits_per_day, hours, dwell))
    site_names = {s.name for s in sites}
    point_names = {p.name for p in m.border_points}
    routes = []
    for i, r in enumerate(m.routes):
        if r.from_site not in site_names:
            raise InputError(
                "unknown site", source=source, field=f"routes[{i}].from_site", value=r.from_site
            )
        if r.to not in point_names:
            raise InputError(
                "unknown border point", source=source, field=f"routes[{i}].to", value=r.to
            )
        if any(d < 0 for d in r.depart_s):
            raise InputError(
                "departures are seconds from start, not negative",
                source=source,
                field=f"routes[{i}].depart_s",
                value=r.depart_s,
            )
        hours_r = (
            None
            if r.hours_local is None
            else _pair(r.hours_local, source, f"routes[{i}].hours_local", 0.0, 24.0)
        )
        routes.append(
            ConvoyRoute(
                r.name,
                r.from_site,
                r.to,
                tuple(sorted(r.depart_s)),
                r.every_s,
                r.vehicles,
                r.spacing_s,
                r.speed_mps,
                hours_r,
                r.until_s,
            )
        )
    for i, name in enumerate(m.sensors.eoir.cue):
        if name not in site_names:
            raise InputError(
                "unknown site", source=source, field=f"sensors.eoir.cue[{i}]", value=name
            )
    gm = m.sensors.gmti
    if (gm.look_lon_deg is None) != (gm.look_lat_deg is None):
        raise InputError(
            "give both look_lon_deg and look_lat_deg, or neither",
            source=source,
            field="sensors.gmti",
        )
    fl = m.flight
    if fl.sorties > 1 and (fl.sorties - 1) * fl.sortie_every_s >= m.duration_s:
        raise InputError(
            f"the scenario ends ({m.duration_s:,.0f} s) before sortie {fl.sorties} starts "
            f"({(fl.sorties - 1) * fl.sortie_every_s:,.0f} s after the first)",
            source=source,
            field="flight.sorties",
            value=fl.sorties,
        )
    wind = m.wind or _Wind(speed_mps=0.0, from_deg=0.0)
    return Scenario(
        name=m.name,
        seed=m.seed,
        start_utc=m.start,
        duration_s=m.duration_s,
        utc_offset_h=m.utc_offset_h,
        wind_speed_mps=wind.speed_mps,
        wind_from_deg=wind.from_deg,
        roads=roads,
        traffic=traffic,
        sites=tuple(sites),
        border_points=tuple(BorderPoint(p.name, p.lon_deg, p.lat_deg) for p in m.border_points),
        routes=tuple(routes),
        gmti=GmtiSettings(
            gm.pd_max,
            gm.range_knee,
            gm.min_grazing_deg,
            gm.false_alarms_per_km2,
            gm.radial_velocity_sigma_mps,
            gm.look_lon_deg,
            gm.look_lat_deg,
            gm.sweep,
        ),
        eoir=EoirSettings(
            tuple(m.sensors.eoir.cue), m.sensors.eoir.pd_max, m.sensors.eoir.range_knee
        ),
        flight=FlightSettings(
            m.flight.dt_s,
            m.flight.bank_limit_deg,
            m.flight.bank_rate_dps,
            m.flight.lookahead_s,
            m.flight.sorties,
            m.flight.sortie_every_s,
        ),
        truth_interval_s=m.output.truth_interval_s,
        source=source,
        truth_grounded=m.output.truth_grounded,
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file."""
    p = Path(path)
    doc = load_yaml(p)
    return parse_scenario(doc, source=str(p), base_dir=p.parent)


DEMO_SCENARIO_YAML: Final = """\
# Standoff demo scenario: a synthetic ground world for the demo mission (sasabe-corridor),
# watched on four nights running.  Everything here is invented: roads are generated from
# the seed, sites and convoys are placed by hand.  Times are seconds from start; hours of
# day are local (Sonora, UTC-7).
name: sonora-demo
seed: 20260320
start: 2026-03-20T02:00:00Z
duration_s: 296200           # four nights: three days, then the last sortie (10 h 9 min)
utc_offset_h: -7
wind: {speed_mps: 8, from_deg: 250}
roads:
  generate:
    bbox_deg: [-112.5, 30.95, -110.95, 31.85]   # [lon_min, lat_min, lon_max, lat_max]
    closed_border: true      # roads on both sides, none crossing the border between ports
    towns: 12
    highways: 2
    dirt_tracks: 14
traffic:
  vehicles: 300
  speed_factor: [0.75, 1.1]
sites:
  - {name: site-alpha, kind: lab, lon_deg: -111.45, lat_deg: 31.36,
     visits_per_day: 6, hours_local: [20, 4], dwell_s: [900, 5400]}
  - {name: site-bravo, kind: stash_house, lon_deg: -111.58, lat_deg: 31.40,
     visits_per_day: 10, hours_local: [18, 2], dwell_s: [300, 1800]}
  - {name: site-charlie, kind: ranch, lon_deg: -112.15, lat_deg: 31.56,
     visits_per_day: 4, hours_local: [18, 6], dwell_s: [1800, 7200]}
  - {name: site-delta, kind: stash_house, lon_deg: -111.98, lat_deg: 31.52,
     visits_per_day: 8, hours_local: [19, 3], dwell_s: [600, 2400]}
border_points:                 # a little south of the line, in Mexico
  - {name: bp-west, lon_deg: -112.3, lat_deg: 31.70}
  - {name: bp-altar, lon_deg: -111.9, lat_deg: 31.58}
  - {name: bp-sasabe, lon_deg: -111.55, lat_deg: 31.475}
  - {name: bp-east, lon_deg: -111.3, lat_deg: 31.395}
routes:                        # each convoy runs every two hours through the night;
                               # convoy-3 goes quiet after the second night
  - {name: convoy-1, from_site: site-alpha, to: bp-sasabe, depart_s: [3600], every_s: 7200,
     hours_local: [19, 6], vehicles: 3, spacing_s: 40, speed_mps: 14}
  - {name: convoy-2, from_site: site-charlie, to: bp-west, depart_s: [7200], every_s: 7200,
     hours_local: [19, 6], vehicles: 2, spacing_s: 60, speed_mps: 12}
  - {name: convoy-3, from_site: site-delta, to: bp-altar, depart_s: [12600], every_s: 7200,
     hours_local: [19, 6], until_s: 172800, vehicles: 4, spacing_s: 30, speed_mps: 10}
sensors:
  gmti: {pd_max: 0.9, false_alarms_per_km2: 0.003}
  eoir: {cue: [site-alpha, site-bravo, site-charlie, site-delta]}
flight: {dt_s: 1, bank_rate_dps: 10, lookahead_s: 12,
         sorties: 4, sortie_every_s: 86400}   # the plan flown each night
output: {truth_interval_s: 60, truth_grounded: convoys}   # between sorties: convoys only
"""


def demo_scenario() -> Scenario:
    """The built-in demo scenario, parsed."""
    return parse_scenario(yaml.safe_load(DEMO_SCENARIO_YAML), source="demo-scenario")
