"""The composition root: chains the stages, calls the gates, and runs the demo.

Only this module knows the order of the stages.  ``run_demo`` runs every capability that
has landed, end to end, on the embedded defaults, writing each stage's outputs to a folder
named after the stage.
"""

from __future__ import annotations

import csv
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from standoff.airspace import Airspace, FlightPath, PathCheck, check_path
from standoff.airspace.io import classify_csv
from standoff.core.files import sha256_file
from standoff.domain.mission import MissionPlan
from standoff.geo.geodesy import WGS84
from standoff.plan import DEMO_MISSION_YAML, load_mission, plan_mission
from standoff.share import write_review_outputs

if TYPE_CHECKING:
    from standoff.oversight import AuditLog
    from standoff.oversight.policy import Decision

__all__ = ["DEMO_PLACES", "demo_border_paths", "plan_summary", "run_demo", "run_plan"]

FloatArray = npt.NDArray[np.float64]

DEMO_START = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
DEMO_OPERATOR = "USA"
DEMO_MARGIN_M = 3_000.0
DEMO_SPEED_MPS = 85.0  # MQ-9 class cruise, about 165 kt

DEMO_USERS_YAML = """\
# Standoff demo users (a local users file; the service keeps users in its store).
users:
  - {name: alice, roles: [planner]}
  - {name: bob, roles: [approver]}
  - {name: carol, roles: [analyst, auditor]}
  - {name: lucia, roles: [partner], partner_country: MEX}
"""

# Sierra Vista Municipal / Libby Army Airfield (Fort Huachuca), from the airportsdata package.
KFHU_LON_LAT = (-110.344375, 31.588461)

DEMO_PLACES: tuple[tuple[str, float, float], ...] = (
    # name, lat, lon (twin cities on both sides of the border, and points at sea)
    ("Nogales, Arizona", 31.3404, -110.9343),
    ("Nogales, Sonora", 31.3086, -110.9422),
    ("El Paso, Texas", 31.7619, -106.4850),
    ("Ciudad Juarez, Chihuahua", 31.6904, -106.4245),
    ("San Diego, California", 32.7157, -117.1611),
    ("Tijuana, Baja California", 32.5149, -117.0382),
    ("Calexico, California", 32.6789, -115.4989),
    ("Mexicali, Baja California", 32.6245, -115.4523),
    ("Laredo, Texas", 27.5306, -99.4803),
    ("Nuevo Laredo, Tamaulipas", 27.4763, -99.5164),
    ("Brownsville, Texas", 25.9017, -97.4975),
    ("Matamoros, Tamaulipas", 25.8690, -97.5027),
    ("Gulf of Mexico, far offshore", 25.0, -93.0),
    ("Northern Gulf of California", 30.5, -113.8),
)


@dataclass(frozen=True)
class _Step:
    title: str
    run: Callable[[], Any]


