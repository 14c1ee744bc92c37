"""Run a scenario against a mission plan: the flown path, the ground truth and a stream of
detections, as generators of ``(time, batch)`` and as files."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from standoff.airspace import Airspace, FlightPath, PathCheck, check_path
from standoff.core.errors import InputError
from standoff.domain.detections import DetectionBatch, ScanFootprint
from standoff.domain.mission import MissionPlan
from standoff.geo.frame import LocalFrame
from standoff.platforms import (
    AIRCRAFT,
    SENSORS,
    AircraftSpec,
    SensorSpec,
    resolve_aircraft,
    resolve_sensor,
)
from standoff.sim._output import TableWriter
from standoff.sim.flight import FlownPath, fly_path
from standoff.sim.movers import KIND_NAMES, Movers, TruthSnapshot, build_movers
from standoff.sim.roads import CLASS_NAMES, RoadNetwork, build_network
from standoff.sim.scenario import Scenario
from standoff.sim.sensing import (
    GmtiFootprint,
    Look,
    SensorReturns,
    eoir_footprint,
    eoir_look,
    gmti_footprint,
    gmti_returns,
)

__all__ = [
    "SimStep",
    "SimSummary",
    "SimWorld",
    "iter_scans",
    "iter_steps",
    "prepare",
    "roads_geojson",
    "simulate",
    "world_geojson",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ProgressFn = Callable[[float, float], None]


@dataclass(frozen=True)
class SimWorld:
    """Everything fixed before the clock runs: frame, roads, flown path, sensors."""

    plan: MissionPlan
    scenario: Scenario
    frame: LocalFrame
    network: RoadNetwork
    flown: FlownPath
    flight_offset_s: float
    """Scenario time of the plan's start (``plan.start_utc - scenario.start_utc``)."""
    bank_limit_deg: float
    gmti: SensorSpec | None
    eoir: SensorSpec | None
    aim_x_m: float
    aim_y_m: float
    cue_xy_m: tuple[tuple[str, float, float], ...]
    seeds: tuple[np.random.SeedSequence, ...] = field(repr=False)
    vehicles: int = 0
    aois_xy: BaseGeometry | None = field(default=None, repr=False)
    """The plan's AOIs in the local frame (prepared), where GMTI scans; None: no AOI."""

    sortie_start_s: tuple[float, ...] = (0.0,)
    """Each sortie's clock origin in scenario seconds (the flown path's time 0; the first is
    ``flight_offset_s``): the plan flown again (the same flown path,
    the same wind) ``flight.sortie_every_s`` after the one before."""

    radar_azimuths: tuple[tuple[float, float, float], ...] = ()
    """The plan's radar tasking: (start, end, sector centre: a direction of ``frame`` in
    radians) of each orbit with a ``radar_azimuth_deg``, in plan seconds; elsewhere the
    sector is centred on the AOIs."""

    def radar_centre(self, plan_s: float) -> float | None:
        """The radar sector's centre the plan sets at ``plan_s`` (None: aim at the AOIs)."""
        for start, end, centre in self.radar_azimuths:
            if start <= plan_s < end:
                return centre
        return None

    @property
    def flight_time_s(self) -> FloatArray:
        """The first sortie's flown fixes' times in scenario seconds."""
        return np.asarray(self.flown.time_s + self.flight_offset_s, dtype=np.float64)

    def sortie_at(self, time_s: float) -> int:
        """Index of the sortie airborne at ``time_s`` (scenario seconds); -1: none is."""
        t = self.flown.time_s
        if len(t) == 0:
            return -1
        k = int(np.searchsorted(self.sortie_start_s, time_s, side="right")) - 1
        if k < 0:
            return -1
        tt = time_s - self.sortie_start_s[k]  # the flown path's own clock
        return k if float(t[0]) <= tt <= float(t[-1]) else -1


@dataclass(frozen=True, slots=True)
class SimStep:
    """One instant of the run: detections (if a sensor looked), truth (if sampled)."""

    time_s: float
    batch: DetectionBatch | None
    truth: TruthSnapshot | None
    detection_truth_id: IntArray
    """Truth id of each detection of ``batch`` (-1: false alarm)."""
    false_alarms: int = 0
    scanned_m2: float = 0.0
    footprint: ScanFootprint | None = None
    """Where the GMTI scan of this instant looked (None: no GMTI scan)."""


