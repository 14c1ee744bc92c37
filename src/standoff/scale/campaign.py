"""Monte-Carlo campaigns: a sweep over mission and scenario parameters x seeds.

Each member plans, flies, tracks and (when the analytics stage is present) analyses one sortie,
and reduces it to a row of figures: coverage, flown-path conformance, tracking GOSPA against
the simulator's truth, and the analytics' site and route scores.  Members are pure functions
of their specification (the seed included), so the table is the same whatever runs them: this
process, a local Dask cluster or a remote one.  Each finished member is written to
``DIR/members/<id>/result.json`` at once; a re-run skips the members already done and retries
the failed ones, so an interrupted campaign resumes where it stopped.

Campaign file (YAML, strict)::

    name: margin-and-altitude
    mission: demo                 # "demo", a mission file path, or an inline mission mapping
    scenario: demo                # "demo", a scenario file path, or an inline mapping
    seeds: 4                      # members per parameter combination (common random numbers)
    root_seed: 20261124
    overrides:                    # applied to every member (dotted paths into the documents)
      mission.on_station_s: 3600
      scenario.duration_s: 5400
      scenario.flight.sorties: 1  # the demo scenario flies four nights
    sweep:                        # every combination of these values is a member group
      mission.margin_m: [3000, 6000]
      mission.altitude_m: [6000, 7600]
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import math
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from standoff.core.errors import InputError
from standoff.core.files import load_yaml
from standoff.scale.executor import Executor, Failure, InProcessExecutor

__all__ = [
    "METRICS",
    "CampaignResult",
    "CampaignSpec",
    "Member",
    "load_campaign",
    "members_of",
    "parse_campaign",
    "run_campaign",
    "run_member",
]

METRICS: dict[str, str] = {
    "coverage_efficiency_mean": "mean coverage efficiency over the AOIs (covered / coverable)",
    "coverable_fraction_mean": "mean share of each AOI that any legal orbit can see",
    "plan_min_clearance_m": "planned path's minimum clearance from forbidden airspace",
    "flown_min_clearance_m": "flown path's minimum clearance from forbidden airspace",
    "flown_conformant": "1 when the flown path stayed out of forbidden airspace plus margin",
    "detections": "detections in the sortie",
    "false_alarm_fraction": "share of detections that are false alarms",
    "tracks": "confirmed tracks",
    "gospa_m": "mean GOSPA per truth sample (c = 100 m, p = 1) over movers in the AOIs",
    "id_switches": "identity switches (CLEAR MOT) over movers in the AOIs",
    "site_precision": "share of sites found within 250 m of a true site",
    "site_recall": "share of true sites found within 250 m",
    "route_recall": "share of true convoy routes matched by a corridor",
}
"""Every figure a member reports (NaN where a stage is missing or failed)."""


class _CampaignModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1)
    mission: str | dict[str, Any] = "demo"
    scenario: str | dict[str, Any] = "demo"
    seeds: int = Field(default=1, ge=1, le=10_000)
    root_seed: int = Field(default=0, ge=0)
    overrides: dict[str, Any] = Field(default_factory=dict)
    sweep: dict[str, list[Any]] = Field(default_factory=dict)
    keep_runs: bool = False


@dataclass(frozen=True)
class CampaignSpec:
    """A validated campaign: base documents, the sweep, the seeds."""

    name: str
    mission: dict[str, Any]
    mission_dir: str
    scenario: dict[str, Any]
    scenario_dir: str
    sweep: tuple[tuple[str, tuple[Any, ...]], ...]
    seeds: int
    root_seed: int
    keep_runs: bool
    source: str


@dataclass(frozen=True)
class Member:
    """One sortie of the campaign: its documents (sweep and seed applied) and where it goes."""

    member_id: str
    params: tuple[tuple[str, Any], ...]
    seed_index: int
    seed: int
    mission: dict[str, Any]
    mission_dir: str
    scenario: dict[str, Any]
    scenario_dir: str
    out_dir: str
    keep_run: bool


@dataclass(frozen=True)
class CampaignResult:
    """What a campaign run did: the table, the report and the members it ran this time."""

    out_dir: Path
    members: int
    ran: int
    skipped: int
    failed: int
    results_path: Path
    report_path: Path
    rows: tuple[dict[str, Any], ...]


# --------------------------------------------------------------------------- the file


def _base_document(
    value: str | dict[str, Any], kind: str, source: str, folder: Path
) -> tuple[dict[str, Any], Path]:
    if isinstance(value, dict):
        return copy.deepcopy(value), folder
    if value == "demo":
        if kind == "mission":
            from standoff.plan.demo import DEMO_MISSION_YAML

            return yaml.safe_load(DEMO_MISSION_YAML), folder
        from standoff.sim import DEMO_SCENARIO_YAML

        return yaml.safe_load(DEMO_SCENARIO_YAML), folder
    path = Path(value) if Path(value).is_absolute() else folder / value
    if not path.is_file():
        raise InputError(f"{kind} file not found", source=source, field=kind, value=value)
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise InputError(f"the {kind} file is not a YAML mapping", source=str(path))
    return doc, path.parent


def _set_path(doc: dict[str, Any], dotted: str, value: Any, source: str, where: str) -> None:
    """Set ``value`` at ``dotted`` (``mission.a.b`` / ``scenario.sites.0.x``) in ``doc``."""
    keys = dotted.split(".")[1:]
    node: Any = doc
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise InputError(
                    f"no list item {key!r} at {'.'.join(keys[:i]) or '(top)'}",
                    source=source,
                    field=where,
                    value=dotted,
                )
            if last:
                node[int(key)] = value
            else:
                node = node[int(key)]
            continue
        if not isinstance(node, dict):
            raise InputError(
                f"{'.'.join(keys[:i])} is not a mapping", source=source, field=where, value=dotted
            )
        if last:
            node[key] = value
        else:
            node = node.setdefault(key, {})


def _check_paths(names: list[str], source: str, where: str) -> None:
    for name in names:
        head = name.split(".", 1)[0]
        if head not in ("mission", "scenario") or "." not in name:
            raise InputError(
                "a parameter is a dotted path starting with 'mission.' or 'scenario.'",
                source=source,
                field=f"{where}.{name}",
                value=name,
            )


def parse_campaign(
    document: Any, *, source: str = "campaign", base_dir: Path | None = None
) -> CampaignSpec:
    """Validate a campaign document; every member's documents are validated too, so a bad
    value is an error naming the field before anything runs."""
    folder = base_dir or Path.cwd()
    if not isinstance(document, dict):
        raise InputError("a campaign file must be a YAML mapping", source=source)
    try:
        m = _CampaignModel.model_validate(document)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InputError(
            err["msg"], source=source, field=where or "(top)", value=err.get("input")
        ) from exc
    _check_paths(list(m.overrides), source, "overrides")
    _check_paths(list(m.sweep), source, "sweep")
    for name, values in m.sweep.items():
        if not values:
            raise InputError("needs at least one value", source=source, field=f"sweep.{name}")
    docs = {
        "mission": _base_document(m.mission, "mission", source, folder),
        "scenario": _base_document(m.scenario, "scenario", source, folder),
    }
    for name, value in m.overrides.items():
        _set_path(docs[name.split(".")[0]][0], name, value, source, f"overrides.{name}")
    spec = CampaignSpec(
        name=m.name,
        mission=docs["mission"][0],
        mission_dir=str(docs["mission"][1]),
        scenario=docs["scenario"][0],
        scenario_dir=str(docs["scenario"][1]),
        sweep=tuple((k, tuple(v)) for k, v in m.sweep.items()),
        seeds=m.seeds,
        root_seed=m.root_seed,
        keep_runs=m.keep_runs,
        source=source,
    )
    _validate_members(spec)
    return spec


def load_campaign(path: str | Path) -> CampaignSpec:
    """Read and validate a campaign YAML file."""
    p = Path(path)
    return parse_campaign(load_yaml(p), source=str(p), base_dir=p.parent)


def _validate_members(spec: CampaignSpec) -> None:
    from standoff.plan import parse_mission
    from standoff.sim import parse_scenario

    for combo in _combos(spec):
        mission, scenario = _documents(spec, combo, seed=spec.root_seed)
        label = ", ".join(f"{k}={v!r}" for k, v in combo) or "the base documents"
        try:
            parse_mission(
                mission, source=f"{spec.source} ({label})", base_dir=Path(spec.mission_dir)
            )
            parse_scenario(
                scenario, source=f"{spec.source} ({label})", base_dir=Path(spec.scenario_dir)
            )
        except InputError as exc:
            raise InputError(
                f"sweep value gives an invalid document: {exc}",
                source=spec.source,
                field="sweep" if combo else "overrides",
                value=label,
            ) from exc


def _combos(spec: CampaignSpec) -> list[tuple[tuple[str, Any], ...]]:
    names = [k for k, _ in spec.sweep]
    values = [v for _, v in spec.sweep]
    return [tuple(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def _documents(
    spec: CampaignSpec, combo: tuple[tuple[str, Any], ...], seed: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    docs = {"mission": copy.deepcopy(spec.mission), "scenario": copy.deepcopy(spec.scenario)}
    for name, value in combo:
        _set_path(docs[name.split(".")[0]], name, value, spec.source, f"sweep.{name}")
    docs["scenario"]["seed"] = seed
    return docs["mission"], docs["scenario"]


def _member_seeds(root_seed: int, n: int) -> list[int]:
    """One scenario seed per seed index, shared by every combination (common random numbers,
    so that differences between combinations are not differences between worlds)."""
    children = np.random.SeedSequence(root_seed).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


def members_of(spec: CampaignSpec, out_dir: Path) -> list[Member]:
    """Every member of the campaign, in a fixed order; ids hash the member's documents."""
    out: list[Member] = []
    seeds = _member_seeds(spec.root_seed, spec.seeds)
    for combo in _combos(spec):
        for k, seed in enumerate(seeds):
            mission, scenario = _documents(spec, combo, seed)
            digest = hashlib.sha256(
                json.dumps([mission, scenario], sort_keys=True, default=str).encode()
            ).hexdigest()[:12]
            out.append(
                Member(
                    member_id=f"m{len(out):04d}-{digest}",
                    params=combo,
                    seed_index=k,
                    seed=seed,
                    mission=mission,
                    mission_dir=spec.mission_dir,
                    scenario=scenario,
                    scenario_dir=spec.scenario_dir,
                    out_dir=str(out_dir / "members"),
                    keep_run=spec.keep_runs,
                )
            )
    return out