def _geodesic_track(
    waypoints: list[tuple[float, float]], speed_mps: float, step_s: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Fixes every ``step_s`` along geodesic legs through (lon, lat) waypoints at constant speed."""
    lons: list[FloatArray] = []
    lats: list[FloatArray] = []
    for (lon1, lat1), (lon2, lat2) in itertools.pairwise(waypoints):
        az, _, dist = WGS84.inv(lon1, lat1, lon2, lat2)
        s = np.arange(0.0, dist, speed_mps * step_s)
        lon, lat, _ = WGS84.fwd(
            np.full(len(s), lon1), np.full(len(s), lat1), np.full(len(s), az), s
        )
        lons.append(np.asarray(lon))
        lats.append(np.asarray(lat))
    lons.append(np.asarray([waypoints[-1][0]]))
    lats.append(np.asarray([waypoints[-1][1]]))
    lon_all = np.concatenate(lons)
    lat_all = np.concatenate(lats)
    return lon_all, lat_all, np.arange(len(lon_all), dtype=np.float64) * step_s


def demo_border_paths() -> dict[str, FlightPath]:
    """Two sample sorties from Fort Huachuca along the Arizona-Sonora border.

    ``planned``: a standoff patrol line kept several kilometres north of the border.
    ``flown``: the same sortie as a 1 Hz track that drifted across the border west of
    Nogales and lost telemetry for 90 s on the way home.
    """
    planned_wp = [
        KFHU_LON_LAT,
        (-110.70, 31.45),
        (-111.30, 31.53),
        (-111.90, 31.72),
        (-111.30, 31.53),
        (-110.70, 31.45),
        KFHU_LON_LAT,
    ]
    flown_wp = list(planned_wp)
    flown_wp[2] = (-111.30, 31.37)  # drifted about 3 km into Sonora
    lon_p, lat_p, _ = _geodesic_track(planned_wp, DEMO_SPEED_MPS, 60.0)
    lon_f, lat_f, t_f = _geodesic_track(flown_wp, DEMO_SPEED_MPS, 1.0)
    keep = np.ones(len(t_f), dtype=bool)
    gap_start = int(len(t_f) * 0.8)
    keep[gap_start : gap_start + 90] = False
    return {
        "planned": FlightPath(lon_p, lat_p, source="demo planned path"),
        "flown": FlightPath(
            lon_f[keep], lat_f[keep], t_f[keep], epoch=DEMO_START, source="demo flown track"
        ),
    }


def _write_path_geojson(path: FlightPath, target: Path, name: str) -> None:
    props: dict[str, Any] = {"name": name}
    if path.time_s is not None and path.epoch is not None:
        props["times"] = [
            (path.epoch + timedelta(seconds=float(t))).isoformat().replace("+00:00", "Z")
            for t in path.time_s
        ]
    doc = {
        "type": "Feature",
        "properties": props,
        "geometry": {
            "type": "LineString",
            "coordinates": [
                [round(float(x), 7), round(float(y), 7)]
                for x, y in zip(path.lon_deg, path.lat_deg, strict=True)
            ],
        },
    }
    target.write_text(json.dumps(doc) + "\n", encoding="utf-8")


def _write_track_csv(path: FlightPath, target: Path) -> None:
    if path.time_s is None or path.epoch is None:
        raise ValueError("a track CSV needs a timed path")
    with target.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["time", "lat", "lon"])
        for t, lat, lon in zip(path.time_s, path.lat_deg, path.lon_deg, strict=True):
            stamp = (path.epoch + timedelta(seconds=float(t))).isoformat().replace("+00:00", "Z")
            w.writerow([stamp, f"{lat:.7f}", f"{lon:.7f}"])


def _demo_airspace(
    airspace: Airspace, out_dir: Path, console: Console, progress: Progress
) -> dict[str, Any]:
    stage = out_dir / "airspace"
    stage.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    checks: dict[str, PathCheck] = {}
    paths: dict[str, FlightPath] = {}

    def places() -> None:
        src = stage / "places.csv"
        with src.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["name", "lat", "lon"])
            w.writerows(DEMO_PLACES)
        results["classify"] = classify_csv(airspace, src, stage / "places_classified.csv")

    def sample_paths() -> None:
        paths.update(demo_border_paths())
        _write_path_geojson(
            paths["planned"], stage / "planned_path.geojson", "demo planned patrol line"
        )
        _write_track_csv(paths["flown"], stage / "flown_track.csv")

    def check() -> None:
        for name, path in paths.items():
            checks[name] = check_path(airspace, path, DEMO_OPERATOR, DEMO_MARGIN_M)
            (stage / f"check_{name}.json").write_text(
                json.dumps(checks[name].to_dict(), indent=2, default=str) + "\n"
            )

    steps = [
        _Step("airspace: classify border towns (CSV in, CSV out)", places),
        _Step("airspace: build a planned patrol line and a flown track", sample_paths),
        _Step(f"airspace: check both against foreign airspace + {DEMO_MARGIN_M:,.0f} m", check),
    ]
    task = progress.add_task("airspace", total=len(steps))
    for step in steps:
        progress.update(task, description=step.title)
        step.run()
        progress.advance(task)
    table = Table(title="Border towns", show_lines=False)
    table.add_column("place")
    table.add_column("airspace")
    table.add_column("to boundary (m)", justify="right")
    with (stage / "places_classified.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            table.add_row(row["name"], row["airspace"], f"{float(row['boundary_distance_m']):,.0f}")
    console.print(table)
    for name, result in checks.items():
        line = (
            f"{name}: [bold]{result.status.upper()}[/bold] for {result.operator} with a "
            f"{result.margin_m:,.0f} m margin: {result.fixes:,} fixes, "
            f"{result.length_m / 1000:,.0f} km, "
            f"minimum clearance {result.min_clearance_m:,.0f} m"
        )
        console.print(line)
        for inc in result.incursions:
            console.print(
                f"  incursion into {inc.airspace}: "
                f"{inc.entry_utc:%H:%M:%S}-{inc.exit_utc:%H:%M:%S} UTC "
                f"({inc.duration_s:.0f} s), max depth {inc.max_depth_m:,.0f} m"
                if inc.entry_utc and inc.exit_utc and inc.duration_s is not None
                else f"  incursion into {inc.airspace}: max depth {inc.max_depth_m:,.0f} m, "
                f"min clearance {inc.min_clearance_m:,.0f} m"
            )
        for gap in result.gaps:
            console.print(
                f"  unknown: no telemetry for {gap.gap_s:.0f} s from {gap.start_utc:%H:%M:%S} UTC"
            )
    return {
        "folder": str(stage),
        "airspace_sha256": airspace.data_sha256,
        "states": list(airspace.codes),
        "checks": {k: v.status for k, v in checks.items()},
    }


def run_plan(
    airspace: Airspace, mission_path: Path, out_dir: Path
) -> tuple[MissionPlan, dict[str, Path]]:
    """Mission file -> checked plan -> the files for review (plan.json, path.geojson, KML).
    Ground-control files come from :func:`export_plan`, once the plan is approved."""
    request = load_mission(mission_path)
    plan = plan_mission(airspace, request)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = write_review_outputs(plan, out_dir)
    return plan, files


def look_point_lines(points: list[dict[str, Any]]) -> list[str]:
    """One line per look point of a plan: how long its sensor has it in reach."""
    return [
        f"look point {p['name']} ({p['sensor']}): in reach {p['in_reach_share']:.0%} of the time "
        f"on station ({p['in_reach_s'] / 3600:.1f} h)"
        if p["reachable"]
        else f"look point {p['name']} ({p['sensor']}): NOT REACHABLE: {p['note']}"
        for p in points
    ]


def coverage_table(aois: list[dict[str, Any]], title: str | None = None) -> Table:
    """The plan's coverage per AOI (the ``aoi`` rows of :func:`plan_summary`), as
    ``standoff plan`` and the demo print it."""
    table = Table(
        "AOI",
        "priority",
        "coverable fraction",
        "coverage efficiency",
        "in radar sector",
        "on station h",
        title=title,
    )
    for aoi in aois:
        sector = aoi.get("radar_sector_fraction")
        table.add_row(
            aoi["name"],
            f"{aoi['priority']:g}",
            f"{aoi['coverable_fraction']:.2f}",
            f"{aoi['coverage_efficiency']:.2f}",
            "" if sector is None else f"{sector:.2f}",
            f"{aoi['on_station_s'] / 3600:.1f}",
        )
    return table


def plan_summary(plan: MissionPlan, files: dict[str, Path], seconds: float) -> dict[str, Any]:
    """The plan's figures as a JSON-able mapping (what ``standoff plan --json`` prints)."""
    return {
        "mission": plan.mission_name,
        "operator": plan.operator,
        "base": plan.base_icao,
        "margin_m": plan.margin_m,
        "min_clearance_m": round(plan.min_clearance_m, 1),
        "on_station_s": round(plan.on_station_s, 1),
        "transit_s": round(plan.transit_s, 1),
        "endurance_reserve_s": round(plan.endurance_reserve_s, 1),
        "duration_s": round(plan.duration_s, 1),
        "turn_radius_m": round(float(plan.extra.get("turn_radius_m", 0.0)), 1),
        "greedy_bound": round(plan.greedy_bound, 3),
        "greedy_online_bound": round(float(plan.extra.get("greedy_online_bound", 0.0)), 3),
        "aoi": [
            {
                "name": c.name,
                "priority": c.priority,
                "area_km2": round(c.area_m2 / 1e6, 2),
                "coverable_fraction": round(c.coverable_fraction, 4),
                "coverage_efficiency": round(c.coverage_efficiency, 4),
                "radar_sector_fraction": None
                if c.radar_fraction is None
                else round(c.radar_fraction, 4),
                "on_station_s": round(c.on_station_s, 1),
                "reachable": c.reachable,
            }
            for c in plan.coverage
        ],
        "look_points": list(plan.extra.get("look_points", [])),
        "orbits": [
            {
                "name": o.name,
                "kind": o.kind,
                "centre": {"lat": round(o.centre_lat_deg, 6), "lon": round(o.centre_lon_deg, 6)},
                "leg_length_m": o.leg_length_m,
                "radius_m": round(o.radius_m, 1),
                "on_station_s": round(o.on_station_s, 1),
                "aoi": list(o.aoi_names),
                "radar_azimuth_deg": o.radar_azimuth_deg,
            }
            for o in plan.orbits
        ],
        "planning_s": round(seconds, 3),
        "files": {k: str(v) for k, v in files.items()},
    }


def run_simulation(
    airspace: Airspace,
    plan_path: Path,
    scenario_path: Path,
    out_dir: Path,
    *,
    fmt: str = "csv",
    progress: Any = None,
) -> Any:
    """plan.json + scenario -> flown path, truth, detections (checked against airspace)."""
    from standoff.core.errors import InputError
    from standoff.share import read_plan_json
    from standoff.sim import load_scenario, simulate

    if fmt not in ("csv", "parquet"):
        raise InputError("must be csv or parquet", source="--format", value=fmt)
    plan = read_plan_json(plan_path)
    scenario = load_scenario(scenario_path)
    return simulate(plan, scenario, airspace, out_dir, fmt=fmt, progress=progress)  # type: ignore[arg-type]


def _demo_plan(
    airspace: Airspace, out_dir: Path, console: Console, progress: Progress
) -> dict[str, Any]:
    stage = out_dir / "plan"
    stage.mkdir(parents=True, exist_ok=True)
    task = progress.add_task("plan: the built-in demo mission", total=2)
    mission = stage / "mission.yaml"
    mission.write_text(DEMO_MISSION_YAML, encoding="utf-8")
    progress.update(task, description="plan: orbits, coverage and transits", advance=1)
    started = time.perf_counter()
    plan, files = run_plan(airspace, mission, stage)
    summary = plan_summary(plan, files, time.perf_counter() - started)
    progress.advance(task)
    # Two-person approval, then the ground-control files (the export gate).
    (out_dir / "users.yaml").write_text(DEMO_USERS_YAML, encoding="utf-8")
    with open_workflow(out_dir / "standoff.db", out_dir / "users.yaml") as wf:
        now = DEMO_START - timedelta(hours=6)
        submitted = submit_plan(wf, airspace, stage, "alice", now)
        mission_action(
            wf,
            submitted["mission"],
            "approve",
            "bob",
            "stays 3 km clear of Mexican airspace; intelligence-only payload",
            now,
            airspace=airspace,
        )
        gcs = export_plan(wf, airspace, stage, stage, "alice", now)
    files.update(gcs)
    summary["files"] = {k: str(v) for k, v in files.items()}
    summary["mission"] = submitted["mission"]
    console.print(
        f"mission {submitted['mission']}: submitted by alice (planner), approved by bob "
        f"(approver); ground-control files exported: {', '.join(sorted(gcs))}"
    )
    (stage / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    console.print(
        f"plan {plan.mission_name}: {len(plan.orbits)} orbit(s) from {plan.base_icao}, "
        f"minimum clearance {plan.min_clearance_m:,.0f} m (margin {plan.margin_m:,.0f} m), "
        f"{plan.on_station_s / 3600:.1f} h on station, {plan.transit_s / 3600:.1f} h transit, "
        f"{plan.endurance_reserve_s / 3600:.1f} h endurance to spare"
    )
    console.print(coverage_table(summary["aoi"], title="Coverage"))
    for line in look_point_lines(plan.extra.get("look_points", [])):
        console.print(line)
    planned_aim = _demo_planned_aim(airspace, plan, console)
    return {
        "folder": str(stage),
        **{k: v for k, v in summary.items() if k in ("min_clearance_m", "aoi", "mission")},
        "radar_aim_planned": planned_aim,
    }


def _demo_planned_aim(airspace: Airspace, plan: MissionPlan, console: Console) -> dict[str, Any]:
    """The demo mission planned again with ``radar_aim: planned`` (not flown): the azimuth
    the planner would give each orbit and the AOIs' share in the radar's sector then."""
    import yaml

    from standoff.plan.mission_file import parse_mission

    doc = yaml.safe_load(DEMO_MISSION_YAML)
    doc["radar_aim"] = "planned"
    aimed = plan_mission(airspace, parse_mission(doc, source="demo mission", files=False))
    azimuths = [o.radar_azimuth_deg for o in aimed.orbits]
    share = {
        c.name: (a.radar_fraction, c.radar_fraction)
        for a, c in zip(plan.coverage, aimed.coverage, strict=True)
    }
    console.print(
        "radar aim: with `radar_aim: planned` the planner would aim the orbits at "
        + ", ".join(f"{az:.0f}°" for az in azimuths if az is not None)
        + ", putting "
        + " and ".join(f"{b:.2f} of {n}" for n, (_, b) in share.items() if b is not None)
        + " in the radar's sector ("
        + " and ".join(f"{a:.2f}" for a, _ in share.values() if a is not None)
        + " when aimed at the AOIs in reach, as flown here); not the default: it loses the "
        "change alerts over many worlds (benchmarks/README.md)"
    )
    return {
        "azimuths_deg": azimuths,
        "radar_sector_fraction": {n: b for n, (_, b) in share.items()},
    }


def _demo_run(
    airspace: Airspace, out_dir: Path, console: Console, progress: Progress
) -> dict[str, Any]:
    from standoff.sim import DEMO_SCENARIO_YAML

    stage = out_dir / "run"
    stage.mkdir(parents=True, exist_ok=True)
    scenario = stage / "scenario.yaml"
    scenario.write_text(DEMO_SCENARIO_YAML, encoding="utf-8")
    task = progress.add_task("run: fly the plan, move the world, sense", total=1.0)

    def tick(done: float, total: float) -> None:
        progress.update(task, completed=done / total if total else 1.0)

    with open_workflow(out_dir / "standoff.db", out_dir / "users.yaml") as wf:
        summary = fly_sortie(
            wf, airspace, out_dir / "plan", scenario, stage, "alice", DEMO_START, progress=tick
        )
    progress.update(task, completed=1.0)
    check = summary.path_check
    sorties = int(summary.meta["plan"]["sorties"])
    console.print(
        f"run: {sorties} sortie(s) a day apart (the plan flown each night), "
        f"{summary.scans:,} scans, {summary.detections:,} detections "
        f"({summary.false_alarms:,} false alarms), {summary.truth_rows:,} truth rows; flown path "
        f"{check.status.upper()} (minimum clearance {check.min_clearance_m:,.0f} m, "
        f"cross-track p95 {summary.deviation.get('cross_track_p95_m', 0.0):,.0f} m)"
    )
    return {
        "folder": str(stage),
        "flown_path": check.status,
        "sorties": sorties,
        "detections": summary.detections,
    }


def _demo_tracks(out_dir: Path, console: Console, progress: Progress) -> dict[str, Any]:
    from standoff.track import track_file

    stage = out_dir / "tracks"
    stage.mkdir(parents=True, exist_ok=True)
    task = progress.add_task("tracks: detections -> tracks", total=1)
    summary = track_file(out_dir / "run" / "detections.csv", stage / "tracks.csv")
    progress.advance(task)
    console.print(
        f"tracks: {summary.tracks:,} confirmed tracks from {summary.detections:,} detections in "
        f"{summary.scans:,} scans ({summary.detections_per_s:,.0f} detections/s; misses "
        f"counted inside each scan's footprint, {summary.scans_with_footprint:,} scans) "
        f"-> {stage / 'tracks.csv'}"
    )
    return {"folder": str(stage), **summary.to_dict()}


def _demo_oversight(
    airspace: Airspace, out_dir: Path, console: Console, progress: Progress
) -> dict[str, Any]:
    """Minimisation and retention on the demo sortie, and the mission store's audit log."""
    from standoff.oversight import Signer

    stage = out_dir / "oversight"
    task = progress.add_task("oversight: partner export, retention, audit", total=1)
    run, tracks = out_dir / "run", out_dir / "tracks" / "tracks.csv"
    with open_workflow(out_dir / "standoff.db", out_dir / "users.yaml") as wf:
        export = partner_export(
            airspace, run, tracks, "MEX", stage, DEMO_START + timedelta(hours=12), wf, "carol"
        )
        # Retention rewrites the files of the runs it purges: it is shown on the archive's
        # copy of the sortie, so that the later stages still read the whole run.
        archive = _archive_copy(run, tracks, stage / "archive")
        run_id = register_run(
            wf, archive / "run", archive / "tracks" / "tracks.csv", DEMO_START + timedelta(hours=12)
        )
        kept = run_retention(wf, airspace, DEMO_START + timedelta(days=30))
        purged = run_retention(wf, airspace, DEMO_START + timedelta(days=5 * 365 + 30))
        mission_action(
            wf,
            _mission_of(out_dir),
            "close",
            "bob",
            "sortie reviewed",
            DEMO_START + timedelta(days=1),
        )
        signer = Signer.generate("standoff-demo-store")
        wf.log.checkpoint(signer, DEMO_START + timedelta(days=5 * 365 + 31))
        report = wf.log.verify(signer.verifier)
    progress.advance(task)
    p = purged["runs"][0]
    console.print(
        f"partner export for MEX ({export['marking']}): {export['tracks']} tracks, "
        f"{export['masked_rows']} own-territory track rows masked -> {export['file']}"
    )
    console.print(
        f"retention: run {run_id} "
        f"{'kept' if not kept['runs'][0]['purged'] else 'PURGED'} at 30 days; after 5 "
        f"years {p['detections_purged']} own-territory detections and {p['tracks_purged']} "
        f"tracks purged, {p['detections_kept']} kept (archive copy "
        f"{stage / 'archive'}); mission store audit log VALID "
        f"({report.entries} entries)"
    )
    return {
        "folder": str(stage),
        "partner_export": export,
        "retention": purged,
        "store_audit_entries": report.entries,
    }


def _archive_copy(run: Path, tracks: Path, archive: Path) -> Path:
    """A copy of a run folder and its tracks as ``ARCHIVE/run`` and ``ARCHIVE/tracks``: what
    the sensors and the tracker produced, not the simulator's truth (an operation's archive
    has none)."""
    import shutil

    if archive.exists():
        shutil.rmtree(archive)
    truth = shutil.ignore_patterns("truth.*", "detection_truth.*", "world.geojson")
    shutil.copytree(run, archive / "run", ignore=truth)
    (archive / "tracks").mkdir(parents=True)
    shutil.copy2(tracks, archive / "tracks" / "tracks.csv")
    return archive


def _demo_products(
    airspace: Airspace, out_dir: Path, console: Console, progress: Progress
) -> dict[str, Any]:
    """Analyse the demo sortie, score it against the truth, and write the owner's and the
    partner's products."""
    from standoff.intel import EvalParams

    stage = out_dir / "products"
    task = progress.add_task("products: analyse, report, exports", total=3)
    run, tracks = out_dir / "run", out_dir / "tracks" / "tracks.csv"
    # The operation exists to inform the partner agency: findings are released to it,
    # except what minimisation withholds (own territory).
    summary = run_analysis(
        run, tracks, stage, evaluate=True, marking="UNCLASSIFIED//REL TO USA, MEX"
    )
    progress.advance(task)
    owner = write_products(
        airspace,
        stage / "findings.json",
        stage / "owner",
        run_dir=run,
        tracks_csv=tracks,
        plan_dir=out_dir / "plan",
    )
    progress.advance(task)
    partner = write_products(
        airspace,
        stage / "findings.json",
        stage / "MEX",
        run_dir=run,
        plan_dir=out_dir / "plan",
        partner="MEX",
    )
    progress.advance(task)
    ev = summary["evaluation"]
    console.print(
        f"analysis: {summary['sites']} sites, {summary['corridors']} corridors, "
        f"{summary['approaches']} border approaches, {summary['alerts']} change alerts "
        f"({summary['own_territory']} in own territory"
        + (
            "; the run's road map carries corridors and weighs sites at its junctions"
            if summary["roads"]
            else ""
        )
        + (
            "; alerts compare each hour of the day with earlier days, which one sortie "
            "does not have"
            if summary["nights"] < 2
            else f"; {summary['nights']} nights watched, evidence weighed per night"
        )
        + "); against the truth: site precision "
        f"{ev['sites']['precision']} ({ev['sites']['precision_any_stopping_place']} counting "
        f"places where passing traffic parks), recall {ev['sites']['recall']}; route recall "
        f"{ev['routes']['recall']} ({ev['routes']['recall_observable']} over the parts where "
        f"a sensor detected the convoys; corridors on a true route: "
        f"{ev['routes']['precision']}); "
        f"approach recall {ev['approaches']['recall']} "
        f"({ev['approaches']['recall_observable']} of those the sensors saw); change alerts: "
        f"{ev['alerts']['found']} of {ev['alerts']['true_changes']} true changes found, "
        f"{ev['alerts']['correct']} of {ev['alerts']['raised']} alerts on one"
    )
    console.print(
        f"routes against the truth, share of each within {EvalParams().route_match_m:g} m of a "
        "corridor (of a detection of its convoys): "
        + ", ".join(
            f"{name} {r['covered_share']:.2f} ({r['observed_share']:.2f})"
            for name, r in ev["routes"]["per_route"].items()
        )
    )
    for a in summary["alert_list"]:
        console.print(
            f"change alert {a['id']}: {a['subject']} {a['direction']}, {a['observed']} in the "
            f"last {a['window_h']:.0f} h ({a['rate_per_day']:g} a day looked at, against "
            f"{a['baseline_rate_per_day']:g} before; {a['confidence']})"
        )
    if summary["corridors_seen"]:
        console.print(
            "corridors, share of each line that tracks covered (the rest inferred along "
            "roads): "
            + ", ".join(f"{cid} {share:.0%}" for cid, share in summary["corridors_seen"].items())
        )
    console.print(
        f"products: owner's edition {len(owner)} files, MEX edition {len(partner)} files "
        f"({stage / 'MEX' / 'report.pdf'})"
    )
    (stage / "evaluation.json").write_text(json.dumps(ev, indent=1) + "\n", encoding="utf-8")
    return {
        "folder": str(stage),
        "analysis": {k: v for k, v in summary.items() if k != "evaluation"},
        "evaluation": ev,
        "owner": sorted(owner),
        "partner_MEX": sorted(partner),
    }


def _mission_of(out_dir: Path) -> str:
    return str(json.loads((out_dir / "plan" / "summary.json").read_text())["mission"])


def _demo_audit(
    airspace: Airspace, out_dir: Path, console: Console, progress: Progress
) -> dict[str, Any]:
    """Record what the demo decided in the tamper-evident log, sign, verify and export it."""
    from standoff.oversight import AuditEvent, AuditLog, keys_new, load_signer, load_verifier
    from standoff.store.sqlite_audit import SqliteAuditStore, verify_bundle_file

    stage = out_dir / "audit"
    stage.mkdir(parents=True, exist_ok=True)
    task = progress.add_task("audit: record, checkpoint, verify, export", total=4)
    key_dir = stage / "keys"
    private = key_dir / "standoff-audit.key.pem"
    public = key_dir / "standoff-audit.pub.pem"
    if not private.exists():
        keys_new(key_dir)
    signer = load_signer(private)
    now = datetime.now(UTC)  # the composition root owns the clock
    events = [
        AuditEvent(
            "demo",
            "airspace.loaded",
            now,
            {"airspace.geojson": airspace.data_sha256},
        ),
    ]
    for name in ("check_planned.json", "check_flown.json"):
        doc = json.loads((out_dir / "airspace" / name).read_text())
        events.append(
            AuditEvent(
                "demo",
                "airspace.path_checked",
                now,
                {name: sha256_file(out_dir / "airspace" / name)},
                {"status": doc["status"], "incursions": len(doc["incursions"])},
            )
        )
    from standoff import __version__
    from standoff.oversight.certificate import certify_track

    def certify(track: Path, mission: str, plan_path: Path | None) -> str:
        """Certify ``track`` into certificate.json beside it and log the certificate."""
        document, result = certify_track(
            airspace,
            track,
            operator=DEMO_OPERATOR,
            margin_m=DEMO_MARGIN_M,
            signer=signer,
            issued_at=now,
            software_version=__version__,
            mission=mission,
            plan_path=plan_path,
        )
        target = track.parent / "certificate.json"
        target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        name = str(target.relative_to(out_dir))
        events.append(
            AuditEvent(
                "demo",
                "certificate.issued",
                now,
                {name: sha256_file(target)},
                {"status": result.status},
            )
        )
        return result.status

    drifted_status = certify(out_dir / "airspace" / "flown_track.csv", "demo flown track", None)
    sortie_status = certify(
        out_dir / "run" / "flight.csv", "sasabe-corridor", out_dir / "plan" / "plan.json"
    )
    for name in ("plan.json", "mission.plan", "mission.waypoints"):
        events.append(
            AuditEvent("demo", "plan.written", now, {name: sha256_file(out_dir / "plan" / name)})
        )
    progress.advance(task)
    with SqliteAuditStore(stage / "audit.db") as store:
        log = AuditLog(store)
        receipt = log.append_batch(events)
        checkpoint = log.checkpoint(signer, now)
        progress.advance(task)
        report = log.verify(load_verifier(public))
        progress.advance(task)
        bundle = stage / "bundle.json"
        log.export(bundle, load_verifier(public))
    bundle_report = verify_bundle_file(bundle, public)
    progress.advance(task)
    console.print(
        f"certificates (signed): simulated sortie {sortie_status.upper()} "
        f"({out_dir / 'run' / 'certificate.json'}); sample drifted track "
        f"{drifted_status.upper()} ({out_dir / 'airspace' / 'certificate.json'})"
    )
    console.print(
        f"audit: {receipt.count} events appended ({report.entries} in the log), checkpoint at "
        f"tree size {checkpoint.tree_size}, log VALID, offline bundle VALID "
        f"({bundle_report.entries} entries)"
    )
    return {"folder": str(stage), "entries": report.entries, "valid": True}


DemoStage = Callable[[Airspace, Path, Console, Progress], dict[str, Any]]
"""A stage the demo runs after tracking: (airspace, out_dir, console, progress) -> summary.
Layers above the pipeline (scale-out) hand theirs in, so the pipeline never imports them."""


#: What the demo writes at the top of its folder (stages, the mission store, its summary).
DEMO_FOLDER_ENTRIES = frozenset(
    {
        "airspace",
        "audit",
        "oversight",
        "plan",
        "products",
        "run",
        "scale",
        "tracks",
        "standoff.db",
        "standoff.db-wal",
        "standoff.db-shm",
        "standoff.db-journal",
        "summary.json",
        "users.yaml",
    }
)


def _clear_demo_folder(out_dir: Path) -> list[str]:
    """Remove an earlier demo's outputs from ``out_dir``; returns the names removed.

    Refuses (before removing anything) when the folder holds an entry the demo does not
    write, so a mistyped ``--out`` never deletes someone's files."""
    import shutil

    from standoff.core.errors import InputError

    if not out_dir.exists():
        return []
    if not out_dir.is_dir():
        raise InputError("is a file, not a folder", source="--out", value=str(out_dir))
    entries = sorted(p.name for p in out_dir.iterdir())
    foreign = [name for name in entries if name not in DEMO_FOLDER_ENTRIES]
    if foreign:
        raise InputError(
            f"the folder holds {len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'} the "
            f"demo did not write (first: {foreign[0]!r}); give an empty or new folder",
            source="--out",
            value=str(out_dir),
        )
    for name in entries:
        path = out_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    return entries


def run_demo(
    out_dir: Path, console: Console, *, extra_stages: dict[str, DemoStage] | None = None
) -> dict[str, Any]:
    """Run the end-to-end demo into ``out_dir`` and print a readable summary.

    A folder holding an earlier demo's outputs is emptied first, so the demo can be run again
    into the same folder; a folder holding anything else is refused (:class:`InputError`)."""
    replaced = _clear_demo_folder(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    console.rule("[bold]Standoff demo")
    console.print(f"outputs go to {out_dir.resolve()}")
    if replaced:
        console.print(f"(replaced the earlier demo outputs there: {', '.join(replaced)})")
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        airspace = Airspace.load()  # loaded once; its indexes are built once and shared
        summary = {
            "airspace": _demo_airspace(airspace, out_dir, console, progress),
            "plan": _demo_plan(airspace, out_dir, console, progress),
        }
        summary["run"] = _demo_run(airspace, out_dir, console, progress)
        summary["tracks"] = _demo_tracks(out_dir, console, progress)
        summary["oversight"] = _demo_oversight(airspace, out_dir, console, progress)
        summary["products"] = _demo_products(airspace, out_dir, console, progress)
        for name, stage in (extra_stages or {}).items():
            summary[name] = stage(airspace, out_dir, console, progress)
        summary["audit"] = _demo_audit(airspace, out_dir, console, progress)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    console.rule("Outputs")
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
        console.print(f"  {path}")
    return summary


# --------------------------------------------------------------------------- oversight workflow


@dataclass(frozen=True)
class Workflow:
    """The mission store (SQLite file or PostgreSQL URL) with its audit log, and the users."""

    store: Any
    log: Any
    users: Any

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Workflow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_workflow(db: str | Path, users_path: Path | None = None) -> Workflow:
    """Open the store at ``db`` (created and migrated if new) and its audit log."""
    from standoff.oversight import AuditLog
    from standoff.oversight.approval import load_users
    from standoff.store.sql import open_store

    store = open_store(str(db))
    return Workflow(
        store, AuditLog(store.audit_store()), load_users(users_path) if users_path else None
    )


def _user(wf: Workflow, name: str) -> Any:
    from standoff.core.errors import InputError

    if wf.users is None:
        raise InputError("give the users file (--users USERS.yaml)", field="--users")
    return wf.users.get(name)


def _plan_text(plan_dir: Path) -> tuple[str, MissionPlan]:
    from standoff.core.files import read_text
    from standoff.share import read_plan_json

    path = plan_dir / "plan.json" if plan_dir.is_dir() else plan_dir
    return read_text(path), read_plan_json(path)


def airspace_gate(
    log: AuditLog, airspace: Airspace, plan: MissionPlan, who: str, now: datetime, plan_sha: str
) -> Decision:
    """The sovereignty gate on a plan: the exact airspace check with its margin, logged
    either way; raises :class:`PolicyDenied` when the plan is not clear."""
    from standoff.oversight.policy import check_airspace, record_and_require

    decision = check_airspace(plan, airspace)
    record_and_require(log, [decision], who=who, at_utc=now, objects_sha256_hex={"plan": plan_sha})
    return decision


def plan_document_for(
    airspace: Airspace, mission: Any, source: str
) -> tuple[MissionPlan, dict[str, Any], str]:
    """A mission document from a client (no file references) -> its checked plan, the plan
    as a ``plan.json`` document and that document's canonical text (what gets submitted)."""
    from standoff.plan.mission_file import parse_mission
    from standoff.share.plan_json import plan_text, plan_to_document

    plan = plan_mission(airspace, parse_mission(mission, source=source, files=False))
    doc = plan_to_document(plan)
    return plan, doc, plan_text(doc)


def airspace_check(airspace: Airspace) -> Callable[[str], Decision]:
    """The airspace check of a stored ``plan.json`` text (what an approval runs again)."""
    from standoff.oversight.policy import check_airspace
    from standoff.share.plan_json import plan_from_document

    def check(document: str) -> Decision:
        return check_airspace(plan_from_document(json.loads(document), "stored plan"), airspace)

    return check


def submit_plan(
    wf: Workflow, airspace: Airspace, plan_dir: Path, as_user: str, now: datetime
) -> dict[str, Any]:
    """Check a plan (airspace, mandate) and submit it for approval as a planner."""
    from standoff.oversight.approval import plan_sha256_of, submit

    text, plan = _plan_text(plan_dir)
    user = _user(wf, as_user)
    sha = plan_sha256_of(text)
    decision = airspace_gate(wf.log, airspace, plan, user.name, now, sha)
    mission_id = submit(
        wf.store, wf.log, user, mission_name=plan.mission_name, plan_document=text, now=now
    )
    return {
        "mission": mission_id,
        "state": "submitted",
        "plan_sha256": sha,
        "airspace": decision.to_dict(),
    }


def mission_action(
    wf: Workflow,
    mission_id: str,
    action: str,
    as_user: str,
    reason: str,
    now: datetime,
    *,
    window: tuple[datetime, datetime] | None = None,
    airspace: Airspace | None = None,
) -> dict[str, Any]:
    """Approve, reject, revise, fly or close a mission (role and two-person checks; an
    approval may carry the approved time ``window`` the sortie must lie inside).  An
    approval checks the stored plan against ``airspace`` (default: the vendored boundaries)
    again first: no plan that enters foreign airspace is approved, however it was stored."""
    from standoff.oversight.approval import act

    state = act(
        wf.store,
        wf.log,
        _user(wf, as_user),
        mission_id,
        action,
        reason=reason,
        now=now,
        window=window,
        plan_check=(
            airspace_check(airspace if airspace is not None else Airspace.load())
            if action == "approve"
            else None
        ),
    )
    return {"mission": mission_id, "state": state}


def fly_sortie(
    wf: Workflow,
    airspace: Airspace,
    plan_dir: Path,
    scenario_path: Path,
    out_dir: Path,
    as_user: str,
    now: datetime,
    *,
    fmt: str = "csv",
    progress: Any = None,
) -> Any:
    """Fly an approved plan (the gate refuses any other) and mark its mission flown; the flown
    path's check is logged."""
    from standoff.oversight import AuditEvent
    from standoff.oversight.approval import act, mission_id_of, plan_sha256_of, require_approved

    text, plan = _plan_text(plan_dir)
    sha = plan_sha256_of(text)
    mission_id = mission_id_of(plan.mission_name, sha)
    user = _user(wf, as_user)
    require_approved(wf.store, mission_id, sha, log=wf.log, who=user.name, now=now)
    plan_path = plan_dir / "plan.json" if plan_dir.is_dir() else plan_dir
    summary = run_simulation(
        airspace, plan_path, scenario_path, out_dir, fmt=fmt, progress=progress
    )
    act(
        wf.store,
        wf.log,
        user,
        mission_id,
        "fly",
        reason=f"sortie flown into {out_dir.name}",
        now=now,
    )
    check = summary.path_check
    wf.log.append(
        AuditEvent(
            user.name,
            "sortie.flown",
            now,
            {"plan": sha},
            {
                "mission": mission_id,
                "flown_path": check.status,
                "min_clearance_m": round(float(check.min_clearance_m), 1),
                "incursions": len(check.incursions),
            },
        )
    )
    return summary


def mission_status(wf: Workflow, mission_id: str | None = None) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    from standoff.store.schema import missions

    q = sa.select(missions).order_by(missions.c.created_at, missions.c.mission_id)
    if mission_id is not None:
        q = q.where(missions.c.mission_id == mission_id)
    with wf.store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [
        {
            "mission": r.mission_id,
            "name": r.name,
            "planner": r.planner,
            "state": r.state,
            "plan_sha256": r.plan_sha256,
        }
        for r in rows
    ]


def export_plan(
    wf: Workflow, airspace: Airspace, plan_dir: Path, out_dir: Path, as_user: str, now: datetime
) -> dict[str, Path]:
    """Write the ground-control files of an approved plan (the export gate)."""
    import hashlib

    from standoff.oversight import AuditEvent
    from standoff.oversight.approval import mission_id_of, plan_sha256_of, require_approved
    from standoff.oversight.policy import decision_event
    from standoff.share import write_ground_control_outputs

    text, plan = _plan_text(plan_dir)
    sha = plan_sha256_of(text)
    mission_id = mission_id_of(plan.mission_name, sha)
    user = _user(wf, as_user)
    try:
        approval = require_approved(wf.store, mission_id, sha)
    except Exception as exc:
        from standoff.oversight.policy import Decision

        wf.log.append(
            decision_event(
                Decision(allowed=False, reasons=(str(exc),), check="export", subject=mission_id),
                user.name,
                now,
                {"plan": sha},
            )
        )
        raise
    airspace_gate(wf.log, airspace, plan, user.name, now, sha)  # never export a plan not clear
    files = write_ground_control_outputs(plan, airspace, out_dir)
    wf.log.append(decision_event(approval, user.name, now, {"plan": sha}))
    wf.log.append(
        AuditEvent(
            user.name,
            "plan.export",
            now,
            {
                "plan": sha,
                **{
                    k.replace(".", "_"): hashlib.sha256(p.read_bytes()).hexdigest()
                    for k, p in files.items()
                },
            },
            {"mission": mission_id, "files": sorted(files)},
        )
    )
    return files


def run_id_of(run_dir: Path) -> str:
    """A run's id (:func:`standoff.store.runs.run_id_of`; imported when needed, so that
    importing the pipeline does not load the store)."""
    from standoff.store.runs import run_id_of as of_store

    return of_store(run_dir)


def _tracks_with_lonlat(run_dir: Path, tracks_csv: Path, meta: dict[str, Any]) -> Any:
    """A run's tracks table with lon/lat (given, or from the run's local frame)."""
    from standoff.core.errors import InputError
    from standoff.store.runs import read_table, with_lonlat

    frame = read_table(tracks_csv)
    for col in ("time", "track_id"):
        if col not in frame.columns:
            raise InputError("missing column", source=str(tracks_csv), field=col)
    return with_lonlat(frame, meta.get("frame") or {}, tracks_csv)


def partner_export(
    airspace: Airspace,
    run_dir: Path,
    tracks_csv: Path,
    partner: str,
    out_dir: Path,
    now: datetime,
    wf: Workflow | None = None,
    as_user: str = "standoff",
    marking: str = "UNCLASSIFIED//REL TO USA, MEX",
) -> dict[str, Any]:
    """Tracks for a partner agency as GeoJSON: refused unless the product's ``marking``
    releases it to ``partner``; own-territory tracks masked unless released (releases are read
    from the audit log).  The log records counts and hashes, never an own-territory
    coordinate."""
    import hashlib

    from standoff.domain.marking import Marking
    from standoff.oversight import AuditEvent
    from standoff.oversight.minimise import OWN_TERRITORY_COLUMN, minimise_table, released_ids
    from standoff.oversight.policy import check_release, decision_event, require

    meta = json.loads((run_dir / "meta.json").read_text(encoding="utf-8"))
    operator = str(meta["plan"]["operator"])
    product_marking = Marking.parse(marking, owner=operator, source="--marking")
    decision = check_release(product_marking, partner, f"tracks of {run_dir.resolve().name}")
    frame = _tracks_with_lonlat(run_dir, tracks_csv, meta)
    run_id = run_id_of(run_dir)
    released = released_ids(wf.log, run=run_id, kind="track") if wf else frozenset()
    masked = minimise_table(frame, airspace, operator, kind="tracks", released_ids=released)
    own_rows = int(masked.marked[OWN_TERRITORY_COLUMN].sum())
    released_rows = int(masked.released.sum())
    view = masked.view
    features = []
    tid = view["track_id"].to_numpy()
    times = view["time"].astype(str).to_numpy()
    lo, la = view["lon"].to_numpy(float), view["lat"].to_numpy(float)
    order = np.lexsort((times, tid))
    tid, times, lo, la = tid[order], times[order], lo[order], la[order]
    starts = np.flatnonzero(np.r_[True, tid[1:] != tid[:-1]]) if len(tid) else np.zeros(0, int)
    ends = np.r_[starts[1:], len(tid)]
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        coords = [
            [round(float(x), 6), round(float(y), 6)] for x, y in zip(lo[a:b], la[a:b], strict=True)
        ]
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "track_id": int(tid[a]),
                    "first_time": str(times[a]),
                    "last_time": str(times[b - 1]),
                    "marking": product_marking.banner(),
                },
                "geometry": {"type": "LineString", "coordinates": coords}
                if len(coords) > 1
                else {"type": "Point", "coordinates": coords[0]},
            }
        )
    doc = {"type": "FeatureCollection", "marking": product_marking.banner(), "features": features}
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"tracks.{partner.upper()}.geojson"
    if wf is not None:
        wf.log.append(decision_event(decision, as_user, now))
    require([decision])
    path.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
    summary = {
        "file": str(path),
        "marking": product_marking.banner(),
        "tracks": len(features),
        "own_territory_rows": own_rows,
        "released_rows": released_rows,
        "masked_rows": own_rows - released_rows,
    }
    if wf is not None:
        wf.log.append(
            AuditEvent(
                as_user,
                "export.partner",
                now,
                {"file": hashlib.sha256(path.read_bytes()).hexdigest()},
                {
                    "run": run_id,
                    "partner": partner.upper(),
                    **{k: v for k, v in summary.items() if k != "file"},
                },
            )
        )
    return summary


