"""Analytics accuracy over many worlds: the demo mission flown over re-seeded demo scenarios.

The demo run is one world.  Its road network, traffic, convoy routes (the roads they take)
and sensor noise all come from the scenario's seed, so one run says little about how the
analysis does in general.  This flies the demo plan over ``--worlds`` scenarios that differ
only in their seed (the demo's own seed first), tracks each run with the default tracker,
analyses it and scores it with ``standoff analyse --evaluate`` (site precision and recall,
route recall, approach recall).

For every true convoy route it also reports where the route was lost, from the run's truth
(evaluation only, never used by the analysis):

* ``observed``: the share of the route within 500 m of a true detection of a convoy vehicle
  (what the sensors saw: the ceiling for any analysis);
* ``tracked``: the share within 500 m of an observed track row made from a convoy vehicle's
  detection (what the tracker held);
* ``covered``: the share within 500 m of the best single corridor (what the analysis drew;
  a route is recalled at 0.8).

Corridor precision is the share of corridors most of whose line lies within 500 m of a true
route (``routes.precision`` of the evaluation), with the number of corridors.

    .venv/bin/python benchmarks/bench_intel_accuracy.py [--worlds 12] [--workers 2]
        [--work DIR] [--mission MISSION.yaml] [--first-seed N]
        [--sweep aimed|stepped|interleaved] [--radar-aim aois|planned]
        [--no-scans] [--untipped SITE,...] [--sorties N] [--reanalyse]
        [--out benchmarks/results_intel_accuracy.md]

``--sweep`` sets the scenario's ``sensors.gmti.sweep``; ``--no-scans`` tracks without the
run's scan footprints (every scan counts a miss for every track, as before they existed);
``--untipped site-bravo,site-charlie`` leaves those sites out of the mission's look points
and the camera's cue list (nobody told the operation about them: only the radar can find
them), and reports how many tipped and untipped sites were found; ``--sorties 1`` flies
one night instead of the demo's four (the same roads; traffic and visits are drawn for the
shorter run, so its night is not the four-night run's first).  ``--reanalyse`` scores the
runs kept in ``--work`` by an earlier run again, without simulating or tracking them: for a
change to the analysis alone (pass the options the runs were made with, for the header).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
import yaml
from scipy.spatial import cKDTree

DEMO_SEED = 20260320
ROUTE_MATCH_M = 500.0


def _sites() -> dict[str, tuple[float, float]]:
    """The demo scenario's sites: name -> (lon, lat)."""
    from standoff.sim import DEMO_SCENARIO_YAML

    doc = yaml.safe_load(DEMO_SCENARIO_YAML)
    return {s["name"]: (float(s["lon_deg"]), float(s["lat_deg"])) for s in doc["sites"]}


def _plan(
    work: Path, mission: Path | None, untipped: tuple[str, ...] = (), radar_aim: str | None = None
) -> Path:
    """Plan the mission once; the look points at ``untipped`` sites are left out (nobody
    told the operation about those sites); ``radar_aim`` overrides the mission's."""
    from standoff.airspace import Airspace
    from standoff.pipeline import run_plan
    from standoff.plan.demo import DEMO_MISSION_YAML

    plan = work / "plan"
    plan.mkdir(parents=True, exist_ok=True)
    text = DEMO_MISSION_YAML if mission is None else mission.read_text(encoding="utf-8")
    if radar_aim is not None or untipped:
        doc = yaml.safe_load(text)
        if radar_aim is not None:
            doc["radar_aim"] = radar_aim
        where = {_sites()[name] for name in untipped}
        doc["look_points"] = [
            lp
            for lp in doc.get("look_points", [])
            if (float(lp["lon_deg"]), float(lp["lat_deg"])) not in where
        ]
        text = yaml.safe_dump(doc, sort_keys=False)
    (plan / "mission.yaml").write_text(text, encoding="utf-8")
    run_plan(Airspace.load(), plan / "mission.yaml", plan)
    return plan / "plan.json"


