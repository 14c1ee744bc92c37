#!/usr/bin/env python3
"""Airspace benchmark: Standoff side by side with geopandas and shapely, in one process.

Measures, on this machine:

* owner lookup on N random points in the covered region (lon -125..-80, lat 10..37):
  Standoff's ``Airspace.owner_at`` against geopandas ``sjoin`` (predicate ``within``) and
  shapely 2 prepared ``contains_xy`` on the same polygons, with their agreement;
* the whole ``standoff airspace classify`` command (CSV in, owners and boundary distances,
  CSV out, process start included) on N rows;
* ``check_path`` on a 24 h track at 1 Hz (86,400 fixes): conformant, and with 144
  incursions.

Run: ``python benchmarks/bench_airspace.py [--points 1000000] [--repeat 3]``.  Needs the
``bench`` extra (geopandas).  Results are printed as a table and written as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from standoff.airspace import Airspace, FlightPath, check_path

REGION = (-125.0, 10.0, -80.0, 37.0)


def _best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best = float("inf")
    result: Any = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def bench_owner(air: Airspace, n: int, repeat: int, seed: int) -> dict[str, Any]:
    import geopandas as gpd

    rng = np.random.default_rng(seed)
    lon = rng.uniform(REGION[0], REGION[2], n)
    lat = rng.uniform(REGION[1], REGION[3], n)
    start = time.perf_counter()
    air._owner_grid()
    grid_build_s = time.perf_counter() - start

    t_ours, ours = _best_of(repeat, lambda: air.owner_at(lon, lat))

    states = gpd.GeoDataFrame(
        {"iso3": list(air.codes)}, geometry=list(air.geometries), crs="EPSG:4326"
    )

    def sjoin() -> np.ndarray:
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
        joined = gpd.sjoin(pts, states, how="left", predicate="within")
        joined = joined[~joined.index.duplicated(keep="first")]
        return np.asarray(joined["iso3"].fillna("INTL").to_numpy())

    t_sjoin, theirs = _best_of(repeat, sjoin)

    prepared = list(air.geometries)
    for geom in prepared:
        shapely.prepare(geom)

    def contains() -> np.ndarray:
        out = np.full(n, "INTL", dtype=object)
        for code, geom in zip(air.codes, prepared, strict=True):
            out[shapely.contains_xy(geom, lon, lat)] = code
        return out

    t_contains, _ = _best_of(repeat, contains)
    agree = float(np.mean(ours.astype(object) == theirs))
    return {
        "points": n,
        "grid_build_s": round(grid_build_s, 3),
        "standoff_points_per_s": round(n / t_ours),
        "geopandas_sjoin_points_per_s": round(n / t_sjoin),
        "shapely_prepared_contains_xy_points_per_s": round(n / t_contains),
        "ratio_vs_sjoin": round(t_sjoin / t_ours, 1),
        "ratio_vs_contains_xy": round(t_contains / t_ours, 1),
        "agreement_with_sjoin": agree,
    }


def bench_distance(air: Airspace, n: int, repeat: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed + 1)
    lon = rng.uniform(REGION[0], REGION[2], n)
    lat = rng.uniform(REGION[1], REGION[3], n)
    air.boundary_distance_m(lon[:10], lat[:10])
    t, _ = _best_of(repeat, lambda: air.boundary_distance_m(lon, lat))
    return {"points": n, "boundary_distance_points_per_s": round(n / t)}


def bench_classify(n: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed + 2)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "points.csv"
        out = Path(tmp) / "out.csv"
        ids = np.arange(n)
        lat = rng.uniform(REGION[1], REGION[3], n)
        lon = rng.uniform(REGION[0], REGION[2], n)
        with src.open("w") as fh:
            fh.write("id,lat,lon\n")
            np.savetxt(
                fh, np.column_stack([ids, lat, lon]), fmt=["%d", "%.6f", "%.6f"], delimiter=","
            )
        cmd = [
            sys.executable,
            "-m",
            "standoff.cli",
            "airspace",
            "classify",
            str(src),
            "--out",
            str(out),
            "--json",
        ]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        inner = json.loads(proc.stdout)
    return {
        "rows": n,
        "command_wall_s": round(wall, 2),
        "command_points_per_s": round(n / wall),
        "in_process_points_per_s": inner["points_per_s"],
    }


def bench_check(air: Airspace, repeat: int) -> dict[str, Any]:
    t = np.arange(0.0, 86_400.0)
    ang = 2 * np.pi * t / 600.0
    ok = FlightPath(-111.0 + 0.15 * np.cos(ang), 31.55 + 0.08 * np.sin(ang), t)
    bad = FlightPath(-111.0 + 0.15 * np.cos(ang), 31.40 + 0.08 * np.sin(ang), t)
    start = time.perf_counter()
    air._forbidden_model("USA")
    model_s = time.perf_counter() - start
    t_first, _ = _best_of(1, lambda: check_path(air, ok, "USA", 3_000.0))
    t_ok, r_ok = _best_of(repeat, lambda: check_path(air, ok, "USA", 3_000.0))
    t_bad, r_bad = _best_of(repeat, lambda: check_path(air, bad, "USA", 3_000.0))
    return {
        "fixes": len(t),
        "operator_model_build_s": round(model_s, 3),
        "conformant_first_call_s": round(t_first, 3),
        "conformant_s": round(t_ok, 3),
        "conformant_status": r_ok.status,
        "min_clearance_m": round(r_ok.min_clearance_m, 1),
        "with_incursions_s": round(t_bad, 3),
        "incursions": len(r_bad.incursions),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20260320)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/airspace.json"))
    args = parser.parse_args()
    start = time.perf_counter()
    air = Airspace.load()
    load_s = time.perf_counter() - start
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "load_s": round(load_s, 3),
        "owner": bench_owner(air, args.points, args.repeat, args.seed),
        "distance": bench_distance(air, args.points, args.repeat, args.seed),
        "classify": bench_classify(args.points, args.seed),
        "check_24h": bench_check(air, args.repeat),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    o, c, k = results["owner"], results["classify"], results["check_24h"]
    rows = [
        ("owner lookup, Standoff", f"{o['standoff_points_per_s']:,} points/s", "1.0x"),
        (
            "owner lookup, geopandas sjoin",
            f"{o['geopandas_sjoin_points_per_s']:,} points/s",
            f"1/{o['ratio_vs_sjoin']}",
        ),
        (
            "owner lookup, shapely prepared contains_xy",
            f"{o['shapely_prepared_contains_xy_points_per_s']:,} points/s",
            f"1/{o['ratio_vs_contains_xy']}",
        ),
        ("agreement with sjoin", f"{o['agreement_with_sjoin']:.6f}", ""),
        (
            "boundary distance (exact)",
            f"{results['distance']['boundary_distance_points_per_s']:,} points/s",
            "",
        ),
        (
            "classify command (CSV in/out, distances)",
            f"{c['command_points_per_s']:,} points/s ({c['command_wall_s']} s)",
            "",
        ),
        ("24 h track check, conformant", f"{k['conformant_s']} s", ""),
        ("24 h track check, 144 incursions", f"{k['with_incursions_s']} s", ""),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, ratio in rows:
        print(f"{name:<{width}}  {value:<36} {ratio}")
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