def release_tracks(
    wf: Workflow,
    run_dir: Path,
    ids: list[str],
    as_user: str,
    reason: str,
    now: datetime,
    *,
    kind: str = "track",
) -> int:
    """An approver releases own-territory tracks (or findings) of a run for partner
    exports and editions; the release is an audit event."""
    from standoff.oversight.minimise import release

    run = run_id_of(run_dir)
    return release(wf.log, _user(wf, as_user), run=run, kind=kind, ids=ids, reason=reason, now=now)


def register_run(wf: Workflow, run_dir: Path, tracks_csv: Path | None, now: datetime) -> str:
    """Store a run's detections (and tracks) with its time span, so that retention can
    find the files and rows later (see :mod:`standoff.store.runs`)."""
    from standoff.store.runs import register_run_dir

    return register_run_dir(wf.store, wf.log, run_dir, now=now, tracks_path=tracks_csv).run_id


def run_retention(
    wf: Workflow, airspace: Airspace, now: datetime, retention_days: int | None = None
) -> dict[str, Any]:
    """Purge own-territory detections and tracks of registered runs past the retention
    period, from the run files (rewritten) and the store; every decision and count goes to
    the audit log (no coordinates).  See :func:`standoff.store.runs.apply_retention`."""
    from standoff.store.runs import apply_retention

    return apply_retention(wf.store, wf.log, airspace, now=now, retention_days=retention_days)


