"""Partitioned archives: layout, hand-over across cell edges and midnight, workers."""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from standoff.cli import main
from standoff.core.errors import InputError
from standoff.geo.frame import LocalFrame
from standoff.scale import DaskExecutor
from standoff.scale.archive import (
    compare_tracks,
    read_tracks,
    track_archive,
    track_whole,
    write_archive,
)

START = pd.Timestamp("2026-03-20T23:40:00Z")


def _vehicles(
    path: Path,
    n: int = 6,
    scans: int = 180,
    seed: int = 3,
    stop: tuple[int, int] | None = None,
    x_start_m: tuple[float, float] = (-30_000.0, -3_000.0),
    clutter: int = 0,
) -> dict[str, int]:
    """``n`` vehicles driving east at 12-18 m/s across the cell edge at lon -111.5 and, 20 min
    in, across midnight; one detection per vehicle per 10 s scan (20 m noise), and
    ``clutter`` false detections per scan within 10 km of the edge.  Returns the true
    vehicle of every det_id."""
    rng = np.random.default_rng(seed)
    frame = LocalFrame(-111.5, 31.25)
    x0 = np.linspace(*x_start_m, n)
    y0 = np.linspace(-20_000.0, 20_000.0, n)
    speed = rng.uniform(12.0, 18.0, n)
    rows = []
    truth: dict[str, int] = {}
    for k in range(scans):
        t = START + pd.Timedelta(seconds=10 * k)
        moved = 10.0 * k
        if stop is not None:  # every vehicle parks from scan stop[0] to scan stop[1]
            moved = 10.0 * (min(k, stop[0]) + max(0, k - stop[1]))
        x = x0 + speed * moved + rng.normal(0, 20, n)
        y = y0 + rng.normal(0, 20, n)
        lon, lat = frame.to_lonlat(x, y)
        if clutter:
            cx, cy = frame.to_lonlat(
                rng.uniform(-10_000, 10_000, clutter), rng.uniform(-25_000, 25_000, clutter)
            )
            lon = np.r_[lon, cx]
            lat = np.r_[lat, cy]
        for v in range(n + clutter):
            det = f"{k}-{v}"
            if v < n:
                truth[det] = v
            rows.append(
                {
                    "det_id": det,
                    "time": t.isoformat().replace("+00:00", "Z"),
                    "sensor": "gmti",
                    "lat": round(float(lat[v]), 7),
                    "lon": round(float(lon[v]), 7),
                    "sigma_m": 20.0,
                }
            )
    pd.DataFrame(rows).to_csv(path, index=False)
    return truth


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    root = tmp_path_factory.mktemp("archive")
    truth = _vehicles(root / "detections.csv")
    summary = write_archive(root / "detections.csv", root / "archive", cell_deg=0.5, source="s1")
    assert summary.detections == 6 * 180
    return root / "archive", truth


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*.parquet")):
        h.update(str(p.relative_to(folder)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def test_layout_is_cell_and_day(archive: tuple[Path, dict[str, int]]) -> None:
    root, _ = archive
    parts = sorted(p.relative_to(root / "detections").as_posix() for p in root.rglob("*.parquet"))
    cells = {p.split("/")[0] for p in parts}
    days = {p.split("/")[1] for p in parts}
    assert cells == {"cell=-224_62", "cell=-223_62"}  # lon -112..-111.5 and -111.5..-111
    assert days == {"day=2026-03-20", "day=2026-03-21"}


def _tracks_per_vehicle(tracks: dict[str, np.ndarray], truth: dict[str, int]) -> pd.Series:
    vehicle = np.array([truth.get(d.partition(":")[2], -1) for d in tracks["det"]])
    seen = vehicle >= 0
    return pd.Series(tracks["track"][seen]).groupby(vehicle[seen]).nunique()


# Small enough to cut each cell's first day in two time windows (a seam at ~23:50).
SEAMS = {"halo_m": 5_000.0, "warmup_s": 300.0, "unit_detections": 400}


def test_vehicles_keep_one_identity_across_edges_midnight_and_seams(
    archive: tuple[Path, dict[str, int]], dask2: DaskExecutor, tmp_path: Path
) -> None:
    root, truth = archive
    summary = track_archive(root, tmp_path / "two", executor=dask2, **SEAMS)
    assert summary.partitions == 4
    assert summary.units > summary.partitions  # busy cell-days were cut in time
    assert not summary.failed
    assert summary.links > 0
    assert not (tmp_path / "two" / ".staging").exists()
    tracks = read_tracks(tmp_path / "two")
    per_vehicle = _tracks_per_vehicle(tracks, truth)
    assert len(per_vehicle) == 6
    assert (per_vehicle == 1).all(), per_vehicle.to_dict()
    # Every vehicle crossed the cell edge, a time seam and midnight; rows never repeat.
    frame = pd.DataFrame({"t": tracks["time"], "id": tracks["track"]})
    assert not frame.duplicated().any()
    dets = tracks["det"][tracks["det"] != ""]
    assert len(np.unique(dets)) == len(dets)
    # The same tracks as one tracker over the whole archive, and as one process.
    agreement = compare_tracks(track_whole(root), tracks)
    assert agreement["pair_precision"] == 1.0
    assert agreement["pair_recall"] == 1.0
    assert agreement["associated_only_one_side"] == 0.0
    track_archive(root, tmp_path / "one", **SEAMS)
    assert _digest(tmp_path / "one") == _digest(tmp_path / "two")


def test_work_units_tile_every_cell_day(archive: tuple[Path, dict[str, int]]) -> None:
    """Units are contiguous time windows covering each cell-day exactly once, none shorter
    than two warm-ups, and the plan is the same every time (it never depends on workers)."""
    from standoff.scale._layout import DAY_NS, partitions
    from standoff.scale._partitioned import _units, plan_archive

    root, _ = archive
    config = {"pd": 0.9, "clutter_density_per_m2": 1e-8}
    plan = plan_archive(root, 0.5, partitions(root), halo_m=5_000.0, warmup_s=300.0, config=config)
    units = _units(plan, root / "stage", 400)
    assert units == _units(plan, root / "stage", 400)
    for cx, cy, day in plan.parts:
        mine = sorted((u.start_ns, u.end_ns) for u in units if (u.cx, u.cy, u.day) == (cx, cy, day))
        assert mine[0][0] == day * DAY_NS
        assert mine[-1][1] == (day + 1) * DAY_NS
        assert all(a[1] == b[0] for a, b in itertools.pairwise(mine))
        if len(mine) > 1:
            assert all(hi - lo >= 2 * plan.warmup_ns for lo, hi in mine)
    assert all(u.weight > 0 for u in units)


def test_crossing_traffic_in_clutter_is_tracked_as_by_one_process(
    dask2: DaskExecutor, tmp_path: Path
) -> None:
    """Twelve vehicles, rows of them side by side, with clutter near the cell edge: the
    partitioned tracks (two workers, edges, seams, midnight) are exactly the tracks of one
    tracker over everything."""
    _vehicles(tmp_path / "d.csv", n=12, seed=5, clutter=4)
    write_archive(tmp_path / "d.csv", tmp_path / "a", cell_deg=0.5, source="s1")
    whole = track_whole(tmp_path / "a")
    summary = track_archive(tmp_path / "a", tmp_path / "t", executor=dask2, **SEAMS)
    assert summary.units > summary.partitions
    assert summary.links > 0
    agreement = compare_tracks(whole, read_tracks(tmp_path / "t"))
    assert agreement["pair_precision"] == 1.0
    assert agreement["pair_recall"] == 1.0
    assert agreement["reference_tracks"] == agreement["test_tracks"]


def test_a_narrow_halo_is_refused_nothing_else(tmp_path: Path) -> None:
    _vehicles(tmp_path / "d.csv", n=2, scans=10)
    write_archive(tmp_path / "d.csv", tmp_path / "a", cell_deg=0.2, source="s1")
    with pytest.raises(InputError) as err:
        track_archive(tmp_path / "a", tmp_path / "t")  # 20 km halo, 0.2 degree cells
    assert err.value.field == "halo_m"
    with pytest.raises(InputError):
        track_archive(tmp_path / "a", tmp_path / "t", halo_m=1_000.0, unit_detections=0)


def test_without_hand_over_identities_would_break(
    archive: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    """The control: no halo and no warm-up, every crossing starts a new track."""
    root, truth = archive
    track_archive(root, tmp_path, halo_m=0.0, warmup_s=0.0)
    assert (_tracks_per_vehicle(read_tracks(tmp_path), truth) > 1).any()


def test_archive_errors_name_file_field_value(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time,lat,lon\n2026-03-20T00:00:00Z,95.0,-111.0\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        write_archive(bad, tmp_path / "a")
    assert (err.value.field, err.value.value, err.value.row) == ("lat", "95.0", 2)
    bad.write_text("time,x,y\n0,1,2\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        write_archive(bad, tmp_path / "a")
    assert err.value.field == "lat"
    bad.write_text("time,lat,lon\n12.5,31.0,-111.0\n", encoding="utf-8")
    assert main(["archive", "add", str(bad), "--archive", str(tmp_path / "a")]) == 2
    assert main(["archive", "track", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")]) == 2


def test_cli_adds_and_tracks(archive: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    src = archive[0].parent / "detections.csv"
    assert main(["archive", "add", str(src), "--archive", str(tmp_path / "a")]) == 0
    assert main(["archive", "track", str(tmp_path / "a"), "--out", str(tmp_path / "t")]) == 0
    summary = json.loads((tmp_path / "t" / "summary.json").read_text(encoding="utf-8"))
    defaults = inspect.signature(track_archive).parameters
    assert summary["halo_m"] == defaults["halo_m"].default  # the library's, not a copy
    assert summary["warmup_s"] == defaults["warmup_s"].default
    args = ["--halo-m", "5000", "--warmup-s", "7200"]
    assert main(["archive", "track", str(tmp_path / "a"), "--out", str(tmp_path / "u"), *args]) == 0
    summary = json.loads((tmp_path / "u" / "summary.json").read_text(encoding="utf-8"))
    assert (summary["halo_m"], summary["warmup_s"]) == (5000.0, 7200.0)


def test_partitioned_analysis_equals_the_single_process_one(
    dask2: DaskExecutor, tmp_path: Path
) -> None:
    """Vehicles park for 10 minutes (one of them across the cell edge): the stops and sites
    found per partition on two workers are the single-process ones."""
    from standoff.intel.stops import detect_stops
    from standoff.scale.archive import analyse_archive

    _vehicles(tmp_path / "d.csv", stop=(60, 120), x_start_m=(-20_000.0, 20_000.0))
    write_archive(tmp_path / "d.csv", tmp_path / "a", cell_deg=0.5, source="s1")
    track_archive(tmp_path / "a", tmp_path / "t", **SEAMS)
    two = analyse_archive(tmp_path / "t", tmp_path / "s2", executor=dask2, min_duration_s=300)
    one = analyse_archive(tmp_path / "t", tmp_path / "s1", min_duration_s=300)
    assert two == one
    assert two["partitions"] >= 2
    assert (tmp_path / "s2" / "sites.json").read_bytes() == (
        tmp_path / "s1" / "sites.json"
    ).read_bytes()
    # The reference: one call over every track at once.
    tr = read_tracks(tmp_path / "t")
    frame = LocalFrame(-111.5, 31.25)
    x, y = frame.to_xy(tr["lon"], tr["lat"])
    order = np.lexsort((tr["time"], tr["track"]))
    ref = detect_stops(
        tr["track"][order],
        tr["time"][order] / 1e9,
        np.asarray(x)[order],
        np.asarray(y)[order],
        max_diameter_m=150.0,
        min_duration_s=300.0,
    )
    assert two["stops"] == len(ref) >= 6
