"""The ``standoff`` command line: thin over the library and the pipeline.

Every :class:`~standoff.core.errors.StandoffError` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from standoff import __version__
from standoff.core.errors import InputError, StandoffError

__all__ = ["app", "main"]

app = typer.Typer(
    name="standoff",
    help="Standoff: intelligence-only aerial surveillance along a border. "
    "Airspace -> plan -> fly (simulated) -> sense -> track -> analyse -> share, with oversight.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
airspace_app = typer.Typer(
    help="Sovereign airspace: owners, distances, path conformance.", no_args_is_help=True
)
app.add_typer(airspace_app, name="airspace")

_NoFly = Annotated[
    Path | None,
    typer.Option(
        "--no-fly", help="GeoJSON of no-fly zones (Polygons), forbidden for every operator."
    ),
]


def _stdout() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _load_airspace(no_fly: Path | None) -> Any:
    from standoff.airspace import Airspace
    from standoff.airspace.io import read_no_fly_zones

    zones = read_no_fly_zones(no_fly) if no_fly is not None else []
    return Airspace.load(zones)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"standoff {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Standoff command line."""


# --------------------------------------------------------------------------- airspace


def _lat_lon_args(lat: str, lon: str) -> tuple[float, float]:
    try:
        lat_v, lon_v = float(lat), float(lon)
    except ValueError as exc:
        raise InputError(
            "LAT and LON must be numbers in degrees", source="arguments", value=f"{lat} {lon}"
        ) from exc
    if not (-90.0 <= lat_v <= 90.0):
        raise InputError("latitude outside ±90", source="arguments", field="LAT", value=lat)
    if not (-180.0 <= lon_v <= 180.0):
        raise InputError("longitude outside ±180", source="arguments", field="LON", value=lon)
    return lat_v, lon_v