# --------------------------------------------------------------------------- products


def write_products(
    airspace: Airspace,
    findings_path: Path,
    out_dir: Path,
    *,
    run_dir: Path | None = None,
    tracks_csv: Path | None = None,
    plan_dir: Path | None = None,
    partner: str | None = None,
    released_ids: frozenset[str] = frozenset(),
) -> dict[str, Path]:
    """Findings -> the report (HTML, PDF), GeoJSON, KML, CoT and GeoParquet for one audience:
    the owner (``partner`` None) or a partner, who gets only findings released to it and no
    own-territory finding (unless its id is in ``released_ids``); the product's marking is
    the most restrictive of its contents and must release it to the partner.  The owner's
    edition also gets the tracks (CoT, GeoParquet) when ``tracks_csv`` is given."""
    from standoff.core.files import load_json
    from standoff.domain.findings import Findings
    from standoff.oversight.policy import check_release, require
    from standoff.share import read_plan_json
    from standoff.share.products import Audience, edition, write_edition

    findings = Findings.from_dict(load_json(findings_path), source=str(findings_path))
    audience = Audience(partner=partner, released_ids=released_ids)
    view, marking = edition(findings, audience)
    if audience.partner is not None:
        require([check_release(marking, audience.partner, f"products of {findings.run_id}")])
    plan = read_plan_json(plan_dir / "plan.json") if plan_dir else None
    return write_edition(
        view,
        marking,
        audience,
        out_dir,
        airspace,
        run_dir=run_dir,
        tracks_csv=tracks_csv,
        plan=plan,
    )