@dataclass(frozen=True)
class SimSummary:
    out_dir: Path
    files: tuple[str, ...]
    scans: int
    detections: int
    false_alarms: int
    truth_rows: int
    flight_rows: int
    path_check: PathCheck
    deviation: dict[str, float]
    meta: dict[str, Any]


def _sensor(
    plan: MissionPlan, name: str, given: Mapping[str, SensorSpec] | None
) -> SensorSpec | None:
    """The sensor ``name`` as given, else as the plan recorded it (a mission may change a
    profile's figures), else the catalogue's (plans written before plans recorded them)."""
    if name not in plan.sensors:
        return None
    if given is not None and name in given:
        return given[name]
    recorded = plan.extra.get("sensor_profiles", {})
    if isinstance(recorded, dict) and name in recorded:
        return resolve_sensor(
            recorded[name], source=plan.mission_name, field_path=f"extra.sensor_profiles.{name}"
        )
    return SENSORS.get(name)


def prepare(
    plan: MissionPlan,
    scenario: Scenario,
    *,
    aircraft: AircraftSpec | None = None,
    sensors: Mapping[str, SensorSpec] | None = None,
    seed: np.random.SeedSequence | None = None,
    vehicles: int | None = None,
) -> SimWorld:
    """Build the world (roads from the seed) and fly the plan in the scenario's wind."""
    ss = seed if seed is not None else np.random.SeedSequence(scenario.seed)
    seeds = tuple(ss.spawn(5))
    b = scenario.roads.bbox_deg
    frame = LocalFrame(round((b[0] + b[2]) / 2.0, 4), round((b[1] + b[3]) / 2.0, 4))
    anchors = [(s.name, s.lon_deg, s.lat_deg) for s in scenario.sites] + [
        (p.name, p.lon_deg, p.lat_deg) for p in scenario.border_points
    ]
    net = build_network(scenario.roads, frame, np.random.default_rng(seeds[0]), anchors)
    recorded = plan.extra.get("aircraft_profile")
    if aircraft is None and recorded is not None:  # as planned (plans before: the catalogue's)
        aircraft = resolve_aircraft(
            recorded, source=plan.mission_name, field_path="extra.aircraft_profile"
        )
    spec = aircraft or AIRCRAFT.get(plan.aircraft_name)
    if scenario.flight.bank_limit_deg is not None:
        bank = scenario.flight.bank_limit_deg
    elif spec is not None:
        bank = spec.bank_limit_deg  # the bank the planner sized every turn for
    else:
        raise InputError(
            f"unknown aircraft {plan.aircraft_name!r}: give flight.bank_limit_deg in the scenario",
            source=scenario.source,
            field="flight.bank_limit_deg",
        )
    if len(plan.path_time_s) < 2:
        raise InputError("the plan has no flight path", source=plan.mission_name)
    px, py = frame.to_xy(plan.path_lon_deg, plan.path_lat_deg)
    flown = fly_path(
        px,
        py,
        np.asarray(plan.path_time_s, dtype=np.float64),
        wind_speed_mps=scenario.wind_speed_mps,
        wind_from_deg=scenario.wind_from_deg,
        bank_limit_deg=bank,
        bank_rate_dps=scenario.flight.bank_rate_dps,
        lookahead_s=scenario.flight.lookahead_s,
        dt_s=scenario.flight.dt_s,
    )
    g = scenario.gmti
    if g.look_lon_deg is not None and g.look_lat_deg is not None:
        ax, ay = frame.to_xy(g.look_lon_deg, g.look_lat_deg)
        aim = (float(ax), float(ay))
    else:
        aim = (float(net.node_x_m.mean()), float(net.node_y_m.mean()))
    aois = [frame.geometry_to_xy(shape(c.geometry)) for c in plan.coverage if c.geometry]
    aois_xy = shapely.union_all(aois) if aois else None
    if aois_xy is not None:
        shapely.prepare(aois_xy)
    offset_s = (plan.start_utc - scenario.start_utc).total_seconds()
    sf = scenario.flight
    flown_s = float(flown.time_s[-1] - flown.time_s[0]) if len(flown.time_s) else 0.0
    if sf.sorties > 1 and sf.sortie_every_s <= flown_s:
        raise InputError(
            f"sorties would overlap: each flies {flown_s:,.0f} s",
            source=scenario.source,
            field="flight.sortie_every_s",
            value=sf.sortie_every_s,
        )
    starts = tuple(offset_s + k * sf.sortie_every_s for k in range(sf.sorties))
    if sf.sorties > 1 and starts[-1] >= scenario.duration_s:
        raise InputError(
            f"the scenario ends ({scenario.duration_s:,.0f} s) before sortie {sf.sorties} "
            f"starts ({starts[-1]:,.0f} s)",
            source=scenario.source,
            field="flight.sorties",
            value=sf.sorties,
        )
    sites = {s.name: s for s in scenario.sites}
    cues = []
    for name in scenario.eoir.cue:
        cx, cy = frame.to_xy(sites[name].lon_deg, sites[name].lat_deg)
        cues.append((name, float(cx), float(cy)))
    return SimWorld(
        plan=plan,
        scenario=scenario,
        frame=frame,
        network=net,
        flown=flown,
        flight_offset_s=offset_s,
        bank_limit_deg=bank,
        gmti=_sensor(plan, "gmti", sensors),
        eoir=_sensor(plan, "eoir", sensors),
        aim_x_m=aim[0],
        aim_y_m=aim[1],
        cue_xy_m=tuple(cues),
        seeds=seeds,
        vehicles=scenario.traffic.vehicles if vehicles is None else vehicles,
        aois_xy=aois_xy,
        sortie_start_s=starts,
        radar_azimuths=_radar_tasking(plan, frame),
    )


