"""Partitioned archives: layout, hand-over across cell edges and midnight, workers."""

from __future__ import annotations

import hashlib
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
) -> dict[str, int]:
    """``n`` vehicles driving east at 12-18 m/s across the cell edge at lon -111.5 and, 20 min
    in, across midnight; one detection per vehicle per 10 s scan (20 m noise), no clutter.
    Returns the true vehicle of every det_id."""
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
        for v in range(n):
            det = f"{k}-{v}"
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


def test_vehicles_keep_one_identity_across_edges_and_midnight(
    archive: tuple[Path, dict[str, int]], dask2: DaskExecutor, tmp_path: Path
) -> None:
    root, truth = archive
    summary = track_archive(root, tmp_path / "two", executor=dask2, halo_m=5_000.0)
    assert summary.partitions == 4
    assert not summary.failed
    assert summary.links > 0
    tracks = read_tracks(tmp_path / "two")
    vehicle = np.array([truth.get(d.partition(":")[2], -1) for d in tracks["det"]])
    seen = vehicle >= 0
    per_vehicle = pd.Series(tracks["track"][seen]).groupby(vehicle[seen]).nunique()
    assert len(per_vehicle) == 6
    assert (per_vehicle == 1).all(), per_vehicle.to_dict()
    # Every vehicle crossed the cell edge and midnight, and rows are never duplicated.
    frame = pd.DataFrame({"t": tracks["time"], "id": tracks["track"]})
    assert not frame.duplicated().any()
    # The same tracks as one tracker over the whole archive, and as one worker.
    agreement = compare_tracks(track_whole(root), tracks)
    assert agreement["pair_precision"] == 1.0
    assert agreement["pair_recall"] == 1.0
    track_archive(root, tmp_path / "one", halo_m=5_000.0)
    assert _digest(tmp_path / "one") == _digest(tmp_path / "two")


def test_without_hand_over_identities_would_break(
    archive: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    """The control: no halo and no warm-up, every crossing starts a new track."""
    root, truth = archive
    track_archive(root, tmp_path, halo_m=0.0, warmup_s=0.0)
    tracks = read_tracks(tmp_path)
    vehicle = np.array([truth.get(d.partition(":")[2], -1) for d in tracks["det"]])
    seen = vehicle >= 0
    per_vehicle = pd.Series(tracks["track"][seen]).groupby(vehicle[seen]).nunique()
    assert (per_vehicle > 1).any()


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
    assert (tmp_path / "t" / "summary.json").is_file()


def test_partitioned_analysis_equals_the_single_process_one(
    dask2: DaskExecutor, tmp_path: Path
) -> None:
    """Vehicles park for 10 minutes (one of them across the cell edge): the stops and sites
    found per partition on two workers are the single-process ones."""
    from standoff.intel.stops import detect_stops
    from standoff.scale.archive import analyse_archive

    _vehicles(tmp_path / "d.csv", stop=(60, 120), x_start_m=(-20_000.0, 20_000.0))
    write_archive(tmp_path / "d.csv", tmp_path / "a", cell_deg=0.5, source="s1")
    track_archive(tmp_path / "a", tmp_path / "t", halo_m=5_000.0)
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