def run_analysis(
    run_dir: Path,
    tracks_csv: Path,
    out_dir: Path,
    *,
    evaluate: bool = False,
    marking: str = "UNCLASSIFIED//NOFORN",
    roads: Path | None = None,
) -> dict[str, Any]:
    """Analyse a run's tracks into ``out_dir/findings.json`` (schema ``standoff.findings/1``),
    every finding marked ``marking`` (owner only unless the operation releases further);
    with ``evaluate``, also score the findings against the run's truth.  ``roads``: a road
    map (GeoJSON lines), by default the run folder's ``roads.geojson`` when there is one;
    the run folder's ``scans.csv``, when there is one, says where the radar looked.
    Returns a summary (counts, the findings path, the road map used and, when asked, the
    metrics)."""
    from standoff.intel import analyse, read_detections, read_run, read_tracks
    from standoff.intel import evaluate as score
    from standoff.intel.io import read_scans
    from standoff.intel.roads import read_roads

    info = read_run(run_dir)
    if roads is None and (Path(run_dir) / "roads.geojson").is_file():
        roads = Path(run_dir) / "roads.geojson"
    road_map = read_roads(roads, info.frame) if roads is not None else None
    tracks = read_tracks(tracks_csv, info)
    det_path = Path(run_dir) / "detections.csv"
    detections = read_detections(det_path, info) if det_path.is_file() else None
    scans_path = Path(run_dir) / "scans.csv"
    scans = read_scans(scans_path, info) if scans_path.is_file() else None
    from standoff.domain.marking import Marking

    meta = json.loads((Path(run_dir) / "meta.json").read_text(encoding="utf-8"))
    operator = str(meta["plan"]["operator"])
    airspace = Airspace.load()
    findings = analyse(
        tracks,
        detections,
        info,
        airspace,
        marking=Marking.parse(marking, owner=operator, source="--marking"),
        roads=road_map,
        scans=scans,
    )
    # Minimisation: findings wholly in the operator's own territory are marked as such.
    from standoff.oversight.minimise import mark_own_territory

    findings = mark_own_territory(findings, airspace, operator)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "findings.json"
    target.write_text(json.dumps(findings.to_dict(), indent=1) + "\n", encoding="utf-8")
    summary: dict[str, Any] = {
        "run_id": findings.run_id,
        "findings": str(target),
        "sites": len(findings.sites),
        "corridors": len(findings.corridors),
        "approaches": len(findings.approaches),
        "alerts": len(findings.alerts),
        "own_territory": sum(1 for f in findings.all() if f.own_territory),
        "roads": str(roads) if roads is not None else None,
        "corridors_seen": {c.id: c.observed_share for c in findings.corridors},
        "nights": info.nights,
        "alert_list": [
            {
                "id": a.id,
                "subject": a.subject_id,
                "direction": a.direction,
                "observed": a.observed_count,
                "rate_per_day": a.observed_rate_per_day,
                "baseline_rate_per_day": a.baseline_rate_per_day,
                "window_h": (a.window_end_utc - a.window_start_utc).total_seconds() / 3600,
                "confidence": a.confidence.words,
            }
            for a in findings.alerts
        ],
    }
    if evaluate:
        summary["evaluation"] = score(findings, run_dir, info)
    return summary


