"""Partitioned archives: detections and tracks as Parquet by grid cell and UTC day, tracked
per partition in parallel, with track hand-over across partition edges.

Layout (Hive-style, readable by pyarrow, Dask, DuckDB)::

    ARCHIVE/detections/cell=<ix>_<iy>/day=<YYYY-MM-DD>/<source>.parquet
    OUT/tracks/cell=<ix>_<iy>/day=<YYYY-MM-DD>/tracks.parquet

A cell is ``cell_deg`` x ``cell_deg`` of longitude/latitude (``ix = floor(lon / cell_deg)``).

Tracking an archive: one task per (cell, day).  A task tracks every detection within
``halo_m`` of its cell (from the neighbouring cells too) during its day, plus the last
``warmup_s`` of the day before, so that tracks coming in across an edge are already confirmed
when they cross it.  It *owns* only the rows inside its cell and day.  Hand-over: a vehicle
tracked in two tasks has detections that both associate (in the overlap), so their tracks
are linked (the pair sharing the most detections, at least ``min_shared``, each track
linking at most one track of each neighbouring task) and every linked group gets one global
identity, numbered by first appearance.  Each task is a pure function of the archive, so the
result is the same with one worker or many, in this process or on a cluster.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from standoff.core.errors import InputError
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
    "write_archive",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_DAY_NS = 86_400 * 1_000_000_000
_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("det_id", pa.string()),
        ("time", pa.timestamp("ns", tz="UTC")),
        ("sensor", pa.string()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("sigma_m", pa.float64()),
        ("radial_velocity_mps", pa.float64()),
    ]
)
_M_PER_DEG = 111_000.0  # a lower bound of a degree of latitude in metres (111.0-111.7 km)


@dataclass(frozen=True)
class ArchiveSummary:
    archive: Path
    source: str
    detections: int
    partitions: int
    cell_deg: float


@dataclass(frozen=True)
class PartitionTrackSummary:
    out_dir: Path
    partitions: int
    failed: tuple[str, ...]
    detections: int
    rows: int
    tracks: int
    links: int


def _cells(lon: FloatArray, lat: FloatArray, cell_deg: float) -> tuple[IntArray, IntArray]:
    return (
        np.floor(lon / cell_deg).astype(np.int64),
        np.floor(lat / cell_deg).astype(np.int64),
    )


def _read_settings(archive: Path) -> dict[str, Any]:
    path = archive / "archive.json"
    if not path.is_file():
        raise InputError("not a Standoff archive (no archive.json)", source=str(archive))
    settings: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return settings


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
        settings = _read_settings(out)
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
    ix, iy = _cells(flat["lon"], flat["lat"], cell_deg)
    day = flat["time"] // _DAY_NS
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
            schema=_SCHEMA,
        )
        folder = out / "detections" / f"cell={cx}_{cy}" / f"day={_day_text(d)}"
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


def _day_text(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=int(day))).isoformat()


def _partitions(archive: Path) -> list[tuple[int, int, int]]:
    """(cell ix, cell iy, day number) of every partition, sorted."""
    out = []
    for cell in sorted((archive / "detections").glob("cell=*")):
        cx, cy = (int(v) for v in cell.name[5:].split("_"))
        for day in sorted(cell.glob("day=*")):
            d = (date.fromisoformat(day.name[4:]) - date(1970, 1, 1)).days
            out.append((cx, cy, d))
    return out


def read_partition(archive: Path, cx: int, cy: int, day: int) -> pa.Table | None:
    """Every detection of one partition (all sources), or None when it holds none."""
    folder = archive / "detections" / f"cell={cx}_{cy}" / f"day={_day_text(day)}"
    files = sorted(folder.glob("*.parquet"))
    if not files:
        return None
    return pa.concat_tables([pq.read_table(f, schema=_SCHEMA) for f in files])


@dataclass(frozen=True)
class _Task:
    archive: str
    cell_deg: float
    cx: int
    cy: int
    day: int
    halo_m: float
    warmup_s: float
    config: dict[str, float]


def _tracker(config: dict[str, float]) -> Any:
    from standoff.track import Tracker, TrackerConfig

    return Tracker(
        config=TrackerConfig(
            pd=config["pd"], clutter_density_per_m2=config["clutter_density_per_m2"]
        )
    )


def _track_table(
    table: pa.Table, lon0: float, lat0: float, t0_ns: int, config: dict[str, float]
) -> dict[str, np.ndarray]:
    """Track one table of detections in a frame centred at (lon0, lat0); every reported row
    with its time, track id, position, velocity and associated detection (source:det_id)."""
    from standoff.domain.detections import DetectionBatch
    from standoff.geo.frame import LocalFrame

    frame = LocalFrame(lon0, lat0)
    ns = table["time"].cast(pa.int64()).to_numpy()
    uid = np.char.add(
        np.char.add(table["source"].to_numpy(zero_copy_only=False).astype(str), ":"),
        table["det_id"].to_numpy(zero_copy_only=False).astype(str),
    )
    lat = table["lat"].to_numpy()
    lon = table["lon"].to_numpy()
    x, y = frame.to_xy(lon, lat)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    # One scan per time; within a scan a fixed order (by detection uid), whatever the files.
    order = np.lexsort((uid, ns))
    ns, uid, x, y = ns[order], uid[order], x[order], y[order]
    sig: FloatArray = np.asarray(table["sigma_m"].to_numpy(), dtype=np.float64)[order]
    rv: FloatArray = np.asarray(table["radial_velocity_mps"].to_numpy(), dtype=np.float64)[order]
    sensor: npt.NDArray[np.str_] = np.asarray(
        table["sensor"].to_numpy(zero_copy_only=False), dtype=np.str_
    )[order]
    starts = np.flatnonzero(np.r_[True, ns[1:] != ns[:-1]])
    ends = np.r_[starts[1:], len(ns)]
    tracker = _tracker(config)
    out: dict[str, list[np.ndarray]] = defaultdict(list)
    nan = np.full(len(ns), np.nan)
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        batch = DetectionBatch(
            time_s=(int(ns[a]) - t0_ns) / 1e9,
            x_m=x[a:b],
            y_m=y[a:b],
            sigma_m=sig[a:b],
            sensor=sensor[a:b],
            radial_velocity_mps=rv[a:b],
            sensor_x_m=nan[a:b],
            sensor_y_m=nan[a:b],
            det_id=uid[a:b],
        )
        tb = tracker.step(batch)
        if not len(tb):
            continue
        out["time"].append(np.full(len(tb), ns[a], dtype=np.int64))
        out["track"].append(np.asarray(tb.track_id, dtype=np.int64))
        out["x"].append(tb.x_m)
        out["y"].append(tb.y_m)
        out["vx"].append(tb.vx_mps)
        out["vy"].append(tb.vy_mps)
        det = np.where(tb.det_index >= 0, uid[a:b][np.maximum(tb.det_index, 0)], "")
        out["det"].append(det.astype(str))
    if not out:
        empty = np.zeros(0)
        return {
            "time": empty.astype(np.int64),
            "track": empty.astype(np.int64),
            "lat": empty,
            "lon": empty,
            "vx": empty,
            "vy": empty,
            "det": empty.astype(str),
        }
    cat = {k: np.concatenate(v) for k, v in out.items()}
    lon_t, lat_t = frame.to_lonlat(cat.pop("x"), cat.pop("y"))
    cat["lon"] = np.asarray(lon_t, dtype=np.float64)
    cat["lat"] = np.asarray(lat_t, dtype=np.float64)
    return cat


def _run_task(task: _Task) -> dict[str, Any]:
    """Track one (cell, day) with its halo and warm-up; mark the rows it owns."""
    archive = Path(task.archive)
    c = task.cell_deg
    lat_mid = (task.cy + 0.5) * c
    halo_lat = task.halo_m / _M_PER_DEG
    halo_lon = task.halo_m / (_M_PER_DEG * max(math.cos(math.radians(abs(lat_mid) + c)), 0.05))
    day0 = task.day * _DAY_NS
    start = day0 - round(task.warmup_s * 1e9)
    parts = []
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for d in (task.day - 1, task.day) if task.warmup_s > 0 else (task.day,):
                t = read_partition(archive, task.cx + dx, task.cy + dy, d)
                if t is not None:
                    parts.append(t)
    if not parts:
        return {"rows": None, "detections": 0}
    table = pa.concat_tables(parts)
    lon = table["lon"].to_numpy()
    lat = table["lat"].to_numpy()
    ns = table["time"].cast(pa.int64()).to_numpy()
    x0, y0 = task.cx * c, task.cy * c
    keep = (
        (lon >= x0 - halo_lon)
        & (lon < x0 + c + halo_lon)
        & (lat >= y0 - halo_lat)
        & (lat < y0 + c + halo_lat)
        & (ns >= start)
        & (ns < day0 + _DAY_NS)
    )
    table = table.filter(pa.array(keep))
    rows = _track_table(table, x0 + c / 2, y0 + c / 2, start, task.config)
    ix, iy = _cells(rows["lon"], rows["lat"], c)
    rows["owned"] = (ix == task.cx) & (iy == task.cy) & (rows["time"] >= day0)
    return {"rows": rows, "detections": int(table.num_rows)}


def _link(results: dict[tuple[int, int, int], dict[str, Any]], min_shared: int) -> dict[Any, Any]:
    """Union of tracks across tasks that share associated detections (hand-over)."""
    import pandas as pd

    units = sorted(results)
    parts = []
    for u, unit in enumerate(units):
        rows = results[unit]["rows"]
        if rows is None:
            continue
        has = rows["det"] != ""
        parts.append(pd.DataFrame({"det": rows["det"][has], "u": u, "trk": rows["track"][has]}))
    votes: dict[tuple[Any, Any], int] = {}
    if parts:
        rows_df = pd.concat(parts, ignore_index=True).drop_duplicates()
        shared = rows_df[rows_df.duplicated("det", keep=False)]  # dets seen by 2+ tasks
        pairs = shared.merge(shared, on="det", suffixes=("_a", "_b"))
        pairs = pairs[pairs["u_a"] < pairs["u_b"]]
        counts = pairs.groupby(["u_a", "trk_a", "u_b", "trk_b"]).size().reset_index(name="n")
        for ua, ta, ub, tb, n in counts.itertuples(index=False, name=None):
            votes[((units[int(ua)], int(ta)), (units[int(ub)], int(tb)))] = int(n)
    # Greedy, strongest evidence first: link two groups unless that would put two tracks of
    # one task in one group (each task's tracker is the authority on its own identities), so
    # a chain of links can never merge vehicles a tracker told apart.
    parent: dict[Any, Any] = {}
    members: dict[Any, dict[Any, int]] = {}

    def find(node: Any) -> Any:
        root = node
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(node, node) != root:
            parent[node], node = root, parent[node]
        return root

    for (a, b), n in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0])):
        if n < min_shared:
            break
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        ga = members.get(ra, {ra[0]: ra[1]})
        gb = members.get(rb, {rb[0]: rb[1]})
        if any(unit in ga and ga[unit] != trk for unit, trk in gb.items()):
            continue
        keep, drop = (ra, rb) if ra < rb else (rb, ra)
        parent[drop] = keep
        parent.setdefault(keep, keep)
        members[keep] = {**ga, **gb}
        members.pop(drop, None)
    return {node: find(node) for node in parent}


def track_archive(
    archive: str | Path,
    out_dir: str | Path,
    *,
    executor: Executor | None = None,
    halo_m: float = 8_000.0,
    warmup_s: float = 600.0,
    min_shared: int = 2,
    pd: float = 0.9,
    clutter_density_per_m2: float = 1e-8,
    progress: Any = None,
) -> PartitionTrackSummary:
    """Track every partition of ``archive`` (in parallel on ``executor``) and write the
    tracks, with global identities, partitioned like the detections."""
    src = Path(archive)
    settings = _read_settings(src)
    if halo_m < 0 or warmup_s < 0:
        raise InputError("must not be negative", field="halo_m/warmup_s", value=(halo_m, warmup_s))
    cell = float(settings["cell_deg"])
    if halo_m >= cell * _M_PER_DEG * 0.5:
        raise InputError("the halo must be narrower than half a cell", field="halo_m", value=halo_m)
    units = _partitions(src)
    config = {"pd": pd, "clutter_density_per_m2": clutter_density_per_m2}
    tasks = [
        _Task(str(src), cell, cx, cy, d, float(halo_m), float(warmup_s), config)
        for cx, cy, d in units
    ]
    results: dict[tuple[int, int, int], dict[str, Any]] = {}
    failed: list[str] = []
    ex = executor or InProcessExecutor()
    for i, res in ex.map_unordered(_run_task, tasks):
        unit = units[i]
        if isinstance(res, Failure):
            failed.append(f"cell={unit[0]}_{unit[1]} day={_day_text(unit[2])}: {res}")
        else:
            results[unit] = res
        if progress is not None:
            progress(len(results) + len(failed), len(tasks))
    roots = _link(results, min_shared)
    out = Path(out_dir)
    rows_written, tracks_seen = _write_tracks(out, results, roots, cell)
    summary = PartitionTrackSummary(
        out_dir=out,
        partitions=len(tasks),
        failed=tuple(sorted(failed)),
        detections=sum(int(r["detections"]) for r in results.values()),
        rows=rows_written,
        tracks=tracks_seen,
        links=sum(1 for k, v in roots.items() if k != v),
    )
    (out / "summary.json").write_text(
        json.dumps(
            {
                "schema": "standoff.archive-tracks/1",
                "partitions": summary.partitions,
                "failed": list(summary.failed),
                "rows": summary.rows,
                "tracks": summary.tracks,
                "links": summary.links,
                "halo_m": halo_m,
                "warmup_s": warmup_s,
                "cell_deg": cell,
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    return summary


def _write_tracks(
    out: Path,
    results: dict[tuple[int, int, int], dict[str, Any]],
    roots: dict[Any, Any],
    cell: float,
) -> tuple[int, int]:
    """Owned rows of every task with global track ids (numbered by first appearance)."""
    frames = []
    node_of: dict[Any, int] = {}  # (unit, local track) -> node number
    for unit in sorted(results):
        rows = results[unit]["rows"]
        if rows is None:
            continue
        own = rows["owned"]
        local = rows["track"][own]
        uniq, inv = np.unique(local, return_inverse=True)
        nodes = np.asarray(
            [node_of.setdefault((unit, int(t)), len(node_of)) for t in uniq.tolist()],
            dtype=np.int64,
        )
        frames.append(
            {
                "node": nodes[inv.reshape(-1)] if len(uniq) else np.zeros(0, np.int64),
                **{k: rows[k][own] for k in ("time", "lat", "lon", "vx", "vy", "det")},
            }
        )
    if not frames or not node_of:
        out.mkdir(parents=True, exist_ok=True)
        return 0, 0
    cat = {
        k: np.concatenate([f[k] for f in frames])
        for k in ("node", "time", "lat", "lon", "vx", "vy", "det")
    }
    # Every node's global group (the root of its linked tracks), numbered by first
    # appearance (time, then position), the same whatever ran the tasks.
    names = sorted(node_of, key=node_of.__getitem__)
    root_names = [roots.get(n, n) for n in names]
    root_order = {r: i for i, r in enumerate(sorted(set(root_names), key=repr))}
    group = np.asarray([root_order[r] for r in root_names], dtype=np.int64)[cat["node"]]
    first = np.lexsort((cat["lon"], cat["lat"], cat["time"], group))
    starts = first[np.r_[True, group[first][1:] != group[first][:-1]]]
    rank = np.lexsort((group[starts], cat["lon"][starts], cat["lat"][starts], cat["time"][starts]))
    gid = np.empty(len(root_order), dtype=np.int64)
    gid[group[starts][rank]] = np.arange(1, len(rank) + 1)
    track_id = gid[group]
    ix, iy = _cells(cat["lon"], cat["lat"], cell)
    day = cat["time"] // _DAY_NS
    order = np.lexsort((track_id, cat["time"]))
    for name in ("time", "lat", "lon", "vx", "vy", "det"):
        cat[name] = cat[name][order]
    track_id, ix, iy, day = track_id[order], ix[order], iy[order], day[order]
    part = np.stack([ix, iy, day], axis=1)
    uniq, inverse = np.unique(part, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    for k, (cx, cy, d) in enumerate(uniq.tolist()):
        sel = inverse == k
        folder = out / "tracks" / f"cell={cx}_{cy}" / f"day={_day_text(d)}"
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.table(
            {
                "time": pa.array(cat["time"][sel], pa.timestamp("ns", tz="UTC")),
                "track_id": pa.array(track_id[sel], pa.int64()),
                "lat": pa.array(np.round(cat["lat"][sel], 7), pa.float64()),
                "lon": pa.array(np.round(cat["lon"][sel], 7), pa.float64()),
                "vx": pa.array(np.round(cat["vx"][sel], 3), pa.float64()),
                "vy": pa.array(np.round(cat["vy"][sel], 3), pa.float64()),
                "det": pa.array(cat["det"][sel], pa.string()),
            }
        )
        pq.write_table(table, folder / "tracks.parquet", compression="zstd")
    return len(track_id), len(gid)


def track_whole(
    archive: str | Path,
    *,
    pd: float = 0.9,
    clutter_density_per_m2: float = 1e-8,
) -> dict[str, np.ndarray]:
    """The reference: every detection of the archive through one tracker in one process."""
    src = Path(archive)
    _read_settings(src)
    tables = [
        t for cx, cy, d in _partitions(src) if (t := read_partition(src, cx, cy, d)) is not None
    ]
    if not tables:
        raise InputError("the archive holds no detections", source=str(src))
    table = pa.concat_tables(tables)
    lon = table["lon"].to_numpy()
    lat = table["lat"].to_numpy()
    ns = table["time"].cast(pa.int64()).to_numpy()
    lon0 = float(np.round((lon.min() + lon.max()) / 2, 6))
    lat0 = float(np.round((lat.min() + lat.max()) / 2, 6))
    config = {"pd": pd, "clutter_density_per_m2": clutter_density_per_m2}
    return _track_table(table, lon0, lat0, int(ns.min()), config)


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
    ix, iy = _cells(lon[first], lat[first], cell)
    owner = np.repeat(np.stack([ix, iy, ns[first] // _DAY_NS], axis=1), counts, axis=0)
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
