#!/usr/bin/env python3
"""Planner benchmark: Standoff's planner against a naive baseline on border AOIs.

For each AOI (an 80 km x 25 km box south of the US-Mexico border at a border town, from
Tijuana to Matamoros), plan a sortie from the nearest base and measure planning time and
coverage efficiency (covered / coverable, priority-weighted area).  The baseline is what a
planner without optimisation would fly: one circular orbit at the legal point closest to the
AOI (the flyable region's point nearest the AOI's centroid, pulled in by the turn radius),
scored against the same coverable region.

Run: ``python benchmarks/bench_plan.py [--out benchmarks/results/plan.json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import shapely
import yaml
from shapely.geometry import Point
from shapely.ops import nearest_points

from standoff.airspace import Airspace
from standoff.geo.frame import LocalFrame
from standoff.plan import DEMO_MISSION_YAML, parse_mission, plan_mission
from standoff.plan.planner import PlannerOptions

TOWNS = [
    # name, border lon, border lat (approximate crossing)
    ("tijuana", -117.03, 32.54),
    ("tecate", -116.63, 32.57),
    ("mexicali", -115.45, 32.66),
    ("san-luis", -114.78, 32.48),
    ("sonoyta", -112.87, 31.86),
    ("sasabe", -111.54, 31.48),
    ("nogales", -110.94, 31.33),
    ("agua-prieta", -109.55, 31.33),
    ("palomas", -107.63, 31.78),
    ("juarez", -106.45, 31.75),
    ("ojinaga", -104.42, 29.56),
    ("acuna", -100.93, 29.33),
    ("piedras-negras", -100.52, 28.70),
    ("nuevo-laredo", -99.51, 27.50),
    ("reynosa", -98.28, 26.08),
    ("matamoros", -97.50, 25.87),
]
BASES = {
    "KNZY": (-117.213, 32.698),
    "KNYL": (-114.606, 32.656),
    "KFHU": (-110.344, 31.588),
    "KBIF": (-106.380, 31.850),
    "KDLF": (-100.778, 29.359),
    "KNGP": (-97.290, 27.693),
}


def _mission(name: str, lon: float, lat: float) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(DEMO_MISSION_YAML)
    base = min(BASES, key=lambda k: (BASES[k][0] - lon) ** 2 + (BASES[k][1] - lat) ** 2)
    # An 80 km (east-west) by 25 km box whose north edge is 3 km south of the border town:
    # wider than one orbit's sensor reach, as a smuggling corridor along the border is.
    dlon = 40.0 / (111.32 * 0.87)
    north = lat - 3.0 / 111.0
    south = north - 25.0 / 111.0
    doc.update(
        name=f"bench-{name}",
        base=base,
        on_station_s=4 * 3600,
        aoi=[
            {
                "name": name,
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [lon - dlon, south],
                            [lon + dlon, south],
                            [lon + dlon, north],
                            [lon - dlon, north],
                            [lon - dlon, south],
                        ]
                    ],
                },
            }
        ],
    )
    return doc


def _baseline(air: Airspace, doc: dict[str, Any], coverable_m2: float) -> float:
    """Coverage efficiency of one circle at the legal point closest to the AOI."""
    req = parse_mission(doc, source="bench")
    opt = PlannerOptions()
    aoi = req.aois[0].geometry
    frame = LocalFrame(aoi.centroid.x, aoi.centroid.y)
    radius = req.aircraft.turn_radius_m()
    reach = max(s.ground_reach_m(req.altitude_m) for s in req.sensors)
    window = aoi.buffer(3.0)
    permitted = frame.geometry_to_xy(
        shapely.intersection(air.permitted_polygon(req.operator), window)
    )
    keep = req.margin_m * (1 + opt.safety_fraction) + opt.safety_m
    flyable = permitted.buffer(-keep)
    axis_region = flyable.buffer(-(radius * (1 + opt.safety_fraction) + 50.0))
    aoi_xy = frame.geometry_to_xy(aoi)
    centre = nearest_points(axis_region, aoi_xy.centroid)[0]
    coverable = shapely.intersection(aoi_xy, flyable.buffer(reach))
    covered = shapely.intersection(coverable, Point(centre).buffer(radius + reach)).area
    return covered / coverable.area if coverable.area > 0 else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/plan.json"))
    args = parser.parse_args()
    air = Airspace.load()
    air.clearance_m([-110.0], [31.6], "USA")  # warm the operator's index once
    rows: list[dict[str, Any]] = []
    for name, lon, lat in TOWNS:
        doc = _mission(name, lon, lat)
        start = time.perf_counter()
        plan = plan_mission(air, parse_mission(doc, source="bench"))
        seconds = time.perf_counter() - start
        cov = plan.coverage[0]
        base_ce = _baseline(air, doc, cov.coverable_m2)
        rows.append(
            {
                "aoi": name,
                "base": plan.base_icao,
                "planning_s": round(seconds, 3),
                "orbits": len(plan.orbits),
                "coverable_fraction": round(cov.coverable_fraction, 3),
                "coverage_efficiency": round(cov.coverage_efficiency, 3),
                "baseline_coverage_efficiency": round(base_ce, 3),
                "min_clearance_m": round(plan.min_clearance_m, 1),
                "margin_m": plan.margin_m,
            }
        )
        r = rows[-1]
        print(
            f"{name:<15} {r['base']}  {r['planning_s']:6.2f} s  orbits {r['orbits']}  "
            f"coverable {r['coverable_fraction']:.2f}  CE {r['coverage_efficiency']:.3f}  "
            f"baseline CE {r['baseline_coverage_efficiency']:.3f}  "
            f"min clearance {r['min_clearance_m']:,.0f} m"
        )
    summary = {
        "missions": len(rows),
        "planning_s_median": round(statistics.median(r["planning_s"] for r in rows), 3),
        "planning_s_max": round(max(r["planning_s"] for r in rows), 3),
        "coverage_efficiency_min": min(r["coverage_efficiency"] for r in rows),
        "coverage_efficiency_mean": round(
            statistics.mean(r["coverage_efficiency"] for r in rows), 3
        ),
        "baseline_coverage_efficiency_mean": round(
            statistics.mean(r["baseline_coverage_efficiency"] for r in rows), 3
        ),
        "min_clearance_m_min": min(r["min_clearance_m"] for r in rows),
    }
    print(json.dumps(summary, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "missions": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
