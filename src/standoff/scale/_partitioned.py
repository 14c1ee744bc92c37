"""Partitioned tracking of an archive: work units, halos, hand-over and the final write.

How a run goes (every step a pure function of the archive and the settings, so the output
is byte-identical whatever executes the units: this process, 1 worker or many):

1. **One frame, one clock.**  Every unit, and the single-process reference
   (:func:`track_single`), works in the same azimuthal-equidistant frame (centred on the
   archive's cells) with the same time origin (midnight of its first day), and orders
   the detections of a scan by the same key.  The tracker is sensitive to the last bit
   of its inputs in dense scenes (a different frame origin alone moves ~8 % of the
   "same track" pairs of a dense 24 h archive), so this is what makes a partition see
   the same numbers as the whole.
2. **Work units.**  A unit is a cell and a time window inside one UTC day; a cell-day
   with more than ``unit_detections`` detections is cut in time at row quantiles (at
   scan boundaries), so units are of similar size.  They are sent largest first.
3. **Halo and warm-up.**  A unit reads, itself, from the Parquet files of its cell and
   its 8 neighbours, every detection within ``halo_m`` of its cell during its window and
   the ``warmup_s`` before it, tracks them, and *owns* the rows whose detection lies in
   its cell and window (a row without a detection: by the track's position).  It writes
   its owned rows with local track numbers to a staging file and returns only the
   hand-over evidence: (detection key, local track) of its associated detections that
   another unit also sees, and the first owned appearance of each track.
4. **Hand-over.**  Tracks of two units that associated the same detections are linked,
   strongest evidence first (at least ``min_shared`` shared detections; two tracks that
   one unit reports at the same time never join one group, so a chain of links cannot
   merge two vehicles a tracker told apart).  Every linked group is one identity,
   numbered by first appearance (time, latitude, longitude).
5. **Write.**  One task per output partition maps its units' local numbers to the global
   ones and writes ``tracks.parquet``; the staging files are removed.

Why "the same as one process" cannot be exact in general: a tracker's state at a
detection is a function of *all* earlier detections that ever interacted with it (filter
state, mode and existence probabilities, the parked / lost memory that lets a vehicle keep
its identity after a stop; the lost-track reach even uses the largest sigma of the whole
scan), while a unit sees a bounded halo and warm-up.  A unit's tracks start from other
numbers than the whole run's and only converge to the same bits; in dense traffic a
difference in the last bit can flip an assignment and the two runs part ways for good.
With a halo and a warm-up longer than the tracker's effective memory in the data, the
units do reproduce the whole run (exactly on the tests' worlds; to 0.9998 pairwise on the
benchmark's dense 24 h archive); no finite halo is enough for every possible archive.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import shutil
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from standoff.core.errors import InputError
from standoff.scale._layout import (
    DAY_NS,
    M_PER_DEG,
    cells,
    detection_files,
    partition_folder,
    read_partition,
)
from standoff.scale.executor import Executor, Failure, InProcessExecutor

__all__ = [
    "PartitionTrackSummary",
    "Plan",
    "UnitOutcome",
    "plan_archive",
    "run_partitioned",
    "track_single",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# A detection's key: (archive partition << 44) | (file in the partition << 32) | row.
_FILE_SHIFT = 32
_PART_SHIFT = 44
_MAX_FILES = 1 << (_PART_SHIFT - _FILE_SHIFT)
_EPS_DEG = 1e-9
_MIN_WINDOW = 2  # the shortest time window of a unit, in warm-ups
_TRUST = 0.5  # the share of the halo and of the warm-up after which a unit is trusted


@dataclass(frozen=True)
class Plan:
    """What every unit and the single-process reference share about an archive."""

    archive: str
    cell_deg: float
    parts: tuple[tuple[int, int, int], ...]  # (ix, iy, day) of every partition, sorted
    lon0_deg: float  # the tracking frame's origin
    lat0_deg: float
    t0_ns: int  # the tracker's time origin
    halo_m: float
    halo_lon_deg: float  # the halo in degrees, conservative over the archive's latitudes
    halo_lat_deg: float
    warmup_ns: int
    config: tuple[tuple[str, float], ...]


def plan_archive(
    archive: Path,
    cell_deg: float,
    parts: list[tuple[int, int, int]],
    *,
    halo_m: float,
    warmup_s: float,
    config: dict[str, float],
) -> Plan:
    if not parts:
        raise InputError("the archive holds no detections", source=str(archive))
    c = cell_deg
    xs = [p[0] for p in parts]
    ys = [p[1] for p in parts]
    lat_far = min(max(abs(min(ys) * c), abs((max(ys) + 1) * c)), 89.0)
    halo_lat = halo_m / M_PER_DEG
    halo_lon = halo_m / (M_PER_DEG * max(math.cos(math.radians(lat_far)), 0.02))
    if halo_lat >= c / 2 or halo_lon >= c / 2:
        raise InputError(
            f"the halo must be narrower than half a cell ({c} degrees) at latitude {lat_far:g}",
            field="halo_m",
            value=halo_m,
        )
    return Plan(
        archive=str(archive),
        cell_deg=c,
        parts=tuple(parts),
        lon0_deg=round((min(xs) + max(xs) + 1) * c / 2, 6),
        lat0_deg=round((min(ys) + max(ys) + 1) * c / 2, 6),
        t0_ns=min(p[2] for p in parts) * DAY_NS,
        halo_m=halo_m,
        halo_lon_deg=halo_lon,
        halo_lat_deg=halo_lat,
        warmup_ns=round(warmup_s * 1e9),
        config=tuple(sorted(config.items())),
    )


# -- reading and tracking ----------------------------------------------------------------


_COLUMNS = ["time", "sensor", "lat", "lon", "sigma_m", "radial_velocity_mps"]


def _read_region(
    plan: Plan,
    parts: tuple[tuple[int, int, int, int], ...],
    box: tuple[float, float, float, float],
    t_lo: int,
    t_hi: int,
) -> dict[str, Any]:
    """Detections of ``parts`` ((ix, iy, day, index in plan.parts)) inside ``box`` (lon_lo,
    lon_hi, lat_lo, lat_hi) and [t_lo, t_hi), with their keys (not their names: see
    :func:`_det_text`)."""
    archive = Path(plan.archive)
    lon_lo, lon_hi, lat_lo, lat_hi = box
    tables: list[pa.Table] = []
    keys: list[IntArray] = []
    for cx, cy, day, p in parts:
        files = detection_files(archive, cx, cy, day)
        if len(files) > _MAX_FILES:
            raise InputError(
                f"a partition holds more than {_MAX_FILES} sources",
                source=str(partition_folder(archive, "detections", cx, cy, day)),
            )
        for f, path in enumerate(files):
            t = pq.read_table(path, columns=_COLUMNS)
            lon = t["lon"].to_numpy()
            lat = t["lat"].to_numpy()
            ns = t["time"].cast(pa.int64()).to_numpy()
            keep = np.flatnonzero(
                (lon >= lon_lo)
                & (lon < lon_hi)
                & (lat >= lat_lo)
                & (lat < lat_hi)
                & (ns >= t_lo)
                & (ns < t_hi)
            )
            if not len(keep):
                continue
            tables.append(t.take(pa.array(keep)) if len(keep) < t.num_rows else t)
            keys.append((p << _PART_SHIFT) | (f << _FILE_SHIFT) | keep.astype(np.int64))
    if not tables:
        return {"n": 0}
    table = pa.concat_tables(tables)
    sensor = pc.dictionary_encode(table["sensor"]).combine_chunks()
    labels = np.asarray(sensor.dictionary.to_pylist(), dtype=np.str_)
    return {
        "n": table.num_rows,
        "key": np.concatenate(keys),
        "ns": table["time"].cast(pa.int64()).to_numpy(),
        "lon": table["lon"].to_numpy(),
        "lat": table["lat"].to_numpy(),
        "sigma_m": np.asarray(table["sigma_m"].to_numpy(), dtype=np.float64),
        "rv_mps": np.asarray(table["radial_velocity_mps"].to_numpy(), dtype=np.float64),
        "sensor": labels[sensor.indices.to_numpy(zero_copy_only=False)],
    }


def _det_text(
    archive: str, parts: Mapping[int, tuple[int, int, int]], keys: IntArray
) -> npt.NDArray[np.str_]:
    """``source:det_id`` of the detections with these keys (``""`` for a key of -1);
    ``parts``: (ix, iy, day) of each partition index the keys may hold."""
    out = np.full(len(keys), "", dtype=object)
    has = keys >= 0
    file_of = np.where(has, keys >> _FILE_SHIFT, -1)
    for fk in np.unique(file_of[has]).tolist():
        sel = np.flatnonzero(file_of == fk)
        cx, cy, day = parts[fk >> (_PART_SHIFT - _FILE_SHIFT)]
        path = detection_files(Path(archive), cx, cy, day)[fk & (_MAX_FILES - 1)]
        rows = pa.array(keys[sel] & ((1 << _FILE_SHIFT) - 1))
        t = pq.read_table(path, columns=["source", "det_id"]).take(rows)
        text = pc.binary_join_element_wise(t["source"], t["det_id"], ":")
        out[sel] = text.to_numpy(zero_copy_only=False)
    return out.astype(np.str_) if len(out) else np.zeros(0, dtype=np.str_)


@lru_cache(maxsize=4)
def _frame(lon0_deg: float, lat0_deg: float) -> Any:
    from standoff.geo.frame import LocalFrame

    return LocalFrame(lon0_deg, lat0_deg)


def _track_columns(cols: dict[str, Any], plan: Plan) -> dict[str, np.ndarray]:
    """Track the detections of ``cols`` in the plan's frame and clock: every reported row
    with its time, track number, position (x, y in the frame), velocity and detection row
    (-1: none)."""
    from standoff.domain.detections import DetectionBatch
    from standoff.track import Tracker, TrackerConfig

    frame = _frame(plan.lon0_deg, plan.lat0_deg)
    order = np.lexsort((cols["key"], cols["ns"]))  # one scan per time, ordered by key
    ns = cols["ns"][order]
    x, y = frame.to_xy(cols["lon"][order], cols["lat"][order])
    sig = cols["sigma_m"][order]
    rv = cols["rv_mps"][order]
    sensor = cols["sensor"][order]
    starts = np.flatnonzero(np.r_[True, ns[1:] != ns[:-1]])
    ends = np.r_[starts[1:], len(ns)]
    nan = np.full(len(ns), np.nan)
    config = dict(plan.config)
    tracker = Tracker(
        config=TrackerConfig(
            pd=config["pd"], clutter_density_per_m2=config["clutter_density_per_m2"]
        )
    )
    out: dict[str, list[np.ndarray]] = defaultdict(list)
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        tb = tracker.step(
            DetectionBatch(
                time_s=(int(ns[a]) - plan.t0_ns) / 1e9,
                x_m=x[a:b],
                y_m=y[a:b],
                sigma_m=sig[a:b],
                sensor=sensor[a:b],
                radial_velocity_mps=rv[a:b],
                sensor_x_m=nan[a:b],
                sensor_y_m=nan[a:b],
                det_id=order[a:b],
            )
        )
        if not len(tb):
            continue
        out["time"].append(np.full(len(tb), ns[a], dtype=np.int64))
        out["track"].append(np.asarray(tb.track_id, dtype=np.int64))
        out["x"].append(tb.x_m)
        out["y"].append(tb.y_m)
        out["vx"].append(tb.vx_mps)
        out["vy"].append(tb.vy_mps)
        out["row"].append(np.where(tb.det_index >= 0, order[a:b][tb.det_index], -1))
    names = ("time", "track", "x", "y", "vx", "vy", "row")
    cat = {k: (np.concatenate(out[k]) if out else np.zeros(0, np.float64)) for k in names}
    for k in ("time", "track", "row"):
        cat[k] = cat[k].astype(np.int64)
    return cat


def _lonlat(plan: Plan, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    lon, lat = _frame(plan.lon0_deg, plan.lat0_deg).to_lonlat(x, y)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def track_single(plan: Plan) -> dict[str, np.ndarray]:
    """The reference: every detection of the archive through one tracker, one process."""
    everything = tuple((cx, cy, d, p) for p, (cx, cy, d) in enumerate(plan.parts))
    inf = math.inf
    cols = _read_region(plan, everything, (-inf, inf, -inf, inf), -(2**62), 2**62)
    if not cols["n"]:
        raise InputError("the archive holds no detections", source=plan.archive)
    rows = _track_columns(cols, plan)
    lon, lat = _lonlat(plan, rows["x"], rows["y"])
    key = np.where(rows["row"] >= 0, cols["key"][np.maximum(rows["row"], 0)], -1)
    return {
        "time": rows["time"],
        "track": rows["track"],
        "lat": lat,
        "lon": lon,
        "vx": rows["vx"],
        "vy": rows["vy"],
        "det": _det_text(plan.archive, dict(enumerate(plan.parts)), key),
    }


# -- work units --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    index: int
    plan: Plan  # without its partition list (``reads`` names what the unit needs)
    cx: int
    cy: int
    day: int
    start_ns: int  # the owned window [start_ns, end_ns), inside the day
    end_ns: int
    reads: tuple[tuple[int, int, int, int], ...]  # (ix, iy, day, index in plan.parts)
    stage: str
    weight: int  # detections it tracks (halo and warm-up included): largest first


@dataclass(frozen=True)
class UnitOutcome:
    """What a unit hands back: counts and hand-over evidence (a few arrays)."""

    detections: int
    link_key: IntArray  # detections another unit may also see, and their local track
    link_track: IntArray
    link_depth: FloatArray  # how far this unit's tracker had come there (0..1)
    tracks: IntArray  # local tracks with owned rows, and their first owned appearance
    first_ns: IntArray
    first_lat: FloatArray
    first_lon: FloatArray
    span_track: IntArray  # every trusted local track and its first/last trusted report
    span_lo: IntArray
    span_hi: IntArray


def _where(archive: Path, part: tuple[int, int, int]) -> tuple[IntArray, FloatArray, FloatArray]:
    """Time, longitude and latitude of every detection of one partition."""
    t = read_partition(archive, *part, columns=["time", "lon", "lat"])
    if t is None:
        z = np.zeros(0)
        return np.zeros(0, dtype=np.int64), z, z
    return t["time"].cast(pa.int64()).to_numpy(), t["lon"].to_numpy(), t["lat"].to_numpy()


def _units(plan: Plan, stage: Path, unit_detections: int) -> list[_Unit]:
    """The work units: every cell-day, cut in time (at row quantiles of what its unit
    would track, halo included) so that none tracks much more than ``unit_detections``,
    and no window is shorter than ``_MIN_WINDOW`` warm-ups."""
    archive = Path(plan.archive)
    index = {p: i for i, p in enumerate(plan.parts)}
    c, hl, ht, w = plan.cell_deg, plan.halo_lon_deg, plan.halo_lat_deg, plan.warmup_ns
    # Cell-days are visited column by column and each is needed by three columns: keep
    # three columns' worth (not the whole archive) so that none is read twice.
    column = len({(cy, day) for _, cy, day in plan.parts})
    where = lru_cache(maxsize=max(64, 3 * column + 9))(partial(_where, archive))
    shipped = dataclasses.replace(plan, parts=())  # each task needs only its reads

    def near(cx: int, cy: int, lo: int, hi: int) -> tuple[tuple[int, int, int, int], ...]:
        """The 3 x 3 cells around (cx, cy) on the days [lo - warm-up, hi) touches."""
        days = range((lo - w) // DAY_NS, (hi - 1) // DAY_NS + 1)
        return tuple(
            (cx + dx, cy + dy, d, index[(cx + dx, cy + dy, d)])
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for d in days
            if (cx + dx, cy + dy, d) in index
        )

    units: list[_Unit] = []
    for cx, cy, day in plan.parts:
        day0, day1 = day * DAY_NS, (day + 1) * DAY_NS
        x0, y0 = cx * c, cy * c
        times = []
        for px, py, pd_, _ in near(cx, cy, day0, day1):
            ns, lon, lat = where((px, py, pd_))
            inside = (lon >= x0 - hl) & (lon < x0 + c + hl) & (lat >= y0 - ht) & (lat < y0 + c + ht)
            times.append(ns[inside & (ns >= day0 - w) & (ns < day1)])
        ns = np.sort(np.concatenate(times))
        in_day = ns[ns >= day0]
        k = max(1, math.ceil(len(ns) / unit_detections))
        bounds = [day0]
        if k > 1 and len(in_day):
            for cut in in_day[(np.arange(1, k) * len(in_day)) // k].tolist():
                if cut - bounds[-1] >= _MIN_WINDOW * max(w, 1) and day1 - cut >= _MIN_WINDOW * w:
                    bounds.append(int(cut))
        bounds.append(day1)
        for lo, hi in itertools.pairwise(bounds):
            first, last = np.searchsorted(ns, [lo - w, hi])
            reads = near(cx, cy, lo, hi)
            n = len(units)
            stage_file = str(stage / f"unit-{n}.parquet")
            weight = int(last - first)
            units.append(_Unit(n, shipped, cx, cy, day, lo, hi, reads, stage_file, weight))
    return units


def _run_unit(u: _Unit) -> UnitOutcome:
    """Track one unit with its halo and warm-up; stage its owned rows; return the
    hand-over evidence."""
    plan = u.plan
    c = plan.cell_deg
    hl, ht, w = plan.halo_lon_deg, plan.halo_lat_deg, plan.warmup_ns
    x0, y0 = u.cx * c, u.cy * c
    cols = _read_region(
        plan, u.reads, (x0 - hl, x0 + c + hl, y0 - ht, y0 + c + ht), u.start_ns - w, u.end_ns
    )
    empty_i = np.zeros(0, np.int64)
    empty_f = np.zeros(0, np.float64)
    if not cols["n"]:
        return UnitOutcome(
            0, empty_i, empty_i, empty_f, empty_i, empty_i, empty_f, empty_f, *(empty_i,) * 3
        )
    rows = _track_columns(cols, plan)
    det = rows["row"]
    has = det >= 0
    r = np.maximum(det, 0)
    key = np.where(has, cols["key"][r], -1)
    t = rows["time"]
    # Where a row belongs: its detection (exactly one unit owns a detection), else the
    # track's own position.  Track positions in degrees: only where needed.
    lon = cols["lon"][r]
    lat = cols["lat"][r]
    ix, iy = cells(lon, lat, c)
    in_window = (t >= u.start_ns) & (t < u.end_ns)
    need = np.flatnonzero(~has | ((ix == u.cx) & (iy == u.cy) & in_window))
    trk_lon = np.full(len(t), np.nan)
    trk_lat = np.full(len(t), np.nan)
    trk_lon[need], trk_lat[need] = _lonlat(plan, rows["x"][need], rows["y"][need])
    lon = np.where(has, lon, trk_lon)
    lat = np.where(has, lat, trk_lat)
    if not has.all():  # rows without a detection: the cell of the track's own position
        ix[~has], iy[~has] = cells(lon[~has], lat[~has], c)
    owned = (ix == u.cx) & (iy == u.cy) & in_window
    # Trusted rows: where this unit's tracker has had at least half the halo and half
    # the warm-up to forget how it started (the unit's cell grown by half the halo, from
    # half-way through the warm-up).  Hand-over evidence is a detection both units trust;
    # one that lies deeper in this cell than half a halo, and before the next window's
    # trusted part, is trusted by no other unit and is not sent.
    tl, tt, tw = hl * _TRUST, ht * _TRUST, round(w * _TRUST)
    # how far the tracker has come, as a share of the halo / warm-up (1: all the way)
    depth = np.minimum.reduce(
        [
            (lon - (x0 - hl)) / max(hl, _EPS_DEG),
            (x0 + c + hl - lon) / max(hl, _EPS_DEG),
            (lat - (y0 - ht)) / max(ht, _EPS_DEG),
            (y0 + c + ht - lat) / max(ht, _EPS_DEG),
            (t - (u.start_ns - w)) / max(w, 1),
            np.ones(len(t)),
        ]
    )
    trusted = (
        (lon >= x0 - tl)
        & (lon < x0 + c + tl)
        & (lat >= y0 - tt)
        & (lat < y0 + c + tt)
        & (t >= u.start_ns - w + tw)
    )
    ml, mt = tl * 1.001 + _EPS_DEG, tt * 1.001 + _EPS_DEG
    private = (
        (lon >= x0 + ml)
        & (lon < x0 + c - ml)
        & (lat >= y0 + mt)
        & (lat < y0 + c - mt)
        & (t >= u.start_ns)
        & (t < u.end_ns - tw)
    )
    link = has & trusted & ~private
    # first owned appearance of each local track (time, then latitude, longitude)
    own = np.flatnonzero(owned)
    o = own[np.lexsort((trk_lon[own], trk_lat[own], t[own], rows["track"][own]))]
    first = o[np.r_[True, rows["track"][o][1:] != rows["track"][o][:-1]]] if len(o) else o
    # every trusted track's span (for the "never two at once" rule of the hand-over)
    s = np.flatnonzero(trusted)
    s = s[np.lexsort((t[s], rows["track"][s]))]
    trk_s = rows["track"][s]
    lo = np.r_[True, trk_s[1:] != trk_s[:-1]]
    hi = np.r_[trk_s[1:] != trk_s[:-1], True]
    if len(own):
        stage = Path(u.stage)
        stage.parent.mkdir(parents=True, exist_ok=True)
        table = pa.table(
            {
                "time": pa.array(t[own], pa.int64()),
                "track": pa.array(rows["track"][own], pa.int64()),
                "lat": pa.array(trk_lat[own], pa.float64()),
                "lon": pa.array(trk_lon[own], pa.float64()),
                "vx": pa.array(rows["vx"][own], pa.float64()),
                "vy": pa.array(rows["vy"][own], pa.float64()),
                "det": pa.array(
                    _det_text(plan.archive, {p: (x, y, d) for x, y, d, p in u.reads}, key[own]),
                    pa.string(),
                ),
            }
        )
        pq.write_table(table, stage, compression="lz4")
    return UnitOutcome(
        detections=int(cols["n"]),
        link_key=key[link],
        link_track=rows["track"][link],
        link_depth=np.round(depth[link], 4),
        tracks=rows["track"][first],
        first_ns=t[first],
        first_lat=trk_lat[first],
        first_lon=trk_lon[first],
        span_track=trk_s[lo],
        span_lo=t[s][lo],
        span_hi=t[s][hi],
    )


# -- hand-over ---------------------------------------------------------------------------

Node = tuple[int, int]  # (unit index, local track)


def _link(outcomes: dict[int, UnitOutcome], min_shared: int) -> dict[Node, Node]:
    """Every linked track's group root: tracks of different units that associated the
    same detections, strongest evidence first."""
    import pandas as pd

    frames = [
        pd.DataFrame({"key": o.link_key, "u": u, "trk": o.link_track, "q": o.link_depth})
        for u, o in sorted(outcomes.items())
        if len(o.link_key)
    ]
    if not frames:
        return {}
    rows = pd.concat(frames, ignore_index=True)
    shared = rows[rows.duplicated("key", keep=False)]
    pairs = shared.merge(shared, on="key", suffixes=("_a", "_b"))
    pairs = pairs[pairs["u_a"] < pairs["u_b"]]
    # A shared detection is as good evidence as the less settled of the two trackers was
    # there; a pair of tracks scores the quality of its min_shared-th best detection (then
    # how many it shares), so the links made where both trackers had settled come first.
    pairs = pairs.assign(q=np.minimum(pairs["q_a"], pairs["q_b"]))
    by = ["u_a", "trk_a", "u_b", "trk_b"]
    pairs = pairs.sort_values([*by, "q"], ascending=[True, True, True, True, False])
    pairs = pairs.assign(rank=pairs.groupby(by, sort=False).cumcount())
    score = pairs[pairs["rank"] == min_shared - 1].set_index(by)["q"]
    sizes = pairs.groupby(by, sort=True).size().rename("n")
    counts = pd.concat([score, sizes], axis=1, join="inner").reset_index()
    counts = counts.sort_values(["q", "n", *by], ascending=[False, False, True, True, True, True])
    span: dict[Node, tuple[int, int]] = {}
    for u, o in outcomes.items():
        for trk, a, b in zip(
            o.span_track.tolist(), o.span_lo.tolist(), o.span_hi.tolist(), strict=True
        ):
            span[(u, trk)] = (a, b)
    parent: dict[Node, Node] = {}
    members: dict[Node, dict[int, list[tuple[int, int]]]] = {}

    def find(node: Node) -> Node:
        root = node
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(node, node) != root:
            parent[node], node = root, parent[node]
        return root

    def group(root: Node) -> dict[int, list[tuple[int, int]]]:
        return members.get(root) or {root[0]: [span.get(root, (0, -1))]}

    for ua, ta, ub, tb, _q, _n in counts[[*by, "q", "n"]].itertuples(index=False, name=None):
        ra, rb = find((int(ua), int(ta))), find((int(ub), int(tb)))
        if ra == rb:
            continue
        ga, gb = group(ra), group(rb)
        # One unit never sees one vehicle as two tracks at once: a group may hold two
        # tracks of one unit only one after the other.
        if any(
            lo1 <= hi2 and lo2 <= hi1
            for unit, spans in gb.items()
            for lo1, hi1 in spans
            for lo2, hi2 in ga.get(unit, ())
        ):
            continue
        keep, drop = (ra, rb) if ra < rb else (rb, ra)
        parent[drop] = keep
        parent.setdefault(keep, keep)
        merged = {k: list(v) for k, v in ga.items()}
        for unit, spans in gb.items():
            merged.setdefault(unit, []).extend(spans)
        members[keep] = merged
        members.pop(drop, None)
    return {node: find(node) for node in parent}


def _number(outcomes: dict[int, UnitOutcome], roots: dict[Node, Node]) -> dict[Node, int]:
    """Global track numbers: one per linked group, by first owned appearance."""
    first: dict[Node, tuple[int, float, float]] = {}
    node_root: dict[Node, Node] = {}
    for u, o in sorted(outcomes.items()):
        for trk, t, lat, lon in zip(
            o.tracks.tolist(),
            o.first_ns.tolist(),
            o.first_lat.tolist(),
            o.first_lon.tolist(),
            strict=True,
        ):
            node = (u, trk)
            root = roots.get(node, node)
            node_root[node] = root
            seen = first.get(root)
            if seen is None or (t, lat, lon) < seen:
                first[root] = (t, lat, lon)
    order = sorted(first, key=lambda root: (*first[root], root))
    number = {root: i for i, root in enumerate(order, start=1)}
    return {node: number[root] for node, root in node_root.items()}


@dataclass(frozen=True)
class _Write:
    out: str
    cx: int
    cy: int
    day: int
    stages: tuple[str, ...]
    local: tuple[IntArray, ...]  # per stage: sorted local tracks and their global numbers
    numbers: tuple[IntArray, ...]


def _write_partition(w: _Write) -> int:
    """One output partition: its units' owned rows with global numbers, time-ordered."""
    parts = []
    for stage, local, numbers in zip(w.stages, w.local, w.numbers, strict=True):
        t = pq.read_table(stage)
        trk = t["track"].to_numpy()
        parts.append(
            t.drop_columns(["track"]).append_column(
                "track_id", pa.array(numbers[np.searchsorted(local, trk)], pa.int64())
            )
        )
    t = pa.concat_tables(parts)
    cols = {k: t[k].to_numpy(zero_copy_only=False) for k in t.column_names}
    order = np.lexsort((cols["lon"], cols["lat"], cols["track_id"], cols["time"]))
    folder = partition_folder(Path(w.out), "tracks", w.cx, w.cy, w.day)
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "time": pa.array(cols["time"][order], pa.timestamp("ns", tz="UTC")),
            "track_id": pa.array(cols["track_id"][order], pa.int64()),
            "lat": pa.array(np.round(cols["lat"][order], 7), pa.float64()),
            "lon": pa.array(np.round(cols["lon"][order], 7), pa.float64()),
            "vx": pa.array(np.round(cols["vx"][order], 3), pa.float64()),
            "vy": pa.array(np.round(cols["vy"][order], 3), pa.float64()),
            "det": pa.array(cols["det"][order], pa.string()),
        }
    )
    pq.write_table(table, folder / "tracks.parquet", compression="zstd")
    return int(table.num_rows)


