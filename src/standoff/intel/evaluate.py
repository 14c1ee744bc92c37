"""Scoring findings against a simulated run's truth (``world.geojson``, ``truth.csv``,
``detection_truth.csv``).  Used for evaluation only, never by the analysis.

* **sites**: a found site is correct when a true site lies within ``site_match_m``;
  precision = correct / found, recall = true sites with a found site / true sites.  Each found
  site that is not correct is listed with the number of vehicles (of any kind, background
  traffic included) that stood still within ``site_match_m`` of it, and
  ``precision_any_stopping_place`` also counts as correct those where at least two did: the
  analysis found a real stopping place, not a site of interest.  Recall is
  also given over *observable* true sites: ones that were visited (a site-visit vehicle stood
  still within ``site_match_m``) and where the sensors made at least one true detection within
  ``site_match_m``: a site nobody visited, or that no sensor looked at, cannot be found.
* **routes**: a true route is recalled when one corridor lies within ``route_match_m`` of
  ``route_share`` of its length; the observable variant scores only the part of the route
  within ``route_match_m`` of a true detection of a convoy vehicle.  Precision: the share
  of corridors at least ``corridor_on_route`` of whose line lies within ``route_match_m`` of
  a true route (any of them).
* **approaches**: a convoy vehicle leaving the world at a border point is an event; it is
  recalled by a border approach within ``approach_match_m`` and ``approach_match_s``;
  observable events are those whose vehicle was detected in the ``approach_match_s`` before.
* **alerts**: a true route *changed* when its convoy vehicles' departures per day in the
  change test's window (the alerts' own, else the analysis' default: the last third of the
  run, at most 7 days) and before it differ by a factor of ``change_factor`` or more, with
  ``change_min_departures`` on the busier side (a route whose convoys stop is a
  decrease).  A changed route is found when an alert of its direction is on a corridor on
  it (``corridor_on_route`` of the corridor's line within ``route_match_m`` of the route);
  an alert is correct when it is such an alert.  Recall is over changed routes, precision
  over the alerts raised (an alert elsewhere counts against it even when the activity it
  counts did change by chance).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from standoff.core.errors import InputError
from standoff.domain.findings import Findings
from standoff.intel.analyse import AnalysisParams
from standoff.intel.io import RunInfo, read_detections

__all__ = ["EvalParams", "evaluate"]


@dataclass(frozen=True)
class EvalParams:
    site_match_m: float = 250.0
    route_match_m: float = 500.0
    route_share: float = 0.8
    corridor_on_route: float = 0.5
    approach_match_m: float = 1500.0
    approach_match_s: float = 900.0
    change_factor: float = 2.0
    change_min_departures: int = 4
    """A change needs this many convoy departures on its busier side (before the window or
    in it): from fewer, no rate can be told from none by chance (Poisson: P(0 | 4) = 2 %)."""


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else round(num / den, 3)


def _world(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "world.geojson"
    if not path.is_file():
        raise InputError("the run has no truth to evaluate against", source=str(path))
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", source=str(path), row=exc.lineno) from exc
    return doc


def evaluate(
    findings: Findings, run_dir: str | Path, info: RunInfo, p: EvalParams = EvalParams()
) -> dict[str, Any]:
    run = Path(run_dir)
    world = _world(run)
    feats = world.get("features", [])

    def xy(coords: Any) -> np.ndarray:
        a = np.asarray(coords, dtype=float).reshape(-1, 2)
        x, y = info.frame.to_xy(a[:, 0], a[:, 1])
        return np.column_stack([x, y])

    true_sites = [f for f in feats if f["properties"].get("kind") == "site"]
    true_routes = [f for f in feats if f["properties"].get("kind") == "route"]
    truth = pd.read_csv(run / "truth.csv")
    truth["t_s"] = (
        pd.to_datetime(truth["time"], utc=True, format="ISO8601") - pd.Timestamp(info.start_utc)
    ).dt.total_seconds()
    tx, ty = info.frame.to_xy(truth["lon"].to_numpy(float), truth["lat"].to_numpy(float))
    det = read_detections(run / "detections.csv", info)
    link = pd.read_csv(run / "detection_truth.csv")
    det_truth = (
        pd.Series(link["truth_id"].to_numpy(), index=link["det_id"].to_numpy())
        .reindex(det.det_id)
        .to_numpy(float)
    )
    true_det = np.isfinite(det_truth) & (det_truth >= 0)
    det_tree = cKDTree(np.column_stack([det.x_m[true_det], det.y_m[true_det]]))

    # Sites.
    s_xy = (
        xy([f["geometry"]["coordinates"] for f in true_sites]) if true_sites else np.zeros((0, 2))
    )
    f_xy = (
        xy([[s.lon_deg, s.lat_deg] for s in findings.sites]) if findings.sites else np.zeros((0, 2))
    )
    d = np.hypot(f_xy[:, None, 0] - s_xy[None, :, 0], f_xy[:, None, 1] - s_xy[None, :, 1])
    hit = d <= p.site_match_m
    parked = truth["speed_mps"].to_numpy(float) == 0  # any vehicle standing still
    stopped = parked & (truth["kind"].to_numpy() == "site_visit")
    visited = np.zeros(len(s_xy), dtype=bool)
    if len(s_xy) and stopped.any():
        visited = (
            np.asarray(cKDTree(np.column_stack([tx[stopped], ty[stopped]])).query(s_xy)[0])
            <= p.site_match_m
        )
    looked = np.asarray(det_tree.query(s_xy)[0]) <= p.site_match_m if len(s_xy) else visited
    observable = np.asarray(visited & looked, dtype=bool)
    found_true = np.asarray(hit.any(axis=0) if len(f_xy) else np.zeros(len(s_xy), bool), dtype=bool)
    # A found site away from every true site may still be a real stopping place (a junction
    # where passing traffic parks): count the vehicles that stood still near it.
    correct = hit.any(axis=1)
    parked_ids = truth["truth_id"].to_numpy()[parked]
    parked_tree = cKDTree(np.column_stack([tx[parked], ty[parked]])) if parked.any() else None
    others: dict[str, Any] = {}
    for i in np.flatnonzero(~correct):
        near = parked_tree.query_ball_point(f_xy[i], p.site_match_m) if parked_tree else []
        others[findings.sites[i].id] = {
            "nearest_true_site_m": round(float(d[i].min()), 1) if len(s_xy) else None,
            "vehicles_parked_nearby": len(np.unique(parked_ids[np.asarray(near, int)])),
        }
    dwell_places = sum(o["vehicles_parked_nearby"] >= 2 for o in others.values())
    sites = {
        "found": len(f_xy),
        "true": len(s_xy),
        "observable": int(observable.sum()),
        "precision": _ratio(int(correct.sum()), len(f_xy)),
        "recall": _ratio(int(found_true.sum()), len(s_xy)),
        "recall_observable": _ratio(int((found_true & observable).sum()), int(observable.sum())),
        "precision_any_stopping_place": _ratio(int(correct.sum()) + dwell_places, len(f_xy)),
        "not_true_sites": others,
        "per_site": {
            f["properties"]["name"]: {
                "found": bool(found_true[i]),
                "observable": bool(observable[i]),
                "nearest_m": None if not len(f_xy) else round(float(d[:, i].min()), 1),
            }
            for i, f in enumerate(true_sites)
        },
    }

    # Routes.
    convoy = truth["kind"].to_numpy() == "convoy"
    convoy_ids = np.unique(truth["truth_id"].to_numpy()[convoy])
    convoy_det = np.isin(det_truth, convoy_ids)
    cdet = np.column_stack([det.x_m[convoy_det], det.y_m[convoy_det]])
    corridor_lines = [shapely.LineString(xy(c.path_lonlat_deg)) for c in findings.corridors]
    per_route: dict[str, Any] = {}
    rec = rec_obs = n_obs_routes = 0
    route_lines = [shapely.LineString(xy(f["geometry"]["coordinates"])) for f in true_routes]
    for f, line in zip(true_routes, route_lines, strict=True):
        pts = shapely.line_interpolate_point(line, np.arange(0.0, line.length, 50.0))
        pxy = shapely.get_coordinates(pts)
        seen = (
            np.asarray(cKDTree(cdet).query(pxy)[0]) <= p.route_match_m
            if len(cdet)
            else np.zeros(len(pxy), bool)
        )
        best = best_obs = 0.0
        for cl in corridor_lines:
            near = shapely.distance(pts, cl) <= p.route_match_m
            best = max(best, float(near.mean()))
            if seen.any():
                best_obs = max(best_obs, float(near[seen].mean()))
        rec += best >= p.route_share
        if seen.sum() >= 10:
            n_obs_routes += 1
            rec_obs += best_obs >= p.route_share
        per_route[f["properties"]["name"]] = {
            "covered_share": round(best, 3),
            "observed_share": round(float(seen.mean()), 3),
            "covered_share_of_observed": round(best_obs, 3),
        }
    # A corridor is on a true route when most of its line lies within route_match_m of one
    # (of any route): the rest follow passing traffic, or none drove them.
    if route_lines and corridor_lines:
        near_routes = shapely.union_all(shapely.buffer(route_lines, p.route_match_m))
        on_route = sum(
            shapely.intersection(cl, near_routes).length >= p.corridor_on_route * cl.length
            for cl in corridor_lines
        )
    else:
        on_route = 0
    routes = {
        "true": len(true_routes),
        "corridors": len(corridor_lines),
        "corridors_on_a_route": int(on_route),
        "precision": _ratio(int(on_route), len(corridor_lines)),
        "recall": _ratio(rec, len(true_routes)),
        "observable": n_obs_routes,
        "recall_observable": _ratio(rec_obs, n_obs_routes),
        "per_route": per_route,
    }

    # Border approach events: the last truth row of each convoy vehicle.
    tr = truth.loc[convoy].sort_values(["truth_id", "t_s"])
    last = tr.groupby("truth_id").tail(1)
    ex, ey = info.frame.to_xy(last["lon"].to_numpy(float), last["lat"].to_numpy(float))
    et = last["t_s"].to_numpy(float)
    ends_in_run = et < info.duration_s - 120.0
    ex, ey, et, eid = (
        ex[ends_in_run],
        ey[ends_in_run],
        et[ends_in_run],
        last["truth_id"].to_numpy()[ends_in_run],
    )
    det_t_by_truth = pd.Series(det.t_s[convoy_det]).groupby(det_truth[convoy_det]).max()
    last_seen = det_t_by_truth.reindex(eid).to_numpy(float)
    obs_ev = np.isfinite(last_seen) & (et - last_seen <= p.approach_match_s)
    a_xy = (
        xy([[a.lon_deg, a.lat_deg] for a in findings.approaches])
        if findings.approaches
        else np.zeros((0, 2))
    )
    a_t = np.array([(a.time_utc - info.start_utc).total_seconds() for a in findings.approaches])
    if len(a_xy) and len(ex):
        dd = np.hypot(ex[:, None] - a_xy[None, :, 0], ey[:, None] - a_xy[None, :, 1])
        dt = np.abs(et[:, None] - a_t[None, :])
        match = ((dd <= p.approach_match_m) & (dt <= p.approach_match_s)).any(axis=1)
    else:
        match = np.zeros(len(ex), bool)
    approaches = {
        "events": len(ex),
        "observable": int(obs_ev.sum()),
        "found": len(a_xy),
        "recall": _ratio(int(match.sum()), len(ex)),
        "recall_observable": _ratio(int((match & obs_ev).sum()), int(obs_ev.sum())),
    }
    alerts = _alerts(findings, info, p, truth, tx, ty, true_routes, route_lines, corridor_lines)
    return {
        "run_id": findings.run_id,
        "sites": sites,
        "routes": routes,
        "approaches": approaches,
        "alerts": alerts,
    }


def _alerts(
    findings: Findings,
    info: RunInfo,
    p: EvalParams,
    truth: pd.DataFrame,
    tx: np.ndarray,
    ty: np.ndarray,
    true_routes: list[dict[str, Any]],
    route_lines: list[shapely.LineString],
    corridor_lines: list[shapely.LineString],
) -> dict[str, Any]:
    """Change alerts against the routes whose convoys changed (see the module notes)."""
    end = info.duration_s
    if findings.alerts:
        w0 = (findings.alerts[0].window_start_utc - info.start_utc).total_seconds()
    else:
        w0 = end - AnalysisParams().window_s(end)
    # Each convoy vehicle's departure (its first truth row) goes to the route whose start is
    # nearest, ties (routes from one site) to the route nearest its last row.
    convoy = truth["kind"].to_numpy() == "convoy"
    rows = pd.DataFrame(
        {
            "id": truth["truth_id"].to_numpy()[convoy],
            "t": truth["t_s"].to_numpy()[convoy],
            "x": tx[convoy],
            "y": ty[convoy],
        }
    ).sort_values(["id", "t"])
    first = rows.groupby("id").head(1)
    last = rows.groupby("id").tail(1)
    per_route: dict[str, Any] = {}
    changed: list[tuple[int, str]] = []
    if route_lines and len(first):
        starts = np.array([ln.coords[0] for ln in route_lines])
        d0 = np.hypot(
            first["x"].to_numpy()[:, None] - starts[None, :, 0],
            first["y"].to_numpy()[:, None] - starts[None, :, 1],
        )
        d1 = shapely.distance(
            shapely.points(last["x"].to_numpy(), last["y"].to_numpy())[:, None],
            np.asarray(route_lines, dtype=object)[None, :],
        )
        route_of = np.argmin(d0 + d1, axis=1)
        t = first["t"].to_numpy()
        for k, f in enumerate(true_routes):
            mine = t[route_of == k]
            n_before, n_during = int((mine <= w0).sum()), int((mine > w0).sum())
            before = n_before / max(w0 / 86400.0, 1e-9)
            during = n_during / max((end - w0) / 86400.0, 1e-9)
            direction = None
            if max(n_before, n_during) < p.change_min_departures:
                pass
            elif before >= p.change_factor * during:
                direction = "decrease"
            elif during >= p.change_factor * max(before, 1e-9):
                direction = "increase"
            if direction is not None:
                changed.append((k, direction))
            per_route[f["properties"]["name"]] = {
                "departures_per_day_before": round(before, 2),
                "departures_per_day_in_window": round(during, 2),
                "changed": direction,
            }
    # Which true route each corridor lies on (most of its line within route_match_m).
    on: dict[str, set[int]] = {}
    for c, cl in zip(findings.corridors, corridor_lines, strict=True):
        on[c.id] = {
            k
            for k, rl in enumerate(route_lines)
            if shapely.intersection(cl, rl.buffer(p.route_match_m)).length
            >= p.corridor_on_route * cl.length
        }
    correct = [
        a
        for a in findings.alerts
        if any(k in on.get(a.subject_id, set()) and a.direction == d for k, d in changed)
    ]
    found = {
        k
        for k, d in changed
        for a in findings.alerts
        if a.direction == d and k in on.get(a.subject_id, set())
    }
    for k, _ in changed:
        per_route[true_routes[k]["properties"]["name"]]["alerted"] = k in found
    return {
        "raised": len(findings.alerts),
        "window_start_s": round(w0, 1),
        "true_changes": len(changed),
        "found": len(found),
        "recall": _ratio(len(found), len(changed)),
        "correct": len(correct),
        "precision": _ratio(len(correct), len(findings.alerts)),
        "per_route": per_route,
    }
