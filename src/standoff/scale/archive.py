"""Partitioned archives: detections and tracks as Parquet by grid cell and UTC day, tracked
per partition in parallel, with track hand-over across partition edges.

Layout (Hive-style, readable by pyarrow, Dask, DuckDB)::

    ARCHIVE/detections/cell=<ix>_<iy>/day=<YYYY-MM-DD>/<source>.parquet
    OUT/tracks/cell=<ix>_<iy>/day=<YYYY-MM-DD>/tracks.parquet

A cell is ``cell_deg`` x ``cell_deg`` of longitude/latitude (``ix = floor(lon / cell_deg)``).

Tracking an archive (:func:`track_archive`): work units of a cell and a time window (a
busy cell-day is cut in time so the units are even), each tracking the detections within
``halo_m`` of its cell and ``warmup_s`` before its window, read by the worker itself from
the Parquet files, and owning the rows of the detections in its cell and window.  Tracks
of two units that associated the same detections are handed over (linked) and every
linked group is one identity, numbered by first appearance.  Every unit and the
single-process reference (:func:`track_whole`) use one frame, one clock and one scan
order, so near an edge a unit sees the numbers the whole does.  Each unit is a pure
function of the archive: the result is byte-identical with one worker or many, in this
process or on a cluster.  See ``standoff.scale._partitioned`` for the details and for
why "identical to the single process" holds only as far as the tracker forgets.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from standoff.core.errors import InputError
from standoff.scale._layout import (
    DAY_NS,
    SCHEMA,
    cells,
    partition_folder,
    partitions,
    read_partition,
    read_settings,
)
from standoff.scale._partitioned import (
    PartitionTrackSummary,
    plan_archive,
    run_partitioned,
    track_single,
)
from standoff.scale.executor import Executor, Failure, InProcessExecutor

__all__ = [
    "ArchiveSummary",
    "PartitionTrackSummary",
    "analyse_archive",
    "compare_tracks",
    "read_partition",
    "read_tracks",
    "track_archive",
    "track_whole",
    "utc_text",
    "write_archive",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ArchiveSummary:
    archive: Path
    source: str
    detections: int
    partitions: int
    cell_deg: float


def write_archive(
    detections: str | Path,
    archive: str | Path,
    *,
    cell_deg: float = 1.0,
    source: str | None = None,
) -> ArchiveSummary:
    """Add a detections file (CSV or Parquet with ``time``, ``lat``, ``lon``) to the archive,
    partitioned by cell and day.  ``source`` names the feed (default: a hash of the file);
    adding the same source again replaces its rows, so re-running is safe."""
    src = Path(detections)
    out = Path(archive)
    if not math.isfinite(cell_deg) or not 0.01 <= cell_deg <= 10.0:
        raise InputError("must be between 0.01 and 10 degrees", field="cell_deg", value=cell_deg)
    settings_path = out / "archive.json"
    if settings_path.is_file():
        settings = read_settings(out)
        if settings["cell_deg"] != cell_deg:
            raise InputError(
                f"the archive uses {settings['cell_deg']} degree cells",
                source=str(out),
                field="cell_deg",
                value=cell_deg,
            )
    frame_in = _read_input(src)
    name = source or hashlib.sha256(src.read_bytes()).hexdigest()[:16]
    n = len(frame_in["time"])
    flat: dict[str, np.ndarray] = {
        "time": frame_in["time"],
        "lat": frame_in["lat"],
        "lon": frame_in["lon"],
        "det_id": frame_in.get("det_id", np.array([str(i + 1) for i in range(n)])),
        "sensor": frame_in.get("sensor", np.full(n, "gmti")),
        "sigma_m": frame_in.get("sigma_m", np.full(n, 20.0)),
        "radial_velocity_mps": frame_in.get("radial_velocity_mps", np.full(n, np.nan)),
    }
    ix, iy = cells(flat["lon"], flat["lat"], cell_deg)
    day = flat["time"] // DAY_NS
    key = np.stack([ix, iy, day], axis=1)
    uniq, inverse = np.unique(key, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    out.mkdir(parents=True, exist_ok=True)
    settings_path.write_text(
        json.dumps({"schema": "standoff.archive/1", "cell_deg": cell_deg}, indent=1) + "\n",
        encoding="utf-8",
    )
    for k, (cx, cy, d) in enumerate(uniq.tolist()):
        sel = np.flatnonzero(inverse == k)
        table = pa.table(
            {
                "source": pa.array(np.full(len(sel), name), pa.string()),
                "det_id": pa.array(flat["det_id"][sel], pa.string()),
                "time": pa.array(flat["time"][sel], pa.timestamp("ns", tz="UTC")),
                "sensor": pa.array(flat["sensor"][sel], pa.string()),
                "lat": pa.array(flat["lat"][sel], pa.float64()),
                "lon": pa.array(flat["lon"][sel], pa.float64()),
                "sigma_m": pa.array(flat["sigma_m"][sel], pa.float64()),
                "radial_velocity_mps": pa.array(flat["radial_velocity_mps"][sel], pa.float64()),
            },
            schema=SCHEMA,
        )
        folder = partition_folder(out, "detections", cx, cy, d)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.tmp"
        pq.write_table(table, tmp, compression="zstd")
        tmp.replace(folder / f"{name}.parquet")
    return ArchiveSummary(out, name, len(flat["time"]), len(uniq), cell_deg)


def _read_input(path: Path) -> dict[str, np.ndarray]:
    """A detections file's columns: ``time`` (ISO 8601 UTC), ``lat``, ``lon`` required;
    ``det_id``, ``sensor``, ``sigma_m``, ``radial_velocity_mps`` kept when present."""
    import pandas as pd

    if not path.is_file():
        raise InputError("file not found", source=str(path))
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            df = pq.read_table(path).to_pandas()
        else:
            df = pd.read_csv(path, dtype={"det_id": str, "sensor": str})
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise InputError(f"cannot read the detections: {exc}", source=str(path)) from exc
    for col in ("time", "lat", "lon"):
        if col not in df.columns:
            raise InputError(
                "an archive needs time (ISO 8601 UTC), lat and lon columns",
                source=str(path),
                field=col,
            )
    if not len(df):
        raise InputError("the file holds no detections", source=str(path))
    try:
        when = pd.to_datetime(df["time"].astype(str), utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise InputError(
            "times must be ISO 8601 UTC (a day partition needs dates)",
            source=str(path),
            field="time",
            value=str(df["time"].iloc[0]),
        ) from exc
    out: dict[str, np.ndarray] = {"time": when.dt.as_unit("ns").astype("int64").to_numpy()}
    for col, limit in (("lat", 90.0), ("lon", 180.0)):
        values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values) | (np.abs(values) > limit)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"must be a number within +-{limit:g} degrees",
                source=str(path),
                field=col,
                value=str(df[col].iloc[i]),
                row=i + 2,
            )
        out[col] = values
    for col in ("sigma_m", "radial_velocity_mps"):
        if col in df.columns:
            out[col] = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)
    for col in ("det_id", "sensor"):
        if col in df.columns:
            out[col] = df[col].astype(str).to_numpy()
    return out


def track_archive(
    archive: str | Path,
    out_dir: str | Path,
    *,
    executor: Executor | None = None,
    halo_m: float = 20_000.0,
    warmup_s: float = 14_400.0,
    unit_detections: int = 150_000,
    min_shared: int = 2,
    pd: float = 0.9,
    clutter_density_per_m2: float = 1e-8,
    progress: Any = None,
) -> PartitionTrackSummary:
    """Track every partition of ``archive`` in parallel on ``executor`` and write the
    tracks, with global identities, partitioned like the detections.

    ``halo_m``: how far around its cell a unit tracks (under half a cell); ``warmup_s``:
    how long before its window it starts tracking; ``unit_detections``: the size a busy
    cell-day is cut down to (in time, windows of at least two warm-ups), so that the work
    units are many and even.  The defaults are what made the partitioned tracks agree
    with the single-process ones to 0.9998 (pairwise) on a dense 24 h archive of 2,000
    vehicles (``benchmarks/README.md``): the tracker's identities depend on hours of
    history there (a 2 h warm-up agreed to 0.96-0.98 only), and on 20 km around a cell
    (15 km: ~0.93).  Less is cheaper and agrees less.  Re-running replaces the tracks
    under ``out_dir``."""
    src = Path(archive)
    settings = read_settings(src)
    if not (math.isfinite(halo_m) and math.isfinite(warmup_s)) or halo_m < 0 or warmup_s < 0:
        raise InputError("must not be negative", field="halo_m/warmup_s", value=(halo_m, warmup_s))
    if unit_detections < 1:
        raise InputError("must be at least 1", field="unit_detections", value=unit_detections)
    cell = float(settings["cell_deg"])
    config = {"pd": pd, "clutter_density_per_m2": clutter_density_per_m2}
    plan = plan_archive(
        src, cell, partitions(src), halo_m=float(halo_m), warmup_s=float(warmup_s), config=config
    )
    out = Path(out_dir)
    summary = run_partitioned(
        plan,
        out,
        executor=executor,
        unit_detections=unit_detections,
        min_shared=min_shared,
        progress=progress,
    )
    (out / "summary.json").write_text(
        json.dumps(
            {
                "schema": "standoff.archive-tracks/2",
                "partitions": summary.partitions,
                "units": summary.units,
                "failed": list(summary.failed),
                "detections_tracked": summary.detections,
                "rows": summary.rows,
                "tracks": summary.tracks,
                "links": summary.links,
                "halo_m": halo_m,
                "warmup_s": warmup_s,
                "unit_detections": unit_detections,
                "cell_deg": cell,
                "frame": {"lon0_deg": plan.lon0_deg, "lat0_deg": plan.lat0_deg},
                "t0_utc": utc_text(plan.t0_ns),
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    return summary


def track_whole(
    archive: str | Path,
    *,
    pd: float = 0.9,
    clutter_density_per_m2: float = 1e-8,
) -> dict[str, np.ndarray]:
    """The reference: every detection of the archive through one tracker in one process,
    in the frame, clock and scan order the partitioned run uses (see
    :func:`track_archive`)."""
    src = Path(archive)
    settings = read_settings(src)
    config = {"pd": pd, "clutter_density_per_m2": clutter_density_per_m2}
    plan = plan_archive(
        src, float(settings["cell_deg"]), partitions(src), halo_m=0.0, warmup_s=0.0, config=config
    )
    return track_single(plan)


def compare_tracks(
    reference: dict[str, np.ndarray], test: dict[str, np.ndarray]
) -> dict[str, float]:
    """How far two trackings of the same detections agree, by the detections each track
    associated: pairwise precision and recall of "these two detections belong to one track"
    (1.0 and 1.0: the same partition of the detections into tracks, whatever the ids), and
    the share of detections associated in one tracking and not the other."""
    ref = {
        d: t
        for d, t in zip(reference["det"].tolist(), reference["track"].tolist(), strict=True)
        if d
    }
    tst = {d: t for d, t in zip(test["det"].tolist(), test["track"].tolist(), strict=True) if d}
    common = sorted(set(ref) & set(tst))
    pairs: dict[tuple[int, int], int] = defaultdict(int)
    for d in common:
        pairs[(ref[d], tst[d])] += 1
    a: dict[int, int] = defaultdict(int)
    b: dict[int, int] = defaultdict(int)
    for (i, j), n in pairs.items():
        a[i] += n
        b[j] += n

    def choose2(n: int) -> int:
        return n * (n - 1) // 2

    both = sum(choose2(n) for n in pairs.values())
    in_ref = sum(choose2(n) for n in a.values())
    in_test = sum(choose2(n) for n in b.values())
    union = len(set(ref) | set(tst))
    return {
        "pair_precision": both / in_test if in_test else 1.0,
        "pair_recall": both / in_ref if in_ref else 1.0,
        "associated_only_one_side": (union - len(common)) / union if union else 0.0,
        "reference_tracks": float(len(set(ref.values()))),
        "test_tracks": float(len(set(tst.values()))),
    }


def read_tracks(out_dir: str | Path) -> dict[str, np.ndarray]:
    """Tracks written by :func:`track_archive`, as arrays (``track`` = global id)."""
    files = sorted(Path(out_dir).glob("tracks/cell=*/day=*/tracks.parquet"))
    if not files:
        raise InputError("no tracks here", source=str(out_dir))
    t = pa.concat_tables([pq.read_table(f) for f in files])
    return {
        "time": t["time"].cast(pa.int64()).to_numpy(),
        "track": t["track_id"].to_numpy(),
        "lat": t["lat"].to_numpy(),
        "lon": t["lon"].to_numpy(),
        "det": t["det"].to_numpy(zero_copy_only=False).astype(str),
    }


@dataclass(frozen=True)
class _StopTask:
    key: tuple[int, int, int]
    track: IntArray
    t_s: FloatArray
    x_m: FloatArray
    y_m: FloatArray
    max_diameter_m: float
    min_duration_s: float


def _stops_task(task: _StopTask) -> dict[str, np.ndarray]:
    from standoff.intel.stops import detect_stops

    st = detect_stops(
        task.track,
        task.t_s,
        task.x_m,
        task.y_m,
        max_diameter_m=task.max_diameter_m,
        min_duration_s=task.min_duration_s,
    )
    return {
        "track": st.traj_id,
        "start_s": st.start_s,
        "end_s": st.end_s,
        "x_m": st.x_m,
        "y_m": st.y_m,
        "n_points": st.n_points,
    }


def analyse_archive(
    tracks_dir: str | Path,
    out_dir: str | Path,
    *,
    executor: Executor | None = None,
    max_diameter_m: float = 150.0,
    min_duration_s: float = 300.0,
    site_radius_m: float = 250.0,
    min_visits: int = 2,
) -> dict[str, Any]:
    """Dwell stops per partition in parallel, then sites over every partition.

    Each track is analysed whole by the partition where it first appears (so a stop that
    straddles a cell edge or midnight is found once, as by a single process), and the stops
    of every partition are clustered into sites together: the result is the same as the
    single-process analysis (``executor`` None runs the same tasks in this process)."""
    from standoff.geo.frame import LocalFrame
    from standoff.intel.stops import cluster_points

    tracks = read_tracks(tracks_dir)
    src_settings = json.loads((Path(tracks_dir) / "summary.json").read_text(encoding="utf-8"))
    cell = float(src_settings["cell_deg"])
    if not len(tracks["time"]):
        raise InputError("no tracks to analyse", source=str(tracks_dir))
    lon0 = float(np.round((tracks["lon"].min() + tracks["lon"].max()) / 2, 4))
    lat0 = float(np.round((tracks["lat"].min() + tracks["lat"].max()) / 2, 4))
    frame = LocalFrame(lon0, lat0)
    x, y = frame.to_xy(tracks["lon"], tracks["lat"])
    x, y = np.asarray(x, float), np.asarray(y, float)
    t0 = int(tracks["time"].min())
    t_s = (tracks["time"] - t0) / 1e9
    order = np.lexsort((tracks["time"], tracks["track"]))
    trk, t_s, x, y = tracks["track"][order], t_s[order], x[order], y[order]
    lon, lat, ns = tracks["lon"][order], tracks["lat"][order], tracks["time"][order]
    first = np.flatnonzero(np.r_[True, trk[1:] != trk[:-1]])
    counts = np.diff(np.r_[first, len(trk)])
    ix, iy = cells(lon[first], lat[first], cell)
    owner = np.repeat(np.stack([ix, iy, ns[first] // DAY_NS], axis=1), counts, axis=0)
    keys, inverse = np.unique(owner, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    tasks = []
    for k, key in enumerate(keys.tolist()):
        sel = np.flatnonzero(inverse == k)
        tasks.append(
            _StopTask(
                (key[0], key[1], key[2]),
                trk[sel],
                t_s[sel],
                x[sel],
                y[sel],
                max_diameter_m,
                min_duration_s,
            )
        )
    parts: dict[int, dict[str, np.ndarray]] = {}
    ex = executor or InProcessExecutor()
    for i, res in ex.map_unordered(_stops_task, tasks):
        if isinstance(res, Failure):
            raise InputError(f"partition {tasks[i].key}: {res}", source=str(tracks_dir))
        parts[i] = res
    cat = {k: np.concatenate([parts[i][k] for i in range(len(tasks))]) for k in parts[0]}
    so = np.lexsort((cat["start_s"], cat["track"]))
    cat = {k: v[so] for k, v in cat.items()}
    labels = cluster_points(cat["x_m"], cat["y_m"], site_radius_m)
    sites: list[dict[str, Any]] = []
    for lab in np.unique(labels):
        m = labels == lab
        if m.sum() < min_visits:
            continue
        sx, sy = float(cat["x_m"][m].mean()), float(cat["y_m"][m].mean())
        slon, slat = frame.to_lonlat(sx, sy)
        sites.append(
            {
                "lat_deg": round(float(slat), 6),
                "lon_deg": round(float(slon), 6),
                "visits": int(m.sum()),
                "tracks": sorted({int(v) for v in cat["track"][m]}),
                "mean_dwell_s": round(float((cat["end_s"][m] - cat["start_s"][m]).mean()), 1),
                "first_utc": utc_text(t0 + int(cat["start_s"][m].min() * 1e9)),
                "last_utc": utc_text(t0 + int(cat["end_s"][m].max() * 1e9)),
            }
        )
    sites.sort(key=lambda s: (-s["visits"], s["lat_deg"], s["lon_deg"]))
    for n, site in enumerate(sites, start=1):
        site["id"] = f"site-{n}"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    doc = {
        "schema": "standoff.archive-sites/1",
        "partitions": len(tasks),
        "stops": len(cat["track"]),
        "sites": sites,
    }
    (out / "sites.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return doc


def utc_text(ns: int) -> str:
    """ISO 8601 UTC of an epoch in nanoseconds."""
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")