def _radar_tasking(plan: MissionPlan, frame: LocalFrame) -> tuple[tuple[float, float, float], ...]:
    """(start, end, centre) of each orbit leg whose orbit sets the radar's azimuth: the
    plan's true azimuth at the orbit's centre as a direction of the run's frame."""
    centre = {
        o.name: float(frame.frame_azimuth_rad(o.centre_lon_deg, o.centre_lat_deg, az))
        for o in plan.orbits
        if (az := o.radar_azimuth_deg) is not None
    }
    return tuple(
        (leg.start_s, leg.end_s, centre[leg.name])
        for leg in plan.legs
        if leg.kind == "orbit" and leg.name in centre
    )


def _ms(value_s: float) -> int:
    return round(value_s * 1000.0)


def iter_steps(world: SimWorld, progress: ProgressFn | None = None) -> Iterator[SimStep]:
    """The run, one instant at a time: each GMTI scan, EO/IR look and truth sample.

    Movers advance with numpy in one step per instant; nothing of the run is kept but the
    first sortie's radar footprints, for the later sorties to reuse.  The instants are the
    same on the ground between sorties (the movers' random choices depend
    on how time is stepped, so stepping the ground coarser would draw other nights)."""
    sc = world.scenario
    movers: Movers = build_movers(
        sc,
        world.network,
        np.random.default_rng(world.seeds[1]),
        np.random.default_rng(world.seeds[2]),
        vehicles=world.vehicles,
    )
    rng_gmti = np.random.default_rng(world.seeds[3])
    rng_eoir = np.random.default_rng(world.seeds[4])
    t_fl = world.flown.time_s
    fx, fy = world.flown.x_m, world.flown.y_m
    alt = float(world.plan.altitude_m)
    end = _ms(sc.duration_s)
    periods = {
        "gmti": _ms(world.gmti.revisit_s) if world.gmti is not None else 0,
        "eoir": _ms(world.eoir.revisit_s) if world.eoir is not None and world.cue_xy_m else 0,
        "truth": _ms(sc.truth_interval_s),
    }
    nxt = {k: 0 for k, p in periods.items() if p > 0}
    det_id = 0
    look_no = 0
    stepped = sc.gmti.sweep == "stepped"
    interleaved = sc.gmti.sweep == "interleaved"
    reuse = len(world.sortie_start_s) > 1 and not stepped  # a stepped sweep moves on
    footprints: dict[tuple[float, float | None], GmtiFootprint | None] = {}
    scan_no = 0
    last_progress = -1
    while nxt:
        t_ms = min(nxt.values())
        if t_ms > end:
            break
        due = [k for k, v in nxt.items() if v == t_ms]
        for k in due:
            nxt[k] += periods[k]
        t = t_ms / 1000.0
        movers.advance(t)
        snap = movers.snapshot()
        parts: list[tuple[str, SensorReturns]] = []
        footprint: ScanFootprint | None = None
        sortie = world.sortie_at(t)
        airborne = sortie >= 0
        if airborne:  # where the sortie's aircraft is (every sortie flies the same path)
            tt = t - world.sortie_start_s[sortie]
            ax, ay = float(np.interp(tt, t_fl, fx)), float(np.interp(tt, t_fl, fy))
        else:
            tt = ax = ay = 0.0
        if airborne and "gmti" in due and world.gmti is not None:
            # An interleaved sweep looks every other scan at the AOIs instead of the plan's
            # azimuth.
            centre = None if interleaved and scan_no % 2 else world.radar_centre(tt)
            look = Look(ax, ay, alt, world.aim_x_m, world.aim_y_m, centre)
            # Every sortie flies the same path at the same offsets from its start, so an
            # aimed sector's footprint (a polygon clip, most of a scan's cost) is computed
            # once per position of the path and aim, and met again on the later sorties.
            if (tt, centre) in footprints:
                fp = footprints[tt, centre]
            else:
                fp = gmti_footprint(look, world.gmti, world.aois_xy, scan_no if stepped else None)
                if reuse:
                    footprints[tt, centre] = fp
            parts.append(
                (
                    "gmti",
                    gmti_returns(
                        look,
                        fp,
                        snap.x_m,
                        snap.y_m,
                        snap.vx_mps,
                        snap.vy_mps,
                        world.gmti,
                        sc.gmti,
                        rng_gmti,
                    ),
                )
            )
            scan_no += 1
            g = parts[-1][1].footprint
            if g is not None:
                footprint = ScanFootprint(ax, ay, g.r_min_m, g.r_max_m, g.centre_rad, g.half_rad)
        if airborne and "eoir" in due and world.eoir is not None:
            n = len(world.cue_xy_m)
            for j in range(n):
                _, cx, cy = world.cue_xy_m[(look_no + j) % n]
                look = Look(ax, ay, alt, cx, cy)
                if eoir_footprint(look, world.eoir) is not None:
                    look_no = (look_no + j + 1) % n
                    parts.append(
                        ("eoir", eoir_look(look, snap.x_m, snap.y_m, world.eoir, sc.eoir, rng_eoir))
                    )
                    break
        batch = None
        truth_ids = np.zeros(0, dtype=np.int64)
        n_fa = 0
        area = 0.0
        if parts:
            x = np.concatenate([p.x_m for _, p in parts])
            ti = np.concatenate([p.truth_index for _, p in parts])
            truth_ids = np.where(ti >= 0, snap.truth_id[np.maximum(ti, 0)], -1)
            n = len(x)
            batch = DetectionBatch.create(
                t,
                x,
                np.concatenate([p.y_m for _, p in parts]),
                np.concatenate([p.sigma_m for _, p in parts]),
                sensor=np.concatenate([np.full(len(p.x_m), s) for s, p in parts]),
                radial_velocity_mps=np.concatenate([p.radial_velocity_mps for _, p in parts]),
                sensor_x_m=np.full(n, ax),
                sensor_y_m=np.full(n, ay),
                det_id=np.arange(det_id, det_id + n, dtype=np.int64),
                footprint=footprint,
            )
            det_id += n
            n_fa = int((ti < 0).sum())
            area = sum(p.footprint_m2 for s, p in parts if s == "gmti")
        if progress is not None and t_ms * 100 // max(end, 1) != last_progress:
            last_progress = t_ms * 100 // max(end, 1)
            progress(t, sc.duration_s)
        truth = None
        if "truth" in due:
            truth = snap if airborne or sc.truth_grounded == "all" else _convoys(snap)
        yield SimStep(t, batch, truth, truth_ids, n_fa, area, footprint)