def _tracked_share(run: Path, tracks_csv: Path) -> dict[str, float]:
    """Per true route: the share of it within ROUTE_MATCH_M of a convoy vehicle's track row."""
    from standoff.intel import read_run, read_tracks

    info = read_run(run)
    tr = read_tracks(tracks_csv, info)
    obs = tr.select(tr.observed)
    link = pd.read_csv(run / "detection_truth.csv")
    truth = pd.read_csv(run / "truth.csv", usecols=["truth_id", "kind"])
    kind = truth.drop_duplicates("truth_id").set_index("truth_id")["kind"]
    tid = pd.Series(link["truth_id"].to_numpy(), index=link["det_id"].to_numpy())
    convoy = kind.reindex(tid.reindex(obs.det_id).to_numpy()).to_numpy() == "convoy"
    world = json.loads((run / "world.geojson").read_text(encoding="utf-8"))
    tree = cKDTree(np.column_stack([obs.x_m[convoy], obs.y_m[convoy]])) if convoy.any() else None
    out: dict[str, float] = {}
    for f in world["features"]:
        if f["properties"].get("kind") != "route":
            continue
        c = np.asarray(f["geometry"]["coordinates"], dtype=float)
        x, y = info.frame.to_xy(c[:, 0], c[:, 1])
        line = shapely.LineString(np.column_stack([x, y]))
        pts = shapely.get_coordinates(
            shapely.line_interpolate_point(line, np.arange(0.0, line.length, 50.0))
        )
        share = 0.0 if tree is None else float((tree.query(pts)[0] <= ROUTE_MATCH_M).mean())
        out[f["properties"]["name"]] = round(share, 3)
    return out


def _sorties(text: str, n: int) -> str:
    """The scenario flown on ``n`` nights (the demo's sortie every day, the world as long)."""
    doc = yaml.safe_load(text)
    every = float(doc["flight"].get("sortie_every_s", 86400.0))
    first = float(doc["duration_s"]) - (int(doc["flight"].get("sorties", 1)) - 1) * every
    text, k = re.subn(r"^duration_s: [0-9.]+", f"duration_s: {first + (n - 1) * every:.0f}",
                      text, flags=re.M)  # fmt: skip
    text, j = re.subn(r"sorties: [0-9]+", f"sorties: {n}", text)
    if k != 1 or j != 1:
        raise SystemExit("the demo scenario has no one-line duration_s and flight.sorties")
    return text


def one_world(
    args: tuple[Path, Path, int, str, bool, tuple[str, ...], int | None, bool],
) -> dict[str, Any]:
    """Simulate, track, analyse and score one re-seeded world (with ``reanalyse``, analyse
    and score the world's kept run and tracks again)."""
    from standoff.pipeline import run_analysis

    plan_json, work, seed, sweep, scans, untipped, sorties, reanalyse = args
    out = work / f"world-{seed}"
    started = time.perf_counter()
    if not reanalyse:
        _simulate_and_track(out, plan_json, seed, sweep, scans, untipped, sorties)
    elif not (out / "tracks" / "tracks.csv").is_file():
        raise SystemExit(f"--reanalyse: no kept run in {out} (run once with --work first)")
    summary = run_analysis(
        out / "run", out / "tracks" / "tracks.csv", out / "products", evaluate=True
    )
    ev = summary["evaluation"]
    ev["sites"]["untipped"] = list(untipped)
    tracked = _tracked_share(out / "run", out / "tracks" / "tracks.csv")
    for name, share in tracked.items():
        ev["routes"]["per_route"][name]["tracked_share"] = share
    return {"seed": seed, "seconds": time.perf_counter() - started, "evaluation": ev}


def _simulate_and_track(
    out: Path,
    plan_json: Path,
    seed: int,
    sweep: str,
    scans: bool,
    untipped: tuple[str, ...],
    sorties: int | None,
) -> None:
    from standoff.airspace import Airspace
    from standoff.pipeline import run_simulation
    from standoff.sim import DEMO_SCENARIO_YAML
    from standoff.track import track_file

    out.mkdir(parents=True, exist_ok=True)
    scenario = out / "scenario.yaml"
    text = re.sub(r"^seed: .*$", f"seed: {seed}", DEMO_SCENARIO_YAML, flags=re.M)
    text, n = re.subn(r"^(  gmti: \{)", rf"\1sweep: {sweep}, ", text, flags=re.M)
    if n != 1:
        raise SystemExit("the demo scenario has no one-line gmti settings to add the sweep to")
    if untipped:  # the camera is cued at the tipped sites only
        doc = yaml.safe_load(text)
        cue = [c for c in doc["sensors"]["eoir"]["cue"] if c not in untipped]
        text, n = re.subn(
            r"^(  eoir: \{cue: )\[[^]]*\]", rf"\1[{', '.join(cue)}]", text, flags=re.M
        )
        if n != 1:
            raise SystemExit("the demo scenario has no one-line eoir cue list to edit")
    if sorties is not None:
        text = _sorties(text, sorties)
    scenario.write_text(text, encoding="utf-8")
    run_simulation(Airspace.load(), plan_json, scenario, out / "run")
    (out / "tracks").mkdir(exist_ok=True)
    track_file(out / "run" / "detections.csv", out / "tracks" / "tracks.csv", scans=scans)


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def _alerts(a: dict[str, Any] | None) -> str:
    """``found of changes; correct of raised`` for one world's change alerts."""
    if a is None:
        return ""
    return f"{a['found']} of {a['true_changes']}; {a['correct']} of {a['raised']}"