# --------------------------------------------------------------------------- one member


@functools.lru_cache(maxsize=1)
def _airspace() -> Any:
    """The vendored airspace, loaded once per worker process (its indexes are costly)."""
    from standoff.airspace import Airspace

    return Airspace.load()


def _tracking_score(run_dir: Path, tracks_csv: Path, plan: Any, mdv_mps: float) -> Any:
    """GOSPA and identity switches of the tracks against the truth of movers inside the AOIs
    that move faster than the GMTI's minimum detectable velocity, at the truth samples taken
    while the sensors were working."""
    import pandas as pd
    import shapely
    from shapely.geometry import shape

    from standoff.geo.frame import LocalFrame
    from standoff.track.metrics import score_tracks

    meta = json.loads((run_dir / "meta.json").read_text(encoding="utf-8"))
    frame = LocalFrame(
        float(meta["frame"]["origin_lon_deg"]), float(meta["frame"]["origin_lat_deg"])
    )
    truth = pd.read_csv(run_dir / "truth.csv")
    tracks = pd.read_csv(tracks_csv)
    if tracks.empty:
        return None
    t_ns = pd.to_datetime(truth["time"], utc=True).astype("int64").to_numpy()
    k_ns = pd.to_datetime(tracks["time"], utc=True).astype("int64").to_numpy()
    aois = [shape(c.geometry) for c in plan.coverage if c.geometry]
    keep = (truth["speed_mps"].to_numpy() >= mdv_mps) & (t_ns >= k_ns.min()) & (t_ns <= k_ns.max())
    if aois:
        area = shapely.union_all(aois)
        keep &= shapely.contains_xy(area, truth["lon"].to_numpy(), truth["lat"].to_numpy())
    tx, ty = frame.to_xy(truth["lon"].to_numpy()[keep], truth["lat"].to_numpy()[keep])
    if "x" in tracks.columns:  # tracks in the run's local frame, like the detections
        kx, ky = tracks["x"].to_numpy(float), tracks["y"].to_numpy(float)
    else:
        kx, ky = frame.to_xy(tracks["lon"].to_numpy(), tracks["lat"].to_numpy())
    sample_times = np.unique(t_ns[keep])
    on_samples = np.isin(k_ns, sample_times)
    return score_tracks(
        t_ns[keep] / 1e9,
        truth["truth_id"].to_numpy()[keep].astype(np.int64),
        np.column_stack([tx, ty]),
        k_ns[on_samples] / 1e9,
        tracks["track_id"].to_numpy()[on_samples].astype(np.int64),
        np.column_stack([kx[on_samples], ky[on_samples]]),
    )