def _convoys(snap: TruthSnapshot) -> TruthSnapshot:
    """The convoy vehicles of a truth snapshot."""
    keep = snap.kind == KIND_NAMES.index("convoy")
    return replace(
        snap,
        truth_id=snap.truth_id[keep],
        kind=snap.kind[keep],
        x_m=snap.x_m[keep],
        y_m=snap.y_m[keep],
        vx_mps=snap.vx_mps[keep],
        vy_mps=snap.vy_mps[keep],
    )


def iter_scans(world: SimWorld) -> Iterator[tuple[float, DetectionBatch]]:
    """The detection stream a tracker consumes: ``(time_s, batch)`` per sensor look, time in
    seconds from the scenario's start; positions in ``world.frame``."""
    for step in iter_steps(world):
        if step.batch is not None:
            yield step.time_s, step.batch


def _deviation(flown: FlownPath) -> dict[str, float]:
    xt = flown.cross_track_m
    return {
        "cross_track_max_m": round(float(xt.max()), 2),
        "cross_track_mean_m": round(float(xt.mean()), 2),
        "cross_track_p95_m": round(float(np.percentile(xt, 95)), 2),
        "seconds_beyond_300_m": round(
            float((xt > 300.0).sum() * np.median(np.diff(flown.time_s))) if len(xt) > 1 else 0.0, 1
        ),
        "schedule_lag_max_m": round(float(np.abs(flown.along_lag_m).max()), 2),
        "bank_max_deg": round(float(np.abs(flown.bank_deg).max()), 2),
    }