def _alert_totals(results: list[dict[str, Any]]) -> str:
    al = [r["evaluation"]["alerts"] for r in results if "alerts" in r["evaluation"]]
    if not al:
        return ""
    changes = sum(a["true_changes"] for a in al)
    quiet = [a for a in al if a["true_changes"] == 0]
    return (
        f" Change alerts: {sum(a['found'] for a in al)} of {changes} true changes found "
        f"(a route whose convoys changed their rate by 2x or more in the test window), "
        f"{sum(a['correct'] for a in al)} of {sum(a['raised'] for a in al)} alerts raised on "
        "one"
        + (
            f"; {sum(a['raised'] == 0 for a in quiet)} of {len(quiet)} worlds without a change "
            "raised none"
            if quiet
            else ""
        )
        + "."
    )


def report(
    results: list[dict[str, Any]], wall_s: float, mission: Path | None = None, options: str = ""
) -> str:
    rows = []
    routes: dict[str, list[tuple[float, float, float]]] = {}
    for r in results:
        e = r["evaluation"]
        s, ro, a = e["sites"], e["routes"], e["approaches"]
        per = ro["per_route"]
        for name, v in per.items():
            routes.setdefault(name, []).append(
                (v["observed_share"], v.get("tracked_share", float("nan")), v["covered_share"])
            )
        demo = " (demo)" if r["seed"] == DEMO_SEED else ""
        rows.append(
            f"| {r['seed']}{demo} | {_fmt(s['precision'])} | {_fmt(s['recall'])} "
            f"| {_fmt(s['precision_any_stopping_place'])} | {_fmt(ro['recall'])} "
            f"| {_fmt(ro.get('precision'))} ({ro['corridors']}) | "
            + " | ".join(
                f"{v['observed_share']:.2f} / {v.get('tracked_share', float('nan')):.2f} / "
                f"{v['covered_share']:.2f}"
                for v in per.values()
            )
            + f" | {_fmt(a['recall_observable'])} | {_alerts(e.get('alerts'))} |"
        )
    names = list(routes)
    tips = [
        (site["found"], name in r["evaluation"]["sites"].get("untipped", []))
        for r in results
        for name, site in r["evaluation"]["sites"]["per_site"].items()
    ]
    tipped_found = [found for found, untipped in tips if not untipped]
    untipped_found = [found for found, untipped in tips if untipped]

    def mean(key: str, sub: str) -> float:
        vals = [r["evaluation"][key][sub] for r in results]
        return float(np.mean([v for v in vals if v is not None]))

    lines = [
        "# Analytics accuracy over re-seeded demo worlds",
        "",
        f"`benchmarks/bench_intel_accuracy.py --worlds {len(results)}"
        + ("" if mission is None else f" --mission {mission.name}")
        + options
        + "`: the demo plan flown over "
        f"{len(results)} demo scenarios that differ only in their seed; default tracker and "
        f"analysis; {wall_s:.0f} s wall on {platform.machine()}, Python "
        f"{platform.python_version()}.",
        "",
        "Route columns: observed / tracked / covered share of the true route (see the script's "
        "docstring); a route is recalled when covered >= 0.8.",
        "",
        "| seed | site precision | site recall | precision (any stopping place) | route recall "
        "| corridor precision (corridors) | "
        + " | ".join(names)
        + " | approach recall (observable) | change alerts: changes found, correct alerts |",
        "|---|---:|---:|---:|---:|---:|" + "---|" * len(names) + "---:|---|",
        *rows,
        "",
        f"Means: site precision {mean('sites', 'precision'):.2f}, site recall "
        f"{mean('sites', 'recall'):.2f}, route recall {mean('routes', 'recall'):.2f}, "
        f"corridor precision {mean('routes', 'precision'):.2f}, "
        f"approach recall (observable) {mean('approaches', 'recall_observable'):.2f}."
        + (
            f" Sites found: {sum(tipped_found)} of {len(tipped_found)} tipped (a look point of "
            f"the mission, cued for the camera), {sum(untipped_found)} of "
            f"{len(untipped_found)} untipped."
            if untipped_found
            else ""
        )
        + _alert_totals(results),
        "",
        "| route | mean observed | mean tracked | mean covered | worlds observed >= 0.8 |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, vals in routes.items():
        arr = np.asarray(vals, dtype=float)
        lines.append(
            f"| {name} | {arr[:, 0].mean():.2f} | {np.nanmean(arr[:, 1]):.2f} | "
            f"{arr[:, 2].mean():.2f} | {int((arr[:, 0] >= 0.8).sum())} of {len(arr)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--work", type=Path, default=None, help="keep the runs here")
    ap.add_argument("--mission", type=Path, default=None, help="instead of the demo mission")
    ap.add_argument(
        "--first-seed",
        type=int,
        default=None,
        help="seeds FIRST..FIRST+worlds-1 instead of the demo's seed then 1..worlds-1",
    )
    ap.add_argument("--sweep", choices=("aimed", "stepped", "interleaved"), default="aimed")
    ap.add_argument(
        "--radar-aim",
        choices=("aois", "planned"),
        default=None,
        help="the mission's radar_aim: the sector on the AOIs in reach, or the planner's azimuths",
    )
    ap.add_argument("--no-scans", action="store_true", help="track without scan footprints")
    ap.add_argument(
        "--untipped",
        default="",
        help="comma-separated sites nobody tipped: no look point of the mission, no camera cue",
    )
    ap.add_argument(
        "--sorties", type=int, default=None, help="nights flown (default: the demo scenario's)"
    )
    ap.add_argument(
        "--reanalyse",
        action="store_true",
        help="analyse and score the runs kept in --work again (after an analysis change)",
    )
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results_intel_accuracy.md"))
    a = ap.parse_args()
    if a.reanalyse and a.work is None:
        ap.error("--reanalyse needs --work, the folder of the kept runs")
    if a.worlds < 1 or a.workers < 1:
        ap.error("--worlds and --workers must be at least 1")
    if a.sorties is not None and not 1 <= a.sorties <= 30:
        ap.error("--sorties must be 1 to 30")
    untipped = tuple(n for n in a.untipped.split(",") if n)
    unknown = sorted(set(untipped) - set(_sites()))
    if unknown:
        ap.error(f"--untipped: no site {unknown[0]!r} in the demo scenario")
    with tempfile.TemporaryDirectory() as tmp:
        work = a.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        plan_json = (
            work / "plan" / "plan.json"
            if a.reanalyse
            else _plan(work, a.mission, untipped, a.radar_aim)
        )
        seeds = (
            [DEMO_SEED, *range(1, a.worlds)]
            if a.first_seed is None
            else list(range(a.first_seed, a.first_seed + a.worlds))
        )
        with ProcessPoolExecutor(max_workers=a.workers) as pool:
            jobs = [
                (plan_json, work, s, a.sweep, not a.no_scans, untipped, a.sorties, a.reanalyse)
                for s in seeds
            ]
            results = list(pool.map(one_world, jobs))
        options = (
            (f" --first-seed {seeds[0]}" if a.first_seed is not None else "")
            + (f" --sweep {a.sweep}" if a.sweep != "aimed" else "")
            + (f" --radar-aim {a.radar_aim}" if a.radar_aim is not None else "")
            + (" --no-scans" if a.no_scans else "")
            + (f" --untipped {','.join(untipped)}" if untipped else "")
            + (f" --sorties {a.sorties}" if a.sorties is not None else "")
            + (" --reanalyse" if a.reanalyse else "")
        )
        text = report(results, time.perf_counter() - started, a.mission, options)
    a.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