@dataclass(frozen=True)
class PartitionTrackSummary:
    """``partitions``: cell-days of the archive; ``units``: work units they were tracked
    as; ``detections``: detections tracked over all units (halos and warm-ups count once
    per unit that reads them); ``links``: hand-overs (tracks joined to another unit's)."""

    out_dir: Path
    partitions: int
    failed: tuple[str, ...]
    detections: int
    rows: int
    tracks: int
    links: int
    units: int


def run_partitioned(
    plan: Plan,
    out: Path,
    *,
    executor: Executor | None,
    unit_detections: int,
    min_shared: int,
    progress: Any = None,
) -> PartitionTrackSummary:
    """Track every unit (largest first), hand over, number, write; see the module text."""
    stage = out / ".staging"
    shutil.rmtree(stage, ignore_errors=True)
    shutil.rmtree(out / "tracks", ignore_errors=True)
    units = _units(plan, stage, unit_detections)
    by_size = sorted(units, key=lambda u: (-u.weight, u.index))
    ex = executor or InProcessExecutor()
    outcomes: dict[int, UnitOutcome] = {}
    failed: list[str] = []
    try:
        for i, res in ex.map_unordered(_run_unit, by_size):
            u = by_size[i]
            if isinstance(res, Failure):
                failed.append(f"cell={u.cx}_{u.cy} day={u.day} unit {u.index}: {res}")
            else:
                outcomes[u.index] = res
            if progress is not None:
                progress(len(outcomes) + len(failed), len(units))
        roots = _link(outcomes, min_shared)
        numbers = _number(outcomes, roots)
        writes = _writes(out, units, outcomes, numbers)
        rows = 0
        for i, res in ex.map_unordered(_write_partition, writes):
            if isinstance(res, Failure):
                failed.append(f"writing cell={writes[i].cx}_{writes[i].cy}: {res}")
            else:
                rows += int(res)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    return PartitionTrackSummary(
        out_dir=out,
        partitions=len(plan.parts),
        units=len(units),
        failed=tuple(sorted(failed)),
        detections=sum(o.detections for o in outcomes.values()),
        rows=rows,
        tracks=len(set(numbers.values())),
        links=sum(1 for k, v in roots.items() if k != v),
    )


def _writes(
    out: Path, units: list[_Unit], outcomes: dict[int, UnitOutcome], numbers: dict[Node, int]
) -> list[_Write]:
    by_part: dict[tuple[int, int, int], list[_Unit]] = defaultdict(list)
    for u in units:
        o = outcomes.get(u.index)
        if o is not None and len(o.tracks):  # it owns rows
            by_part[(u.cx, u.cy, u.day)].append(u)
    writes = []
    for (cx, cy, day), us in sorted(by_part.items()):
        local = tuple(outcomes[u.index].tracks for u in us)  # sorted (lexsort by track)
        nums = tuple(
            np.asarray([numbers[(u.index, int(k))] for k in loc.tolist()], dtype=np.int64)
            for u, loc in zip(us, local, strict=True)
        )
        writes.append(_Write(str(out), cx, cy, day, tuple(u.stage for u in us), local, nums))
    writes.sort(key=lambda w: -sum(len(v) for v in w.local))
    return writes