def _lonlat(frame: LocalFrame, x_m: FloatArray, y_m: FloatArray) -> list[list[float]]:
    lon, lat = frame.to_lonlat(x_m, y_m)
    return [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat, strict=True)]


def _road_features(world: SimWorld) -> list[dict[str, Any]]:
    """The world's roads, a MultiLineString of its segments per road class."""
    net, frame = world.network, world.frame
    feats: list[dict[str, Any]] = []
    forward = net.edge_u < net.edge_v  # each road once, not once per direction
    for cls, name in enumerate(CLASS_NAMES):
        e = np.flatnonzero(forward & (net.edge_class == cls))
        if not len(e):
            continue
        ends = _lonlat(
            frame,
            np.concatenate([net.node_x_m[net.edge_u[e]], net.node_x_m[net.edge_v[e]]]),
            np.concatenate([net.node_y_m[net.edge_u[e]], net.node_y_m[net.edge_v[e]]]),
        )
        lines = [[ends[i], ends[i + len(e)]] for i in range(len(e))]
        feats.append(
            {
                "type": "Feature",
                "properties": {"kind": "road", "class": name, "segments": len(e)},
                "geometry": {"type": "MultiLineString", "coordinates": lines},
            }
        )
    return feats


def roads_geojson(world: SimWorld) -> dict[str, Any]:
    """The world's road map as GeoJSON (lon/lat), one feature per road class: the map an
    analyst of the area would have (as of a public road map), not who drove where.  The
    analysis may use it; a scenario can read it back as ``roads: {file: ...}``."""
    return {
        "type": "FeatureCollection",
        "name": f"{world.scenario.name} road map",
        "features": _road_features(world),
    }


def world_geojson(world: SimWorld) -> dict[str, Any]:
    """The ground truth of the world as GeoJSON (RFC 7946, lon/lat): roads by class, sites,
    border points and the road path of every convoy route.  For maps and for scoring
    analyses against the truth, never as an input to them."""
    sc, net, frame = world.scenario, world.network, world.frame
    feats = _road_features(world)
    for site in sc.sites:
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "kind": "site",
                    "name": site.name,
                    "site_kind": site.kind,
                    "visits_per_day": site.visits_per_day,
                    "hours_local": list(site.hours_local),
                    "dwell_s": list(site.dwell_s),
                },
                "geometry": {"type": "Point", "coordinates": [site.lon_deg, site.lat_deg]},
            }
        )
    for bp in sc.border_points:
        feats.append(
            {
                "type": "Feature",
                "properties": {"kind": "border_point", "name": bp.name},
                "geometry": {"type": "Point", "coordinates": [bp.lon_deg, bp.lat_deg]},
            }
        )
    for route in sc.routes:
        a, b = net.anchors[route.from_site], net.anchors[route.to]
        edges = net.route_edges(net.shortest_routes(a), a, b)
        if edges is None or not len(edges):
            continue
        nodes = np.concatenate([net.edge_u[edges[:1]], net.edge_v[edges]])
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "kind": "route",
                    "name": route.name,
                    "from_site": route.from_site,
                    "to": route.to,
                    "length_m": round(float(net.edge_len_m[edges].sum()), 1),
                },
                "geometry": {
                    "type": "LineString",
                    "coordinates": _lonlat(frame, net.node_x_m[nodes], net.node_y_m[nodes]),
                },
            }
        )
    return {"type": "FeatureCollection", "name": f"{sc.name} ground truth", "features": feats}


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "unknown"