@airspace_app.command(
    "where", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": True}
)
def airspace_where(
    lat: Annotated[
        str, typer.Argument(help="Latitude in degrees (north positive).", metavar="LAT")
    ],
    lon: Annotated[
        str,
        typer.Argument(
            help="Longitude in degrees (east positive; -110.9 is 110.9 W).", metavar="LON"
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    no_fly: _NoFly = None,
) -> None:
    """Who owns the airspace at LAT LON, and how far is the nearest boundary."""
    lat_v, lon_v = _lat_lon_args(lat, lon)
    airspace = _load_airspace(no_fly)
    owner = str(airspace.owner_at([lon_v], [lat_v])[0])
    distance = float(airspace.boundary_distance_m([lon_v], [lat_v])[0])
    result: dict[str, Any] = {
        "lat": lat_v,
        "lon": lon_v,
        "airspace": owner,
        "boundary_distance_m": round(distance, 1),
    }
    if airspace.no_fly_zones:
        zone = int(airspace.zone_at([lon_v], [lat_v])[0])
        result["no_fly_zone"] = airspace.no_fly_zones[zone].name if zone >= 0 else None
    if as_json:
        _print_json(result)
        return
    out = _stdout()
    out.print(
        f"{lat_v:.6f}, {lon_v:.6f}: airspace [bold]{owner}[/bold], "
        f"{distance:,.1f} m to the nearest boundary"
    )
    if result.get("no_fly_zone"):
        out.print(f"inside no-fly zone [bold]{result['no_fly_zone']}[/bold]")


@airspace_app.command("classify")
def airspace_classify(
    points: Annotated[
        Path, typer.Argument(help="CSV with lat,lon columns (other columns are kept).")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Output CSV: input plus airspace, boundary_distance_m.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Classify many points: owner (ISO3 or INTL) and distance to the nearest boundary."""
    from standoff.airspace.io import classify_csv

    airspace = _load_airspace(None)
    started = time.perf_counter()
    summary = classify_csv(airspace, points, out)
    elapsed = time.perf_counter() - started
    data = {
        "rows": summary.rows,
        "airspace_counts": summary.owners,
        "output": str(summary.output),
        "seconds": round(elapsed, 3),
        "points_per_s": round(summary.rows / elapsed) if elapsed > 0 else None,
    }
    if as_json:
        _print_json(data)
        return
    _stdout().print(
        f"classified {summary.rows:,} points in {elapsed:.2f} s -> {summary.output}  "
        + ", ".join(f"{k}: {v:,}" for k, v in sorted(summary.owners.items()))
    )


@airspace_app.command("check")
def airspace_check(
    path: Annotated[
        Path,
        typer.Argument(
            help="GeoJSON LineString, Feature or FeatureCollection (lon, lat), "
            "or a CSV track time,lat,lon[,alt_m]."
        ),
    ],
    operator: Annotated[
        str, typer.Option("--operator", help="ISO3 code of the state flying (e.g. USA).")
    ],
    margin_m: Annotated[
        float,
        typer.Option("--margin-m", help="Required clearance from forbidden airspace, metres."),
    ] = 0.0,
    max_gap_s: Annotated[
        float,
        typer.Option("--max-gap-s", help="Longest gap between timed fixes that is still known."),
    ] = 30.0,
    tolerance_m: Annotated[
        float, typer.Option("--tolerance-m", help="Too-close-to-call band (counts as forbidden).")
    ] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    no_fly: _NoFly = None,
) -> None:
    """Check a path exactly against foreign airspace (plus margin). Exit 0 conformant, 1 not."""
    from standoff.airspace import check_path
    from standoff.airspace.io import read_paths

    airspace = _load_airspace(no_fly)
    airspace.check_operator(operator, source="--operator")
    if not margin_m >= 0:
        raise InputError("must be zero or more", source="--margin-m", value=margin_m)
    paths = read_paths(path)
    results = [
        (
            p.name,
            check_path(
                airspace, p.path, operator, margin_m, tolerance_m=tolerance_m, max_gap_s=max_gap_s
            ),
        )
        for p in paths
    ]
    all_ok = all(r.conformant for _, r in results)
    if as_json:
        docs = [{"name": name, **r.to_dict()} for name, r in results]
        _print_json(docs[0] if len(docs) == 1 else {"conformant": all_ok, "paths": docs})
    else:
        out = _stdout()
        for name, r in results:
            colour = {"conformant": "green", "non_conformant": "red", "unknown": "yellow"}[r.status]
            out.print(
                f"{name}: [{colour}]{r.status.upper()}[/{colour}] for {r.operator} "
                f"with margin {r.margin_m:,.0f} m; {r.fixes:,} fixes, "
                f"{r.length_m / 1000:,.1f} km, minimum clearance {r.min_clearance_m:,.1f} m"
            )
            if r.incursions:
                table = Table(
                    "#",
                    "airspace",
                    "entry (lat, lon)",
                    "exit (lat, lon)",
                    "entry time",
                    "duration s",
                    "max depth m",
                    "min clearance m",
                )
                for i, inc in enumerate(r.incursions, 1):
                    table.add_row(
                        str(i),
                        inc.airspace + ("" if inc.certain else " (too close to call)"),
                        f"{inc.entry_lat_deg:.5f}, {inc.entry_lon_deg:.5f}",
                        f"{inc.exit_lat_deg:.5f}, {inc.exit_lon_deg:.5f}",
                        str(
                            inc.entry_utc
                            or ("" if inc.entry_time_s is None else f"{inc.entry_time_s:.1f}")
                        ),
                        "" if inc.duration_s is None else f"{inc.duration_s:.1f}",
                        f"{inc.max_depth_m:,.1f}",
                        f"{inc.min_clearance_m:,.1f}",
                    )
                out.print(table)
            for g in r.gaps:
                out.print(
                    f"  unknown: no fix for {g.gap_s:.0f} s between "
                    f"{g.start_utc or g.start_time_s} and {g.end_utc or g.end_time_s}"
                )
    raise typer.Exit(0 if all_ok else 1)


# --------------------------------------------------------------------------- plan

mission_app = typer.Typer(
    help="Missions: the built-in demo, and approval (submit, approve, reject, revise, fly, "
    "close, status) with the two-person rule.",
    no_args_is_help=True,
)
app.add_typer(mission_app, name="mission")


@mission_app.command("show")
def mission_show(
    name: Annotated[str, typer.Argument(help="Built-in mission name (demo).")],
) -> None:
    """Print a built-in mission as YAML, to copy and edit."""
    from standoff.plan import DEMO_MISSION_YAML

    if name != "demo":
        raise InputError(
            "unknown built-in mission; built-in: demo", source="argument NAME", value=name
        )
    sys.stdout.write(DEMO_MISSION_YAML)


@app.command("plan")
def plan(
    mission: Annotated[
        Path, typer.Argument(help="Mission YAML (see `standoff mission show demo`).")
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder for plan.json, path.geojson and plan.kml (for review; ground-control "
            "files come from `standoff export` once the plan is approved).",
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    no_fly: _NoFly = None,
) -> None:
    """Plan standoff orbits and transits for a mission; every output is airspace-checked."""
    from standoff.pipeline import plan_summary, run_plan

    airspace = _load_airspace(no_fly)
    started = time.perf_counter()
    result, files = run_plan(airspace, mission, out)
    summary = plan_summary(result, files, time.perf_counter() - started)
    if as_json:
        _print_json(summary)
        return
    _print_plan_summary(summary)


def _print_plan_summary(summary: dict[str, Any]) -> None:
    out = _stdout()
    out.print(
        f"[bold]{summary['mission']}[/bold]: {len(summary['orbits'])} orbit(s), "
        f"min clearance {summary['min_clearance_m']:,.0f} m (margin {summary['margin_m']:,.0f} m), "
        f"on station {summary['on_station_s'] / 3600:.1f} h, "
        f"transit {summary['transit_s'] / 3600:.1f} h, "
        f"endurance reserve {summary['endurance_reserve_s'] / 3600:.1f} h"
    )
    from standoff.pipeline import coverage_table, look_point_lines

    out.print(coverage_table(summary["aoi"]))

    for line in look_point_lines(summary["look_points"]):
        out.print(line)
    for name, path in summary["files"].items():
        out.print(f"  {name}: {path}")


# --------------------------------------------------------------------------- oversight

keys_app = typer.Typer(
    help="Ed25519 signing keys for checkpoints and certificates.", no_args_is_help=True
)
audit_app = typer.Typer(
    help="The tamper-evident audit log: verify, prove, export.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")

_Db = Annotated[
    Path, typer.Option("--db", help="The embedded store (SQLite) holding the audit log.")
]
_Key = Annotated[Path, typer.Option("--key", help="Public key PEM (a private key PEM also works).")]


@keys_app.command("new")
def keys_new_cmd(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for NAME.key.pem (0600) and NAME.pub.pem.")
    ],
    name: Annotated[str, typer.Option("--name", help="Key name.")] = "standoff-audit",
) -> None:
    """Create a key pair; the private key is never printed or logged."""
    from standoff.oversight import keys_new

    paths = keys_new(out, name)
    _stdout().print(f"public key {paths.public_path}\nprivate key {paths.private_path} (mode 0600)")


def _integrity(fn: Any) -> Any:
    """Run ``fn``; an IntegrityError is a verdict (exit 1), not bad input."""
    from standoff.core.errors import IntegrityError

    try:
        return fn()
    except IntegrityError as exc:
        sys.stderr.write(f"standoff: INVALID: {exc}\n")
        raise typer.Exit(1) from exc


@audit_app.command("verify")
def audit_verify_cmd(
    db: _Db,
    key: _Key,
    trusted: Annotated[
        Path | None, typer.Option("--trusted", help="A checkpoint seen earlier: detects rollback.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Re-derive the whole log; exit 0 valid, 1 tampered (naming what and where)."""
    from standoff.store.sqlite_audit import audit_verify

    report = _integrity(lambda: audit_verify(db, key, trusted_checkpoint_path=trusted))
    if as_json:
        _print_json(report.to_json())
    else:
        _stdout().print(
            f"VALID: {report.entries:,} entries, {report.checkpoints:,} checkpoints, "
            f"latest tree size {report.latest_tree_size:,}, "
            f"{report.unanchored_entries:,} not yet checkpointed"
        )


@audit_app.command("prove")
def audit_prove_cmd(
    db: _Db,
    entry: Annotated[int, typer.Argument(help="Entry index (0-based).")],
) -> None:
    """Print the inclusion proof of ENTRY against the latest checkpoint (JSON)."""
    from standoff.store.sqlite_audit import audit_prove

    _print_json(_integrity(lambda: audit_prove(db, entry)).to_json())


@audit_app.command("export")
def audit_export_cmd(
    db: _Db,
    key: _Key,
    out: Annotated[Path, typer.Option("--out", help="Bundle file to write.")],
) -> None:
    """Write a bundle a partner verifies offline with the public key."""
    from standoff.store.sqlite_audit import audit_export

    summary = _integrity(lambda: audit_export(db, out, key))
    _stdout().print(
        f"wrote {summary.path}: {summary.entries:,} entries, {summary.checkpoints:,} checkpoints, "
        f"{summary.inclusion_proofs:,} inclusion proofs"
    )


@audit_app.command("verify-bundle")
def audit_verify_bundle_cmd(
    bundle: Annotated[Path, typer.Argument(help="Bundle written by `standoff audit export`.")],
    key: _Key,
) -> None:
    """Verify an exported bundle offline; exit 0 valid, 1 invalid."""
    from standoff.store.sqlite_audit import verify_bundle_file

    report = _integrity(lambda: verify_bundle_file(bundle, key))
    _stdout().print(
        f"VALID bundle: {report.entries:,} entries, tree size {report.latest_tree_size:,}"
    )


scenario_app = typer.Typer(
    help="Scenario files: show the built-in demo scenario.", no_args_is_help=True
)
app.add_typer(scenario_app, name="scenario")


@scenario_app.command("show")
def scenario_show(
    name: Annotated[str, typer.Argument(help="Built-in scenario name (demo).")],
) -> None:
    """Print a built-in scenario as YAML, to copy and edit."""
    from standoff.sim import DEMO_SCENARIO_YAML

    if name != "demo":
        raise InputError(
            "unknown built-in scenario; built-in: demo", source="argument NAME", value=name
        )
    sys.stdout.write(DEMO_SCENARIO_YAML)


@app.command("simulate")
def simulate_cmd(
    plan_dir: Annotated[Path, typer.Argument(help="Folder with plan.json (from `standoff plan`).")],
    scenario: Annotated[
        Path, typer.Option("--scenario", help="Scenario YAML (see `standoff scenario show demo`).")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Run folder: flight, truth, detections, meta.json.")
    ],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Mission store: fly this plan as the approved sortie of its mission (refused "
            "unless approved; the mission becomes flown). Without it: a study run.",
        ),
    ] = None,
    users: Annotated[Path | None, typer.Option("--users", help="Users file (with --db).")] = None,
    as_user: Annotated[str, typer.Option("--as", help="Who flies it (with --db).")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Fly a plan over a synthetic world; write truth and detections; check the flown path."""
    from standoff.pipeline import fly_sortie, open_workflow, run_simulation

    airspace = _load_airspace(None)
    if db is None:
        summary = run_simulation(airspace, plan_dir / "plan.json", scenario, out, fmt=fmt)
    else:
        with open_workflow(db, users) as wf:
            summary = fly_sortie(wf, airspace, plan_dir, scenario, out, as_user, _now(), fmt=fmt)
    doc = {
        "out": str(summary.out_dir),
        "files": list(summary.files),
        "scans": summary.scans,
        "detections": summary.detections,
        "false_alarms": summary.false_alarms,
        "truth_rows": summary.truth_rows,
        "flown_path": summary.path_check.status,
        "flown_min_clearance_m": round(summary.path_check.min_clearance_m, 1),
        "deviation": summary.deviation,
    }
    if as_json:
        _print_json(doc)
    else:
        _stdout().print(
            f"{summary.out_dir}: {summary.scans:,} scans, {summary.detections:,} detections "
            f"({summary.false_alarms:,} false alarms); "
            f"flown path {summary.path_check.status.upper()}, "
            f"minimum clearance {summary.path_check.min_clearance_m:,.0f} m, "
            f"cross-track p95 {summary.deviation.get('cross_track_p95_m', 0.0):,.0f} m"
        )
    raise typer.Exit(0 if summary.path_check.conformant else 1)


@app.command("track")
def track_cmd(
    detections: Annotated[
        Path, typer.Argument(help="Detections CSV or Parquet (time; x,y / x_m,y_m / lat,lon).")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Tracks CSV: one row per confirmed track per scan.")
    ],
    sigma_m: Annotated[
        float | None, typer.Option("--sigma-m", help="Measurement noise when the file has none.")
    ] = None,
    pd: Annotated[float | None, typer.Option("--pd", help="Detection probability.")] = None,
    clutter_per_scan: Annotated[
        float | None, typer.Option("--clutter-per-scan", help="Expected false alarms per scan.")
    ] = None,
    area_m2: Annotated[
        float | None, typer.Option("--area-m2", help="Area one scan covers (for clutter density).")
    ] = None,
    fixed_lag: Annotated[
        bool, typer.Option("--fixed-lag", help="Report each scan one scan late, smoothed.")
    ] = False,
    scans: Annotated[
        Path | None,
        typer.Option(
            "--scans",
            help="Scans file with each area scan's footprint (default: scans.csv or "
            "scans.parquet beside the detections, when there is one).",
        ),
    ] = None,
    no_scans: Annotated[
        bool, typer.Option("--no-scans", help="Ignore scan footprints: count every miss.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Turn detections into tracks with one identity per vehicle."""
    from standoff.track import track_file

    if scans is not None and no_scans:
        raise InputError("give --scans or --no-scans, not both", field="--scans", value=str(scans))
    summary = track_file(
        detections,
        out,
        sigma_m=sigma_m,
        pd=pd,
        clutter_per_scan=clutter_per_scan,
        area_m2=area_m2,
        fixed_lag=fixed_lag,
        scans=False if no_scans else True if scans is None else scans,
    )
    if as_json:
        _print_json(summary.to_dict())
        return
    _stdout().print(
        f"{out}: {summary.tracks:,} confirmed tracks from {summary.detections:,} detections in "
        f"{summary.scans:,} scans ({summary.detections_per_s:,.0f} detections/s)"
        + (
            f"; misses counted inside each scan's footprint ({summary.scans_with_footprint:,} "
            "scans)"
            if summary.scans_with_footprint
            else ""
        )
    )


@app.command("certify")
def certify(
    run_dir: Annotated[
        Path, typer.Argument(help="Run folder holding flight.csv (or give --track).")
    ],
    key: Annotated[Path, typer.Option("--key", help="Private key PEM that signs the certificate.")],
    track: Annotated[
        Path | None, typer.Option("--track", help="Flown track (CSV time,lat,lon or GeoJSON).")
    ] = None,
    plan_file: Annotated[
        Path | None,
        typer.Option("--plan", help="plan.json of the sortie (mission, operator, margin)."),
    ] = None,
    operator: Annotated[
        str | None, typer.Option("--operator", help="ISO3 of the state flying.")
    ] = None,
    margin_m: Annotated[
        float | None, typer.Option("--margin-m", help="Required clearance, metres.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the certificate.")] = False,
) -> None:
    """Check a flown track exactly and write a signed certificate.json into RUN_DIR."""
    from datetime import UTC, datetime

    from standoff.oversight import load_signer
    from standoff.oversight.certificate import certify_track

    flown = track if track is not None else run_dir / "flight.csv"
    if not flown.is_file():
        raise InputError(
            "no flown track: RUN_DIR/flight.csv is missing and --track was not given",
            source=str(flown),
        )
    plan_path = plan_file
    if plan_path is None:
        for candidate in (run_dir / "plan.json", run_dir.parent / "plan" / "plan.json"):
            if candidate.is_file():
                plan_path = candidate
                break
    mission = ""
    if plan_path is not None:
        from standoff.share import read_plan_json

        plan_doc = read_plan_json(plan_path)
        mission = plan_doc.mission_name
        operator = operator or plan_doc.operator
        margin_m = plan_doc.margin_m if margin_m is None else margin_m
    if operator is None or margin_m is None:
        raise InputError("give --plan, or --operator and --margin-m", source="arguments")
    airspace = _load_airspace(None)
    airspace.check_operator(operator, source="--operator")
    document, check = certify_track(
        airspace,
        flown,
        operator=operator,
        margin_m=margin_m,
        signer=load_signer(key),
        issued_at=datetime.now(UTC),
        software_version=__version__,
        mission=mission,
        plan_path=plan_path,
    )
    out = run_dir / "certificate.json"
    run_dir.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if as_json:
        _print_json(document)
    else:
        _stdout().print(
            f"{out}: {check.status.upper()} ({len(check.incursions)} incursion(s), "
            f"minimum clearance {check.min_clearance_m:,.0f} m), signed"
        )


@app.command("verify")
def verify(
    certificate: Annotated[Path, typer.Argument(help="certificate.json to check offline.")],
    key: Annotated[Path, typer.Option("--key", help="Public key PEM.")],
    track: Annotated[
        Path | None, typer.Option("--track", help="The flown track it should certify.")
    ] = None,
) -> None:
    """Verify a certificate offline: exit 0 valid, 1 invalid."""
    from standoff.oversight import load_verifier
    from standoff.oversight.certificate import verify_certificate

    result = _integrity(
        lambda: verify_certificate(certificate, load_verifier(key), track_path=track)
    )
    _stdout().print(
        f"VALID certificate for {result.mission or 'an unnamed mission'}: status {result.status}"
        + (", track matches" if result.track_checked else "")
    )


# --------------------------------------------------------------------------- oversight

_StoreDb = Annotated[
    str,
    typer.Option("--db", help="Mission store: a SQLite file (created) or a PostgreSQL URL."),
]
_Users = Annotated[
    Path | None, typer.Option("--users", help="Users file (YAML: name, roles, partner_country).")
]
_As = Annotated[str, typer.Option("--as", help="Who acts (a name in the users file).")]


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


@mission_app.command("submit")
def mission_submit_cmd(
    plan_dir: Annotated[Path, typer.Argument(help="Folder with plan.json (or the file).")],
    db: _StoreDb,
    users: _Users = None,
    as_user: _As = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check a plan against airspace and submit it for approval (a planner)."""
    from standoff.pipeline import open_workflow, submit_plan

    with open_workflow(db, users) as wf:
        doc = submit_plan(wf, _load_airspace(None), plan_dir, as_user, _now())
    if as_json:
        _print_json(doc)
    else:
        _stdout().print(f"mission {doc['mission']}: submitted for approval")


def _utc_option(text: str, option: str) -> Any:
    """An ISO 8601 time with a UTC offset (``Z`` allowed) given to ``option``."""
    from datetime import datetime

    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError("not an ISO 8601 time", source=f"option {option}", value=text) from exc
    if when.tzinfo is None:
        raise InputError("needs a UTC offset (e.g. Z)", source=f"option {option}", value=text)
    return when


def _window_option(text: str) -> Any:
    """``START/END`` (ISO 8601 with a UTC offset) as two aware datetimes."""
    parts = text.split("/")
    if len(parts) != 2:
        raise InputError("expected START/END", source="option --window", value=text)
    return tuple(_utc_option(part.strip(), "--window") for part in parts)


def _mission_action(action: str) -> Any:
    def command(
        mission: Annotated[str, typer.Argument(help="Mission id (from `mission submit`).")],
        db: _StoreDb,
        users: _Users = None,
        as_user: _As = "",
        reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
        window: Annotated[
            str | None,
            typer.Option(
                "--window",
                help="approve only: the approved time window START/END (ISO 8601 UTC, e.g. "
                "2026-03-20T00:00Z/2026-03-21T00:00Z); the sortie must lie inside it.",
            ),
        ] = None,
    ) -> None:
        from standoff.pipeline import mission_action, open_workflow

        span = _window_option(window) if window is not None else None
        with open_workflow(db, users) as wf:
            doc = mission_action(wf, mission, action, as_user, reason, _now(), window=span)
        _stdout().print(f"mission {doc['mission']}: {doc['state']}")

    command.__doc__ = {
        "approve": "Approve a submitted mission (an approver other than its planner).",
        "reject": "Reject a submitted mission, with the reason (an approver).",
        "revise": "Take a rejected mission back to draft (a planner).",
        "fly": "Mark an approved mission as flown (a planner or admin).",
        "close": "Close a flown mission (an approver or admin).",
    }[action]
    return command


for _action in ("approve", "reject", "revise", "fly", "close"):
    mission_app.command(_action)(_mission_action(_action))


@mission_app.command("status")
def mission_status_cmd(
    db: _StoreDb,
    mission: Annotated[str | None, typer.Argument(help="One mission (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Missions and their states."""
    from standoff.pipeline import mission_status, open_workflow

    with open_workflow(db) as wf:
        rows = mission_status(wf, mission)
    if as_json:
        _print_json(rows)
        return
    table = Table("mission", "planner", "state", "plan sha256")
    for r in rows:
        table.add_row(r["mission"], r["planner"], r["state"], (r["plan_sha256"] or "")[:16])
    _stdout().print(table)


@app.command("export")
def export_cmd(
    plan_dir: Annotated[Path, typer.Argument(help="Folder with the approved plan.json.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the ground-control files.")],
    db: _StoreDb,
    users: _Users = None,
    as_user: _As = "",
) -> None:
    """Write QGC .plan, WPL and fence files for an approved plan (refused otherwise)."""
    from standoff.pipeline import export_plan, open_workflow

    with open_workflow(db, users) as wf:
        files = export_plan(wf, _load_airspace(None), plan_dir, out, as_user, _now())
    for name, path in files.items():
        _stdout().print(f"  {name}: {path}")


@app.command("release")
def release_cmd(
    run: Annotated[Path, typer.Argument(help="Run folder the tracks belong to.")],
    track_ids: Annotated[
        list[str], typer.Argument(help="Own-territory track (or finding) ids to release.")
    ],
    db: _StoreDb,
    users: _Users = None,
    as_user: _As = "",
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    kind: Annotated[str, typer.Option("--kind", help="track, detection or finding.")] = "track",
) -> None:
    """Release own-territory tracks or findings to partners (an approver, with a reason)."""
    from standoff.pipeline import open_workflow, release_tracks

    with open_workflow(db, users) as wf:
        n = release_tracks(wf, run, track_ids, as_user, reason, _now(), kind=kind)
    _stdout().print(f"released {n} {kind}(s) of {run.name}")


@app.command("partner-export")
def partner_export_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run folder (meta.json).")],
    tracks: Annotated[Path, typer.Option("--tracks", help="Tracks CSV of the run.")],
    partner: Annotated[str, typer.Option("--partner", help="Partner country (ISO alpha-3).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the export.")],
    db: Annotated[
        str | None, typer.Option("--db", help="Mission store (releases, audit log).")
    ] = None,
    marking: Annotated[
        str, typer.Option("--marking", help="The product's classification and releasability.")
    ] = "UNCLASSIFIED//REL TO USA, MEX",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Tracks for a partner agency, minimised (own-territory tracks masked unless released);
    refused unless the marking releases them to the partner."""
    from standoff.pipeline import open_workflow, partner_export

    airspace = _load_airspace(None)
    if db is None:
        doc = partner_export(airspace, run_dir, tracks, partner, out, _now(), marking=marking)
    else:
        with open_workflow(db) as wf:
            doc = partner_export(
                airspace, run_dir, tracks, partner, out, _now(), wf, marking=marking
            )
    if as_json:
        _print_json(doc)
    else:
        _stdout().print(
            f"{doc['file']}: {doc['tracks']} tracks, {doc['marking']}; "
            f"{doc['masked_rows']} own-territory rows masked"
        )


@app.command("partner-export-tables")
def partner_export_tables_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run folder (meta.json, detections).")],
    partner: Annotated[str, typer.Option("--partner", help="Partner country (ISO alpha-3).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the export.")],
    tracks: Annotated[
        Path | None, typer.Option("--tracks", help="Tracks CSV of the run (optional).")
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Mission store (releases, audit log).")
    ] = None,
    marking: Annotated[
        str, typer.Option("--marking", help="The product's classification and releasability.")
    ] = "UNCLASSIFIED//REL TO USA, MEX",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """A run's detections (and tracks) for a partner as CSV, minimised: own-territory rows
    left out unless an approver released them; refused unless the marking releases them."""
    from standoff.pipeline import open_workflow, partner_export_tables

    airspace = _load_airspace(None)
    if db is None:
        doc = partner_export_tables(
            airspace, run_dir, partner, out, _now(), tracks_csv=tracks, marking=marking
        )
    else:
        with open_workflow(db) as wf:
            doc = partner_export_tables(
                airspace, run_dir, partner, out, _now(), wf, tracks_csv=tracks, marking=marking
            )
    if as_json:
        _print_json(doc)
        return
    for name in ("detections", "tracks"):
        if doc[name] is not None:
            c = doc[name]
            _stdout().print(
                f"{doc['files'][name]}: {c['shown_rows']} rows, {doc['marking']}; "
                f"{c['masked_rows']} own-territory rows withheld"
            )


runs_app = typer.Typer(help="Runs kept in the mission store.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("add")
def runs_add_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run folder (detections.csv, meta.json).")],
    db: _StoreDb,
    tracks: Annotated[Path | None, typer.Option("--tracks", help="Tracks CSV of the run.")] = None,
) -> None:
    """Register a run folder with its time span and store its detections and tracks;
    `retention run` later purges own-territory rows past the period from its files and the
    store."""
    from standoff.pipeline import open_workflow, register_run

    with open_workflow(db) as wf:
        run_id = register_run(wf, run_dir, tracks, _now())
    _stdout().print(f"run {run_id} stored")


retention_app = typer.Typer(help="Retention of own-territory data.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")


@retention_app.command("run")
def retention_run_cmd(
    db: _StoreDb,
    now: Annotated[
        str | None, typer.Option("--now", help="Evaluate at this ISO 8601 UTC time.")
    ] = None,
    retention_days: Annotated[
        int | None, typer.Option("--retention-days", help="Default 1825 (5 years).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Purge own-territory detections and tracks of stored runs past the retention period."""
    from standoff.pipeline import open_workflow, run_retention

    when = _now() if now is None else _utc_option(now, "--now")
    if retention_days is not None and retention_days < 0:
        raise InputError(
            "must not be negative", source="option --retention-days", value=retention_days
        )
    with open_workflow(db) as wf:
        report = run_retention(wf, _load_airspace(None), when, retention_days)
    if as_json:
        _print_json(report)
        return
    for r in report["runs"]:
        _stdout().print(
            f"run {r['run']}: "
            + (
                f"purged {r['detections_purged']} detections, {r['tracks_purged']} tracks"
                if r["purged"]
                else "within retention"
            )
        )


# --------------------------------------------------------------------------- products


def _released_findings(db: str | None, findings_path: Path) -> frozenset[str]:
    """Finding ids an approver released (read from the audit log: never unaudited)."""
    if db is None:
        return frozenset()
    from standoff.core.files import load_json
    from standoff.oversight.minimise import released_ids
    from standoff.pipeline import open_workflow

    doc = load_json(findings_path)
    run = str(doc.get("run_id", "")) if isinstance(doc, dict) else ""
    with open_workflow(db) as wf:
        return released_ids(wf.log, run=run, kind="finding")


@app.command("report")
def report_cmd(
    findings: Annotated[Path, typer.Argument(help="findings.json (from `standoff analyse`).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the products.")],
    run: Annotated[
        Path | None, typer.Option("--run", help="Run folder (flown path, detections).")
    ] = None,
    tracks: Annotated[Path | None, typer.Option("--tracks", help="Tracks CSV (CoT).")] = None,
    plan_dir: Annotated[Path | None, typer.Option("--plan", help="Plan folder (AOIs).")] = None,
    partner: Annotated[
        str | None, typer.Option("--partner", help="Partner edition for this country (ISO3).")
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Mission store whose audit log holds approvers' releases of own-territory "
            "findings (`standoff release RUN ID --kind finding`).",
        ),
    ] = None,
) -> None:
    """Report (HTML, PDF), GeoJSON, KML, CoT and GeoParquet for the owner or a partner.

    The tracks (owner's edition only) default to the run's tracks/tracks.csv, or
    ../tracks/tracks.csv beside the run folder, when --run is given without --tracks."""
    from standoff.pipeline import write_products
    from standoff.share.products import find_tracks_csv

    if tracks is None and run is not None and partner is None:
        tracks = find_tracks_csv(run)
    files = write_products(
        _load_airspace(None),
        findings,
        out,
        run_dir=run,
        tracks_csv=tracks,
        plan_dir=plan_dir,
        partner=partner,
        released_ids=_released_findings(db, findings) if partner else frozenset(),
    )
    for name, path in files.items():
        _stdout().print(f"  {name}: {path}")


# --------------------------------------------------------------------------- service

users_app = typer.Typer(help="API users and their tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add_cmd(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[
        list[str],
        typer.Option("--role", help="planner, approver, analyst, partner, auditor or admin."),
    ],
    db: _StoreDb,
    partner_country: Annotated[
        str | None, typer.Option("--partner-country", help="ISO alpha-3 (partners).")
    ] = None,
) -> None:
    """Add an API user; prints the token once (only its hash is stored)."""
    import secrets

    from standoff.store.sql import open_store

    token = secrets.token_urlsafe(32)
    with open_store(db) as store:
        store.add_user(name, role, token, now=_now(), partner_country=partner_country)
    sys.stdout.write(token + "\n")


def _check_serve_keys(signing_key: Path | None, audit_key: Path | None, tak: str | None) -> None:
    """Fail before the server starts (exit 2) when a key or the TAK endpoint is unusable."""
    from standoff.api.live import parse_tak_url
    from standoff.oversight import load_signer, load_verifier

    if signing_key is not None:
        load_signer(signing_key)
    if audit_key is not None:
        load_verifier(audit_key)
    if tak is not None:
        parse_tak_url(tak, source="option --tak", field=None)


@app.command("serve")
def serve_cmd(
    db: Annotated[str, typer.Option("--db", help="Store URL or SQLite file.")] = "standoff.db",
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.")] = 8080,
    audit_key: Annotated[
        Path | None, typer.Option("--audit-key", help="Public key PEM to verify the audit log.")
    ] = None,
    signing_key: Annotated[
        Path | None,
        typer.Option(
            "--signing-key",
            help="Private key PEM (standoff keys new) that signs conformance certificates of "
            "simulation jobs and audit checkpoints.",
        ),
    ] = None,
    tak_url: Annotated[
        str | None,
        typer.Option("--tak", help="Send live tracks as Cursor-on-Target to udp://HOST:PORT."),
    ] = None,
) -> None:
    """Serve the API (and the console) on HOST:PORT."""
    import uvicorn

    from standoff.api import ApiSettings, create_app

    if not 0 < port < 65536:
        raise InputError("must be 1-65535", source="option --port", value=port)
    _check_serve_keys(signing_key, audit_key, tak_url)
    app_ = create_app(
        ApiSettings(db_url=db, audit_public_key=audit_key, signing_key=signing_key, tak_url=tak_url)
    )
    uvicorn.run(app_, host=host, port=port, log_level="warning", server_header=False)


# --------------------------------------------------------------------------- scale-out

_Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Dask scheduler address (tcp://HOST:8786) of a running cluster.",
    ),
]
_Workers = Annotated[
    int | None,
    typer.Option("--workers", help="Start a local Dask cluster of N worker processes."),
]


@app.command("campaign")
def campaign_cmd(
    campaign: Annotated[Path, typer.Argument(help="Campaign YAML: base documents, sweep, seeds.")],
    out: Annotated[Path, typer.Option("--out", help="Campaign folder (re-run to resume).")],
    scheduler: _Scheduler = None,
    workers: _Workers = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run a Monte-Carlo campaign: every member plans, flies, tracks and is scored."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from standoff.scale import load_campaign, open_executor, run_campaign

    spec = load_campaign(campaign)
    console = Console(stderr=True)
    with (
        open_executor(scheduler=scheduler, workers=workers) as ex,
        Progress(
            "{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=as_json,
        ) as bar,
    ):
        task = bar.add_task(f"campaign {spec.name} ({ex.workers} worker(s))", total=None)

        def tick(done: int, total: int, row: dict[str, Any]) -> None:
            bar.update(task, completed=done, total=total)
            if row.get("status") == "failed":
                console.print(f"member {row['member_id']} failed: {row['error']}")

        result = run_campaign(spec, out, executor=ex, progress=tick)
    doc = {
        "campaign": spec.name,
        "members": result.members,
        "ran": result.ran,
        "resumed": result.skipped,
        "failed": result.failed,
        "results": str(result.results_path),
        "report": str(result.report_path),
    }
    if as_json:
        _print_json(doc)
    else:
        _stdout().print(
            f"campaign {spec.name}: {result.members} members ({result.ran} run now, "
            f"{result.skipped} already done, {result.failed} failed) -> {result.results_path}, "
            f"{result.report_path}"
        )
    raise typer.Exit(1 if result.failed else 0)


archive_app = typer.Typer(
    help="Partitioned archives of detections (Parquet by grid cell and day).",
    no_args_is_help=True,
)
app.add_typer(archive_app, name="archive")


@archive_app.command("add")
def archive_add_cmd(
    detections: Annotated[Path, typer.Argument(help="Detections CSV/Parquet: time, lat, lon.")],
    archive: Annotated[Path, typer.Option("--archive", help="Archive folder.")],
    cell_deg: Annotated[float, typer.Option("--cell-deg", help="Grid cell size, degrees.")] = 1.0,
    source: Annotated[
        str | None, typer.Option("--source", help="Name of the feed (default: file hash).")
    ] = None,
) -> None:
    """Add a detections file to an archive, partitioned by grid cell and UTC day."""
    from standoff.scale.archive import write_archive

    s = write_archive(detections, archive, cell_deg=cell_deg, source=source)
    _stdout().print(
        f"{s.archive}: {s.detections:,} detections from {s.source} in {s.partitions} partitions"
    )


@archive_app.command("track")
def archive_track_cmd(
    archive: Annotated[Path, typer.Argument(help="Archive folder (from `standoff archive add`).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the partitioned tracks.")],
    scheduler: _Scheduler = None,
    workers: _Workers = None,
    halo_m: Annotated[
        float | None,
        typer.Option(
            "--halo-m",
            help="Overlap tracked around each cell, metres (default: track_archive's).",
        ),
    ] = None,
    warmup_s: Annotated[
        float | None,
        typer.Option(
            "--warmup-s",
            help="Seconds before each time window, tracked first (default: track_archive's).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Track every partition in parallel, handing tracks over across partition edges."""
    from standoff.scale import open_executor
    from standoff.scale.archive import track_archive

    with open_executor(scheduler=scheduler, workers=workers) as ex:
        given: dict[str, Any] = {"halo_m": halo_m, "warmup_s": warmup_s}
        s = track_archive(
            archive, out, executor=ex, **{k: v for k, v in given.items() if v is not None}
        )
    doc = {
        "out": str(s.out_dir),
        "partitions": s.partitions,
        "failed": list(s.failed),
        "detections_tracked": s.detections,
        "rows": s.rows,
        "tracks": s.tracks,
        "hand_overs": s.links,
    }
    if as_json:
        _print_json(doc)
    else:
        _stdout().print(
            f"{s.out_dir}: {s.tracks:,} tracks ({s.rows:,} rows) from {s.partitions} partitions, "
            f"{s.links:,} hand-overs" + (f", {len(s.failed)} partitions FAILED" if s.failed else "")
        )
    raise typer.Exit(1 if s.failed else 0)


@archive_app.command("analyse")
def archive_analyse_cmd(
    tracks: Annotated[Path, typer.Argument(help="Tracks folder (from `standoff archive track`).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for sites.json.")],
    scheduler: _Scheduler = None,
    workers: _Workers = None,
) -> None:
    """Dwell stops per partition in parallel, clustered into sites over the whole archive."""
    from standoff.scale import open_executor
    from standoff.scale.archive import analyse_archive

    with open_executor(scheduler=scheduler, workers=workers) as ex:
        doc = analyse_archive(tracks, out, executor=ex)
    _stdout().print(
        f"{out / 'sites.json'}: {len(doc['sites'])} sites from {doc['stops']} stops in "
        f"{doc['partitions']} partitions"
    )


# --------------------------------------------------------------------------- demo


@app.command("analyse")
def analyse_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run folder (meta.json, detections.csv).")],
    tracks: Annotated[Path, typer.Option("--tracks", help="Tracks CSV of the run.")],
    out: Annotated[Path, typer.Option("--out", help="Products folder for findings.json.")],
    evaluate: Annotated[
        bool, typer.Option("--evaluate", help="Score against the run's truth (simulated runs).")
    ] = False,
    marking: Annotated[
        str, typer.Option("--marking", help="Marking of every finding (releasability).")
    ] = "UNCLASSIFIED//NOFORN",
    roads: Annotated[
        Path | None,
        typer.Option(
            "--roads",
            help="Road map (GeoJSON lines) to carry corridors across unseen stretches and "
            "to weigh sites at road junctions; default: the run folder's roads.geojson "
            "when there is one.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Find dwell sites, corridors, border approaches and change alerts in a run's tracks."""
    from standoff.pipeline import run_analysis

    summary = run_analysis(run_dir, tracks, out, evaluate=evaluate, marking=marking, roads=roads)
    if as_json or evaluate:
        _print_json(summary["evaluation"] if evaluate and not as_json else summary)
        return
    _stdout().print(
        f"{summary['findings']}: {summary['sites']} sites, {summary['corridors']} corridors, "
        f"{summary['approaches']} border approaches, {summary['alerts']} change alerts"
        + (f" (road map {summary['roads']})" if summary["roads"] else "")
    )


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo's outputs.")] = Path(
        "standoff-demo"
    ),
    serve: Annotated[
        bool, typer.Option("--serve", help="Then serve the console on the demo's data.")
    ] = False,
    port: Annotated[int, typer.Option("--port", help="Port for --serve.")] = 8080,
) -> None:
    """Run every capability that has landed, end to end, and say where the outputs are."""
    from standoff.pipeline import populate_service, run_demo
    from standoff.scale.demo import demo_stage

    run_demo(out, _stdout(), extra_stages={"scale": demo_stage})
    if not serve:
        return
    import uvicorn

    from standoff.api import ApiSettings, create_app

    info = populate_service(out, _now())
    console = _stdout()
    console.rule("Console")
    console.print(f"http://127.0.0.1:{port}/  (run {info['run']}); log in with a token:")
    for name, token in info["tokens"].items():
        console.print(f"  {name}: {token}")
    key = out / "audit" / "keys" / "standoff-audit.key.pem"
    app_ = create_app(ApiSettings(db_url=info["db"], signing_key=key if key.exists() else None))
    uvicorn.run(app_, host="127.0.0.1", port=port, log_level="warning", server_header=False)


# --------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; map errors to exit codes; never show a traceback for bad input."""
    args = sys.argv[1:] if argv is None else argv
    try:
        app(args=args, prog_name="standoff")
    except SystemExit as exc:  # click's standalone mode: usage errors exit 2, Exit(n) exits n
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except StandoffError as exc:
        sys.stderr.write(f"standoff: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("standoff: interrupted\n")
        return 130
    except Exception as exc:
        if os.environ.get("STANDOFF_DEBUG"):
            raise
        sys.stderr.write(
            f"standoff: internal error: {type(exc).__name__}: {exc} "
            "(this is a bug; set STANDOFF_DEBUG=1 for the traceback)\n"
        )
        return 70
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


def _console_main() -> None:
    raise SystemExit(main())