# --------------------------------------------------------------------------- the service


def populate_service(out_dir: Path, now: datetime) -> dict[str, Any]:
    """Load a demo folder's findings and products into its store (``standoff.db``) and give
    each demo user an API token (printed once; only hashes are stored)."""
    import secrets

    from standoff.core.files import load_json
    from standoff.domain.findings import Findings
    from standoff.store.schema import users as users_table
    from standoff.store.sql import token_sha256

    media = {
        ".html": "text/html",
        ".pdf": "application/pdf",
        ".geojson": "application/geo+json",
        ".kml": "application/vnd.google-earth.kml+xml",
        ".xml": "application/xml",
        ".parquet": "application/vnd.apache.parquet",
    }
    with open_workflow(out_dir / "standoff.db", out_dir / "users.yaml") as wf:
        run_id = run_id_of(out_dir / "run")
        findings = Findings.from_dict(load_json(out_dir / "products" / "findings.json"))
        for f in findings.all():
            geom_lat = getattr(f, "lat_deg", None)
            geom_lon = getattr(f, "lon_deg", None)
            wf.store.put_finding(
                f.id,
                run_id,
                type(f).__name__.lower(),
                f.marking.banner(),
                {
                    "confidence": str(f.confidence),
                    "evidence_tracks": list(f.evidence.track_ids)[:50],
                },
                own_territory=f.own_territory,
                lat=geom_lat,
                lon=geom_lon,
            )
        for edition, marking in (
            ("owner", "UNCLASSIFIED//NOFORN"),
            ("MEX", "UNCLASSIFIED//REL TO USA, MEX"),
        ):
            for path in sorted((out_dir / "products" / edition).iterdir()):
                wf.store.put_product(
                    f"{edition}-{path.name}",
                    run_id,
                    path.suffix.lstrip("."),
                    media.get(path.suffix, "application/octet-stream"),
                    marking,
                    path.read_bytes(),
                    now=now,
                )
        tokens = {}
        known = {u.name for u in wf.store.users()}
        for user in wf.users:
            token = secrets.token_urlsafe(24)
            if user.name in known:
                with wf.store.engine.begin() as conn:
                    conn.execute(
                        users_table.update()
                        .where(users_table.c.name == user.name)
                        .values(token_sha256=token_sha256(token))
                    )
            else:
                wf.store.add_user(
                    user.name,
                    list(user.roles),
                    token,
                    now=now,
                    partner_country=user.partner_country,
                )
            tokens[user.name] = token
    return {"run": run_id, "tokens": tokens, "db": str(out_dir / "standoff.db")}