def simulate(
    plan: MissionPlan,
    scenario: Scenario,
    airspace: Airspace,
    out_dir: str | Path,
    *,
    fmt: Literal["csv", "parquet"] = "csv",
    progress: ProgressFn | None = None,
    aircraft: AircraftSpec | None = None,
    sensors: Mapping[str, SensorSpec] | None = None,
    vehicles: int | None = None,
) -> SimSummary:
    """Fly ``plan`` in ``scenario``; write flight, truth, detections and meta.json to
    ``out_dir``.  Same inputs and seed give the same bytes."""
    if fmt not in ("csv", "parquet"):
        raise InputError("format must be csv or parquet", field="fmt", value=fmt)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    world = prepare(plan, scenario, aircraft=aircraft, sensors=sensors, vehicles=vehicles)
    frame = world.frame
    epoch = scenario.start_utc
    ext = "csv" if fmt == "csv" else "parquet"
    # The flown path, checked against airspace.
    lon, lat = frame.to_lonlat(world.flown.x_m, world.flown.y_m)
    t_fl = world.flight_time_s
    check = check_path(
        airspace,
        FlightPath(lon, lat, t_fl, epoch=epoch, source="flown path"),
        plan.operator,
        plan.margin_m,
    )
    fw = TableWriter(
        out / f"flight.{ext}",
        [
            ("sortie", "int", 0),
            ("time", "time", 3),
            ("lat", "float", 7),
            ("lon", "float", 7),
            ("alt_m", "float", 1),
            ("heading_deg", "float", 2),
            ("speed_mps", "float", 2),
        ],
        fmt,
        epoch,
    )
    for k, start in enumerate(world.sortie_start_s):  # every sortie flies the same path
        fw.append(
            sortie=np.full(len(t_fl), k + 1),
            time=world.flown.time_s + start,
            lat=lat,
            lon=lon,
            alt_m=np.full(len(t_fl), plan.altitude_m),
            heading_deg=world.flown.heading_deg,
            speed_mps=world.flown.ground_speed_mps,
        )
    fw.close()
    tw = TableWriter(
        out / f"truth.{ext}",
        [
            ("time", "time", 3),
            ("truth_id", "int", 0),
            ("kind", "str", 0),
            ("lat", "float", 7),
            ("lon", "float", 7),
            ("speed_mps", "float", 2),
        ],
        fmt,
        epoch,
    )
    dw = TableWriter(
        out / f"detections.{ext}",
        [
            ("det_id", "int", 0),
            ("time", "time", 3),
            ("sensor", "str", 0),
            ("lat", "float", 7),
            ("lon", "float", 7),
            ("x_m", "float", 2),
            ("y_m", "float", 2),
            ("sigma_m", "float", 2),
            ("radial_velocity_mps", "float", 3),
        ],
        fmt,
        epoch,
    )
    aw = TableWriter(
        out / f"detection_truth.{ext}", [("det_id", "int", 0), ("truth_id", "int", 0)], fmt, epoch
    )
    sw = TableWriter(
        out / f"scans.{ext}",
        [
            ("time", "time", 3),
            ("sensor", "str", 0),
            ("lat", "float", 7),
            ("lon", "float", 7),
            ("x_m", "float", 2),
            ("y_m", "float", 2),
            ("r_min_m", "float", 1),
            ("r_max_m", "float", 1),
            ("azimuth_deg", "float", 4),
            ("frame_azimuth_deg", "float", 4),
            ("half_width_deg", "float", 4),
            ("area_km2", "float", 4),
        ],
        fmt,
        epoch,
    )
    scan_rows: list[tuple[float, ...]] = []

    def write_scans() -> None:
        """The buffered scans in one block (columns, projected and turned in one call)."""
        if not scan_rows:
            return
        t, x, y, r0, r1, centre, half, area = np.asarray(scan_rows, dtype=np.float64).T
        scan_rows.clear()
        lon, lat = frame.to_lonlat(x, y)
        sw.append(
            time=t,
            sensor=np.full(len(t), "gmti"),
            lat=lat,
            lon=lon,
            x_m=x,
            y_m=y,
            r_min_m=r0,
            r_max_m=r1,
            azimuth_deg=frame.true_azimuth_deg(x, y, centre),
            frame_azimuth_deg=np.degrees(centre),
            half_width_deg=np.degrees(half),
            area_km2=area / 1e6,
        )

    kinds = np.asarray(KIND_NAMES)
    scans = {"gmti": 0, "eoir": 0}
    per_sensor = {"gmti": 0, "eoir": 0}
    n_fa = 0
    scanned = 0.0
    truth_ids: set[int] = set()
    try:
        for step in iter_steps(world, progress):
            if step.truth is not None:
                s = step.truth
                tlon, tlat = frame.to_lonlat(s.x_m, s.y_m)
                tw.append(
                    time=np.full(len(s.x_m), step.time_s),
                    truth_id=s.truth_id,
                    kind=kinds[s.kind],
                    lat=tlat,
                    lon=tlon,
                    speed_mps=s.speed_mps,
                )
            if step.footprint is not None:
                fp = step.footprint
                scan_rows.append(
                    (step.time_s, fp.sensor_x_m, fp.sensor_y_m, fp.r_min_m, fp.r_max_m,
                     fp.centre_rad, fp.half_rad, step.scanned_m2)
                )  # fmt: skip
                if len(scan_rows) >= 4096:
                    write_scans()
            b = step.batch
            if b is not None:
                for name in ("gmti", "eoir"):
                    k = int((b.sensor == name).sum())
                    per_sensor[name] += k
                scans["gmti"] += int(step.scanned_m2 > 0)
                scans["eoir"] += int((b.sensor == "eoir").any())
                n_fa += step.false_alarms
                scanned += step.scanned_m2
                dlon, dlat = frame.to_lonlat(b.x_m, b.y_m)
                dw.append(
                    det_id=b.det_id,
                    time=np.full(len(b), b.time_s),
                    sensor=b.sensor,
                    lat=dlat,
                    lon=dlon,
                    x_m=b.x_m,
                    y_m=b.y_m,
                    sigma_m=b.sigma_m,
                    radial_velocity_mps=b.radial_velocity_mps,
                )
                aw.append(det_id=b.det_id, truth_id=step.detection_truth_id)
                truth_ids.update(int(i) for i in np.unique(step.detection_truth_id) if i >= 0)
        write_scans()
    finally:
        for w in (tw, dw, aw, sw):
            w.close()
    deviation = _deviation(world.flown)
    net = world.network
    meta: dict[str, Any] = {
        "schema": "standoff.sim/1",
        "scenario": {
            "name": scenario.name,
            "source": scenario.source,
            "start_utc": scenario.start_utc.isoformat().replace("+00:00", "Z"),
            "duration_s": scenario.duration_s,
            "utc_offset_h": scenario.utc_offset_h,
            "wind": {"speed_mps": scenario.wind_speed_mps, "from_deg": scenario.wind_from_deg},
        },
        "seed": scenario.seed,
        "plan": {
            "mission_name": plan.mission_name,
            "operator": plan.operator,
            "margin_m": plan.margin_m,
            "altitude_m": plan.altitude_m,
            "airspace_sha256": plan.airspace_sha256,
            "start_offset_s": world.flight_offset_s,
            "sorties": len(world.sortie_start_s),
            "sortie_start_offsets_s": list(world.sortie_start_s),
            "sortie_windows_s": [
                [s + float(world.flown.time_s[0]), s + float(world.flown.time_s[-1])]
                for s in world.sortie_start_s
            ],
        },
        "versions": {
            "standoff": _version("standoff"),
            "numpy": np.__version__,
            "pyproj": _version("pyproj"),
            "pyarrow": _version("pyarrow"),
            "python": platform.python_version(),
        },
        "format": fmt,
        "frame": frame.to_dict(),
        "time": "ISO 8601 UTC; detections of one scan share a time",
        "counts": {
            "flight_rows": fw.rows,
            "truth_rows": tw.rows,
            "detections": dw.rows,
            "detections_by_sensor": per_sensor,
            "false_alarms": n_fa,
            "scans_by_sensor": scans,
            "scanned_km2_total": round(scanned / 1e6, 3),
            "vehicles": _vehicle_counts(world),
            "vehicles_detected": len(truth_ids),
            "road_nodes": net.n_nodes,
            "road_edges": net.n_edges // 2,
            "road_length_km": round(net.total_length_m() / 1000.0, 3),
        },
        "flight": {
            "model": "kinematic coordinated turn, L1 lookahead guidance, constant wind",
            "bank_limit_deg": world.bank_limit_deg,
            "bank_rate_dps": scenario.flight.bank_rate_dps,
            "lookahead_s": scenario.flight.lookahead_s,
            "dt_s": scenario.flight.dt_s,
            "completed": world.flown.completed,
            "heading": "aircraft heading (degrees from true north); speed_mps is ground speed",
            "deviation": deviation,
            "path_check": check.to_dict(),
            "sorties": "flight.csv numbers each sortie's fixes (sortie 1, 2, ...); every "
            "sortie flies the same path in the same wind, so the path check of the first holds "
            "for each, shifted in time",
        },
        "sensors": {
            name: None
            if spec is None
            else {
                "max_slant_range_m": spec.max_slant_range_m,
                "revisit_s": spec.revisit_s,
                "mdv_mps": spec.mdv_mps,
                "fov_deg": spec.fov_deg,
                "range_sigma_m": spec.range_sigma_m,
                "angle_sigma_rad": spec.angle_sigma_rad,
            }
            for name, spec in (("gmti", world.gmti), ("eoir", world.eoir))
        },
        "sensing": {
            "gmti": (
                "steps its azimuth sector across the plan's AOIs within reach, one step per scan"
                if scenario.gmti.sweep == "stepped"
                else "scans the plan's AOIs within reach and the azimuth sector, centred on "
                + (
                    "each orbit's radar_azimuth_deg and on the AOIs in reach in turn, a scan each"
                    if scenario.gmti.sweep == "interleaved"
                    else "each orbit's radar_azimuth_deg"
                )
                + " (on transits, and in plans without one, on the AOIs in reach)"
            )
            if world.aois_xy is not None
            else "scans the azimuth sector centred on the look point (the plan has no AOI)",
            "eoir": "field of view projected on the ground (a trapezoid) around cued sites",
        },
        "scans": f"scans.{ext}: where each GMTI scan looked (the aircraft, the ground annulus "
        "r_min_m..r_max_m, the sector's centre as a true azimuth at the aircraft and in the "
        "run's frame, its half width; area_km2 is the part on the AOIs); a tracker counts "
        "misses only inside it",
        "world": "world.geojson: roads, sites, border points and convoy routes (truth)",
        "roads": "roads.geojson: the road map (what an analyst of the area would have)",
        "assumptions": [
            "flat Earth below the aircraft, no terrain masking; altitude above ground = plan "
            "altitude",
            "no take-off or landing: the flight starts and ends at the plan's end fixes",
            "synthetic world: generated roads, invented sites and vehicles",
        ],
    }
    files = [
        f"flight.{ext}",
        f"truth.{ext}",
        f"detections.{ext}",
        f"detection_truth.{ext}",
        f"scans.{ext}",
        "world.geojson",
        "roads.geojson",
        "meta.json",
    ]
    (out / "world.geojson").write_text(
        json.dumps(world_geojson(world), separators=(",", ":")) + "\n", encoding="utf-8"
    )
    (out / "roads.geojson").write_text(
        json.dumps(roads_geojson(world), separators=(",", ":")) + "\n", encoding="utf-8"
    )
    (out / "meta.json").write_text(
        json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return SimSummary(
        out_dir=out,
        files=tuple(files),
        scans=scans["gmti"] + scans["eoir"],
        detections=dw.rows,
        false_alarms=n_fa,
        truth_rows=tw.rows,
        flight_rows=fw.rows,
        path_check=check,
        deviation=deviation,
        meta=meta,
    )


def _vehicle_counts(world: SimWorld) -> dict[str, int]:
    movers = build_movers(
        world.scenario,
        world.network,
        np.random.default_rng(world.seeds[1]),
        np.random.default_rng(world.seeds[2]),
        vehicles=world.vehicles,
    )
    return {k: int((movers.kind == i).sum()) for i, k in enumerate(KIND_NAMES)}