def _intel_scores(run_dir: Path, tracks_csv: Path) -> dict[str, float]:
    """Site and route scores of the analysis of the member's run, against its truth."""
    from standoff.pipeline import run_analysis

    summary = run_analysis(run_dir, tracks_csv, run_dir / "products", evaluate=True)
    ev = summary["evaluation"]

    def number(value: Any) -> float:
        return float(value) if isinstance(value, int | float) else math.nan

    return {
        "site_precision": number(ev["sites"]["precision"]),
        "site_recall": number(ev["sites"]["recall"]),
        "route_recall": number(ev["routes"]["recall"]),
    }


def run_member(member: Member) -> dict[str, Any]:
    """Plan, fly, track and score one member; returns its row (figures, no timings)."""
    from standoff.plan import parse_mission, plan_mission
    from standoff.platforms import SENSORS
    from standoff.sim import parse_scenario, simulate
    from standoff.track import track_file

    folder = Path(member.out_dir) / member.member_id
    run_dir = folder / "run"
    if folder.exists():
        shutil.rmtree(folder)  # a member interrupted half-way starts again from nothing
    run_dir.mkdir(parents=True)
    airspace = _airspace()
    req = parse_mission(member.mission, source=member.member_id, base_dir=Path(member.mission_dir))
    plan = plan_mission(airspace, req)
    scenario = parse_scenario(
        member.scenario, source=member.member_id, base_dir=Path(member.scenario_dir)
    )
    sim = simulate(plan, scenario, airspace, run_dir)
    tracks_csv = folder / "tracks.csv"
    summary = track_file(run_dir / "detections.csv", tracks_csv)
    gmti = SENSORS.get("gmti")
    score = _tracking_score(run_dir, tracks_csv, plan, gmti.mdv_mps if gmti else 0.0)
    reachable = [c for c in plan.coverage if c.reachable]
    row: dict[str, float] = {name: math.nan for name in METRICS}
    row.update(
        coverage_efficiency_mean=float(np.mean([c.coverage_efficiency for c in reachable]))
        if reachable
        else 0.0,
        coverable_fraction_mean=float(np.mean([c.coverable_fraction for c in plan.coverage])),
        plan_min_clearance_m=float(plan.min_clearance_m),
        flown_min_clearance_m=float(sim.path_check.min_clearance_m),
        flown_conformant=1.0 if sim.path_check.conformant else 0.0,
        detections=float(sim.detections),
        false_alarm_fraction=sim.false_alarms / sim.detections if sim.detections else 0.0,
        tracks=float(summary.tracks),
    )
    if score is not None:
        row.update(gospa_m=float(score.gospa_m), id_switches=float(score.id_switches))
    row.update(_intel_scores(run_dir, tracks_csv))
    if not member.keep_run:
        shutil.rmtree(run_dir)
        tracks_csv.unlink()
    return {
        k: (round(v, 6) if isinstance(v, float) and math.isfinite(v) else v) for k, v in row.items()
    }