# --------------------------------------------------------------------------- partner tables


def partner_export_tables(
    airspace: Airspace,
    run_dir: Path,
    partner: str,
    out_dir: Path,
    now: datetime,
    wf: Workflow | None = None,
    *,
    tracks_csv: Path | None = None,
    as_user: str = "standoff",
    marking: str = "UNCLASSIFIED//REL TO USA, MEX",
) -> dict[str, Any]:
    """A run's detections (and tracks) for a partner agency as CSV, minimised: refused unless
    the ``marking`` releases them to ``partner`` (the decision is logged); own-territory
    detections, and tracks wholly in own territory, are left out unless an approver released
    them (releases are read from the audit log).  Writes ``detections.<P>.csv``,
    ``tracks.<P>.csv`` and ``export.<P>.json`` (marking, counts, file hashes); the log gets
    the counts and hashes, never an own-territory id or coordinate."""
    import hashlib

    from standoff.domain.marking import Marking
    from standoff.oversight import AuditEvent
    from standoff.oversight.minimise import minimise, record_minimisation, released_ids
    from standoff.oversight.policy import check_release, decision_event, require
    from standoff.store.runs import detections_file, read_meta, read_table, with_lonlat

    meta = read_meta(run_dir)
    operator = str(meta["plan"]["operator"])
    product_marking = Marking.parse(marking, owner=operator, source="--marking")
    run_id = run_id_of(run_dir)
    decision = check_release(product_marking, partner, f"tables of {run_id}")
    if wf is not None:
        wf.log.append(decision_event(decision, as_user, now))
    require([decision])
    det_path = detections_file(run_dir)
    det = read_table(det_path) if det_path is not None else None
    trk = (
        with_lonlat(read_table(tracks_csv), dict(meta.get("frame") or {}), tracks_csv)
        if tracks_csv is not None
        else None
    )
    released_det = released_ids(wf.log, run=run_id, kind="detection") if wf else frozenset()
    released_trk = released_ids(wf.log, run=run_id, kind="track") if wf else frozenset()
    run = minimise(
        det,
        trk,
        airspace,
        operator,
        released_detections=released_det,
        released_tracks=released_trk,
    )
    code = partner.upper()
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for name, table in (("detections", run.detections), ("tracks", run.tracks)):
        if table is not None:
            path = out_dir / f"{name}.{code}.csv"
            table.view.to_csv(path, index=False)
            files[name] = path
    digests = {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in files.items()}
    summary: dict[str, Any] = {
        "run": run_id,
        "partner": code,
        "marking": product_marking.banner(),
        "files": {k: str(p) for k, p in files.items()},
        "sha256": digests,
        "detections": run.detections.counts() if run.detections is not None else None,
        "tracks": run.tracks.counts() if run.tracks is not None else None,
    }
    (out_dir / f"export.{code}.json").write_text(
        json.dumps(summary, indent=1) + "\n", encoding="utf-8"
    )
    if wf is not None:
        record_minimisation(wf.log, as_user, run=run_id, recipient=code, minimised=run, now=now)
        wf.log.append(
            AuditEvent(
                as_user,
                "export.partner",
                now,
                digests,
                {"run": run_id, "partner": code, "marking": product_marking.banner()},
            )
        )
    return summary


