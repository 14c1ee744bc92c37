"""Stop detection and site clustering: Standoff's vectorised detector vs movingpandas.

Data (seeded): ``--trajectories`` (1,000) trajectories of ``--points`` (1,000) points every
10 s in a metric CRS; each alternates driving (4-15 m/s, heading changing slowly) and stopping
(180-1,800 s, 5 m jitter) at one of 60 shared places, so the stops also make sites.

1. Standoff: :func:`standoff.intel.detect_stops` on all trajectories at once, then
   :func:`standoff.intel.cluster_points` on the stop centroids (site clustering).
2. movingpandas ``TrajectoryStopDetector(...).get_stop_segments`` on the same data (same
   ``max_diameter`` and ``min_duration``), on the first ``--peer-trajectories`` trajectories
   (movingpandas loops over points in Python; its time is also extrapolated linearly).

Agreement: the share of movingpandas stops overlapped in time by a Standoff stop on the same
trajectory (and the reverse).  Speed ratio: movingpandas time / Standoff time on the same
subset.  Figures go to ``benchmarks/results_intel.md``.

    .venv/bin/python benchmarks/bench_intel.py [--trajectories 1000] [--points 1000]
        [--peer-trajectories 1000] [--out benchmarks/results_intel.md]
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from standoff.intel import cluster_points, detect_stops

MAX_DIAMETER_M = 100.0
MIN_DURATION_S = 120.0
DT_S = 10.0


def synthetic(n_traj: int, n_pts: int, seed: int = 20260320) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    places = rng.uniform(0, 50_000, (60, 2))
    t = np.arange(n_pts) * DT_S
    rows = []
    for k in range(n_traj):  # data generation only; not timed
        x = np.empty(n_pts)
        y = np.empty(n_pts)
        i = 0
        pos = places[rng.integers(60)].copy()
        while i < n_pts:
            drive = int(rng.integers(30, 120))
            speed = rng.uniform(4, 15)
            heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.05, drive))
            steps = np.column_stack([np.cos(heading), np.sin(heading)]) * speed * DT_S
            path = pos + np.cumsum(steps, axis=0)
            m = min(drive, n_pts - i)
            x[i : i + m], y[i : i + m] = path[:m, 0], path[:m, 1]
            i += m
            pos = places[rng.integers(60)] + rng.normal(0, 10, 2)
            stay = int(rng.integers(18, 180))
            m = min(stay, n_pts - i)
            x[i : i + m] = pos[0] + rng.normal(0, 5, m)
            y[i : i + m] = pos[1] + rng.normal(0, 5, m)
            i += m
        rows.append(pd.DataFrame({"traj": k, "t_s": t, "x": x, "y": y}))
    return pd.concat(rows, ignore_index=True)


def standoff_stops(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    s = detect_stops(
        df["traj"].to_numpy(), df["t_s"].to_numpy(), df["x"].to_numpy(), df["y"].to_numpy(),
        max_diameter_m=MAX_DIAMETER_M, min_duration_s=MIN_DURATION_S,
    )  # fmt: skip
    labels = cluster_points(s.x_m, s.y_m, 150.0)
    out = pd.DataFrame({"traj": s.traj_id, "start_s": s.start_s, "end_s": s.end_s})
    return out, int(labels.max()) + 1 if len(labels) else 0


def movingpandas_stops(df: pd.DataFrame) -> pd.DataFrame:
    import geopandas as gpd
    import movingpandas as mpd

    t0 = pd.Timestamp("2026-03-20T00:00:00")
    gdf = gpd.GeoDataFrame(
        {"traj": df["traj"].to_numpy(), "t": t0 + pd.to_timedelta(df["t_s"], unit="s")},
        geometry=gpd.points_from_xy(df["x"] + 500_000.0, df["y"] + 3_500_000.0),
        crs="EPSG:32612",
    )
    tc = mpd.TrajectoryCollection(gdf, "traj", t="t")
    segs = mpd.TrajectoryStopDetector(tc).get_stop_segments(
        min_duration=timedelta(seconds=MIN_DURATION_S), max_diameter=MAX_DIAMETER_M
    )
    rows = [
        (
            int(str(tr.id).split("_")[0]),
            (tr.get_start_time() - t0).total_seconds(),
            (tr.get_end_time() - t0).total_seconds(),
        )
        for tr in segs.trajectories
    ]
    return pd.DataFrame(rows, columns=["traj", "start_s", "end_s"])


def matched_share(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """Share of stops in ``a`` overlapped in time by a stop of ``b`` on the same trajectory."""
    if len(a) == 0:
        return 1.0
    m = a.reset_index().merge(b, on="traj", suffixes=("", "_b"))
    hit = (m["start_s"] <= m["end_s_b"]) & (m["start_s_b"] <= m["end_s"])
    return float(m.loc[hit, "index"].nunique() / len(a))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trajectories", type=int, default=1000)
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--peer-trajectories", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results_intel.md"))
    args = ap.parse_args()
    df = synthetic(args.trajectories, args.points)
    sub = df[df["traj"] < args.peer_trajectories]
    standoff_stops(sub.head(5000))  # warm-up (imports, first calls)
    t = time.perf_counter()
    ours_all, n_sites = standoff_stops(df)
    t_all = time.perf_counter() - t
    t = time.perf_counter()
    ours_sub, _ = standoff_stops(sub)
    t_sub = time.perf_counter() - t
    t = time.perf_counter()
    peer = movingpandas_stops(sub)
    t_peer = time.perf_counter() - t
    scale = len(df) / len(sub)
    agree_peer = matched_share(peer, ours_sub)
    agree_ours = matched_share(ours_sub, peer)
    import movingpandas

    extrapolated = " (repeat run)" if scale == 1 else f" (movingpandas extrapolated x{scale:g})"
    text = f"""# Stop detection and site clustering (bench_intel.py)

Seeded synthetic data: {args.trajectories:,} trajectories x {args.points:,} points (10 s), stops
of 180-1,800 s at 60 shared places; max_diameter {MAX_DIAMETER_M:g} m, min_duration
{MIN_DURATION_S:g} s.  Peer: movingpandas {movingpandas.__version__}
`TrajectoryStopDetector.get_stop_segments` on {len(sub):,} points (the first
{args.peer_trajectories:,} trajectories).  Standoff's time includes clustering the stops into
sites (`cluster_points`, 150 m).  Python {platform.python_version()}, {platform.machine()}, a
shared 2-core machine with other jobs running, so times are indicative.

| measure | Standoff (vectorised) | movingpandas | ratio |
|---|---|---|---|
| time, {len(sub):,} points | {t_sub:.2f} s | {t_peer:.1f} s | **{t_peer / t_sub:.0f}x** |
| time, {len(df):,} points{extrapolated} | {t_all:.2f} s | {t_peer * scale:.1f} s | \
{t_peer * scale / t_all:.0f}x |
| stops found ({len(sub):,} points) | {len(ours_sub):,} | {len(peer):,} | |
| movingpandas stops matched by Standoff | {agree_peer:.1%} | | |
| Standoff stops matched by movingpandas | {agree_ours:.1%} | | |
| sites from {len(ours_all):,} stops | {n_sites} (60 true places) | | |

Matched = overlapping in time on the same trajectory.  Standoff's stop is the union of
windows of at least min_duration whose bounding-box diagonal is below max_diameter;
movingpandas grows a segment while its minimum-rotated-rectangle diagonal stays below it,
so the two can differ by a point at a stop's ends.
"""
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