# --------------------------------------------------------------------------- the campaign


def _result_path(out_dir: Path, member: Member) -> Path:
    return out_dir / "members" / member.member_id / "result.json"


def _row(member: Member, outcome: dict[str, Any] | Failure) -> dict[str, Any]:
    row: dict[str, Any] = {
        "member_id": member.member_id,
        "seed_index": member.seed_index,
        "seed": member.seed,
        **{name: value for name, value in member.params},
    }
    if isinstance(outcome, Failure):
        row.update(status="failed", error=str(outcome))
        row.update({name: math.nan for name in METRICS})
    else:
        row.update(status="ok", error="")
        row.update(outcome)
    return row


def _write_result(out_dir: Path, member: Member, row: dict[str, Any]) -> None:
    path = _result_path(out_dir, member)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(row, sort_keys=True, allow_nan=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def _done(out_dir: Path, member: Member) -> dict[str, Any] | None:
    path = _result_path(out_dir, member)
    if not path.is_file():
        return None
    try:
        row: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # half-written: run the member again
    return row if row.get("status") == "ok" and row.get("member_id") == member.member_id else None


ProgressFn = Callable[[int, int, dict[str, Any]], None]


def run_campaign(
    spec: CampaignSpec,
    out_dir: str | Path,
    *,
    executor: Executor | None = None,
    progress: ProgressFn | None = None,
) -> CampaignResult:
    """Run every member not already done; write ``results.parquet`` and the report."""
    from standoff.scale.report import write_campaign_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "campaign.json").write_text(
        json.dumps(asdict(spec), indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )
    members = members_of(spec, out)
    rows: dict[str, dict[str, Any]] = {}
    todo: list[Member] = []
    for m in members:
        done = _done(out, m)
        if done is not None:
            rows[m.member_id] = done
        else:
            todo.append(m)
    skipped = len(rows)
    if progress is not None:
        progress(skipped, len(members), {})
    ex = executor or InProcessExecutor()
    for i, outcome in _iterate(ex, todo):
        member = todo[i]
        row = _row(member, outcome)
        _write_result(out, member, row)
        rows[member.member_id] = row
        if progress is not None:
            progress(len(rows), len(members), row)
    ordered = tuple(rows[m.member_id] for m in members)
    results_path = _write_table(out / "results.parquet", ordered, spec)
    report_path = write_campaign_report(out, spec, ordered, METRICS)
    return CampaignResult(
        out_dir=out,
        members=len(members),
        ran=len(todo),
        skipped=skipped,
        failed=sum(1 for r in ordered if r["status"] != "ok"),
        results_path=results_path,
        report_path=report_path,
        rows=ordered,
    )


def _iterate(ex: Executor, todo: list[Member]) -> Iterator[tuple[int, Any]]:
    yield from ex.map_unordered(run_member, todo)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def _write_table(path: Path, rows: tuple[dict[str, Any], ...], spec: CampaignSpec) -> Path:
    """The results as Parquet, one row per member, in member order (same bytes for the same
    results, whatever ran them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    params = [name for name, _ in spec.sweep]
    columns: dict[str, Any] = {
        "member_id": pa.array([r["member_id"] for r in rows], pa.string()),
        "seed_index": pa.array([r["seed_index"] for r in rows], pa.int64()),
        "seed": pa.array([r["seed"] for r in rows], pa.int64()),
    }
    for name in params:
        values = [r.get(name) for r in rows]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            columns[name] = pa.array([_number(v) for v in values], pa.float64())
        else:
            columns[name] = pa.array([json.dumps(v) for v in values], pa.string())
    columns["status"] = pa.array([r["status"] for r in rows], pa.string())
    columns["error"] = pa.array([r["error"] for r in rows], pa.string())
    for name in METRICS:
        columns[name] = pa.array([_number(r.get(name)) for r in rows], pa.float64())
    table = pa.table(columns)
    meta = {"standoff.campaign": json.dumps({"name": spec.name, "metrics": METRICS})}
    table = table.replace_schema_metadata(meta)
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)
    return path