# --------------------------------------------------------------------------- service jobs
# (used by the API's background jobs; keep this section separate from the demo above)


def fly_job(
    store: Any,
    log: Any,
    airspace: Airspace,
    user: Any,
    plan_document: str,
    scenario_document: dict[str, Any],
    work_dir: Path,
    now: datetime,
    *,
    progress: Callable[[str, float], None],
    signer: Any = None,
) -> dict[str, Any]:
    """Fly an approved plan as a service job: the sortie (through :func:`fly_sortie`, whose
    gate refuses an unapproved plan), tracking, storing the run (detections and tracks) in
    ``store``, and, with ``signer``, a signed conformance certificate of the flown path.

    ``progress(stage, fraction)`` is called as the work goes on (fraction of the whole job).
    Returns the run id and counts; the certificate document under ``"certificate"``."""
    import yaml

    from standoff import __version__
    from standoff.oversight.approval import Users
    from standoff.oversight.certificate import certify_track
    from standoff.share.plan_json import plan_from_document
    from standoff.store.runs import register_run_dir
    from standoff.track import track_file

    inputs = work_dir / "input"
    inputs.mkdir(parents=True, exist_ok=True)
    plan_path = inputs / "plan.json"
    plan_path.write_text(plan_document, encoding="utf-8")
    scenario_path = inputs / "scenario.yaml"
    scenario_path.write_text(yaml.safe_dump(scenario_document, sort_keys=False), encoding="utf-8")
    run_dir = work_dir / work_dir.name
    wf = Workflow(store, log, Users([user], source="service"))
    progress("flying", 0.0)

    def tick(done: float, total: float) -> None:
        progress("flying", 0.75 * (done / total if total else 1.0))

    summary = fly_sortie(
        wf, airspace, plan_path, scenario_path, run_dir, user.name, now, progress=tick
    )
    progress("tracking", 0.75)
    tracks_csv: Path | None = None
    n_tracks = 0
    if summary.detections:
        tracks_csv = work_dir / "tracks.csv"
        tracked = track_file(run_dir / "detections.csv", tracks_csv)
        n_tracks = int(tracked.tracks)
    progress("storing", 0.85)
    record = register_run_dir(store, log, run_dir, now=now, tracks_path=tracks_csv, who=user.name)
    result: dict[str, Any] = {
        "run": record.run_id,
        "detections": int(summary.detections),
        "scans": int(summary.scans),
        "tracks": n_tracks,
        "flown_path": summary.path_check.status,
        "min_clearance_m": round(float(summary.path_check.min_clearance_m), 1),
    }
    if signer is not None:
        progress("certifying", 0.95)
        plan = plan_from_document(json.loads(plan_document), str(plan_path))
        document, _check = certify_track(
            airspace,
            run_dir / "flight.csv",
            operator=plan.operator,
            margin_m=plan.margin_m,
            signer=signer,
            issued_at=now,
            software_version=__version__,
            mission=plan.mission_name,
            plan_path=plan_path,
        )
        (run_dir / "certificate.json").write_text(
            json.dumps(document, indent=2) + "\n", encoding="utf-8"
        )
        result["certificate"] = document
    progress("done", 1.0)
    return result
