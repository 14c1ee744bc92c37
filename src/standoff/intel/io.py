"""Reading a run for analysis: ``meta.json`` (+ ``scenario.yaml``), tracks, detections and
where the radar looked (``scans.csv``).

Everything is turned into flat numpy arrays in the run's local east/north frame (metres)
with times in seconds from the run's start (``t_s``); errors name the file, the data row
(header = line 1, so data row N is line N + 1), the field and the value.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml

from standoff.core.errors import InputError
from standoff.domain.detections import in_sector, scan_dwell_s
from standoff.geo.frame import LocalFrame

__all__ = [
    "DetectionTable",
    "RunInfo",
    "ScanTable",
    "TrackTable",
    "read_detections",
    "read_run",
    "read_scans",
    "read_tracks",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class RunInfo:
    """What the analysis needs to know about a run."""

    run_id: str
    start_utc: datetime
    duration_s: float
    utc_offset_h: float
    operator: str
    frame: LocalFrame
    sorties: tuple[tuple[float, float], ...] = ()
    """When the sensors were up (start, end in run seconds), one window per sortie; empty:
    one sortie, the whole run."""
    radar_mdv_mps: float | None = None
    """The moving-target radar's minimum detectable velocity (its speed along the line of
    sight), from the run's sensors; None: the run does not say."""

    def utc(self, t_s: float) -> datetime:
        return self.start_utc + timedelta(seconds=float(t_s))

    @property
    def nights(self) -> int:
        """Sorties of the run (nights watched): the analysis weighs evidence per night."""
        return max(len(self.sorties), 1)

    def sortie_of(self, t_s: npt.ArrayLike) -> IntArray:
        """Index of the sortie of each time: the last that started at or before it (0 for a
        time before the first, and for every time of a run of one sortie)."""
        t = np.asarray(t_s, dtype=np.float64)
        if len(self.sorties) < 2:
            return np.zeros(t.shape, dtype=np.int64)
        starts = np.array([s for s, _ in self.sorties], dtype=np.float64)
        return np.asarray(np.maximum(np.searchsorted(starts, t, side="right") - 1, 0), np.int64)


@dataclass(frozen=True)
class TrackTable:
    """Tracker output, one row per reported track per scan, sorted by track then time."""

    track_id: IntArray
    t_s: FloatArray
    x_m: FloatArray
    y_m: FloatArray
    vx_mps: FloatArray
    vy_mps: FloatArray
    det_id: IntArray
    """Detection the track was updated with, -1 when it coasted."""
    source: str = "tracks"

    @property
    def observed(self) -> BoolArray:
        return np.asarray(self.det_id >= 0)

    def __len__(self) -> int:
        return int(self.track_id.shape[0])

    def select(self, keep: BoolArray) -> TrackTable:
        return TrackTable(
            self.track_id[keep], self.t_s[keep], self.x_m[keep], self.y_m[keep],
            self.vx_mps[keep], self.vy_mps[keep], self.det_id[keep], self.source,
        )  # fmt: skip


@dataclass(frozen=True)
class DetectionTable:
    """Detections: id, time, sensor name and local position."""

    det_id: IntArray
    t_s: FloatArray
    sensor: npt.NDArray[np.str_]
    x_m: FloatArray
    y_m: FloatArray

    def __len__(self) -> int:
        return int(self.det_id.shape[0])


@dataclass(frozen=True)
class ScanTable:
    """Where each area scan looked: the sensor's position, the ground annulus
    ``r_min_m``..``r_max_m`` and the sector ``centre_rad`` +- ``half_rad`` (clockwise from
    the frame's north), one element per scan in time order."""

    t_s: FloatArray
    x_m: FloatArray
    y_m: FloatArray
    r_min_m: FloatArray
    r_max_m: FloatArray
    centre_rad: FloatArray
    half_rad: FloatArray

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    def looked(self, x_m: npt.ArrayLike, y_m: npt.ArrayLike) -> BoolArray:
        """(scans, points): whether each scan's sector held each point."""
        x = np.asarray(x_m, dtype=np.float64)[None, :]
        y = np.asarray(y_m, dtype=np.float64)[None, :]
        return in_sector(
            x - self.x_m[:, None], y - self.y_m[:, None], self.r_min_m[:, None],
            self.r_max_m[:, None], self.centre_rad[:, None], self.half_rad[:, None],
        )  # fmt: skip

    def dwell_s(self) -> FloatArray:
        """The time each scan stands for (:func:`~standoff.domain.detections.scan_dwell_s`)."""
        return scan_dwell_s(self.t_s)


def _fail(source: str, message: str, **kw: Any) -> InputError:
    return InputError(message, source=source, **kw)


def read_run(run_dir: str | Path) -> RunInfo:
    """Read ``meta.json`` (frame, start, duration, operator, the scenario's UTC offset; runs
    written before it held the offset: ``scenario.yaml`` beside it)."""
    run = Path(run_dir)
    meta_path = run / "meta.json"
    if not meta_path.is_file():
        raise _fail(str(run), "not a run folder (no meta.json)")
    raw = meta_path.read_bytes()
    try:
        meta = json.loads(raw)
        frame = LocalFrame(
            float(meta["frame"]["origin_lon_deg"]), float(meta["frame"]["origin_lat_deg"])
        )
        scen = meta["scenario"]
        start = datetime.fromisoformat(str(scen["start_utc"]).replace("Z", "+00:00"))
        duration = float(scen["duration_s"])
        operator = str(meta.get("plan", {}).get("operator", "USA"))
        sorties = tuple(
            (float(a), float(b)) for a, b in meta.get("plan", {}).get("sortie_windows_s", [])
        )
        mdv_raw = ((meta.get("sensors") or {}).get("gmti") or {}).get("mdv_mps")
    except json.JSONDecodeError as exc:
        raise _fail(str(meta_path), f"not JSON: {exc.msg}", row=exc.lineno) from exc
    except KeyError as exc:
        raise _fail(str(meta_path), "missing key", field=str(exc.args[0])) from exc
    except (TypeError, ValueError) as exc:
        raise _fail(str(meta_path), f"bad value: {exc}", field="scenario") from exc
    if start.utcoffset() is None:
        raise _fail(str(meta_path), "start without UTC offset", field="scenario.start_utc")
    mdv = None
    if mdv_raw is not None:
        try:
            mdv = float(mdv_raw)
        except (TypeError, ValueError):
            mdv = float("nan")
        if not (np.isfinite(mdv) and mdv >= 0.0):
            raise _fail(
                str(meta_path),
                "not a speed (m/s, 0 or more)",
                field="sensors.gmti.mdv_mps",
                value=mdv_raw,
            )
    offset = 0.0
    scen_path = run / "scenario.yaml"
    if "utc_offset_h" in scen:
        try:
            offset = float(scen["utc_offset_h"])
        except (TypeError, ValueError) as exc:
            raise _fail(str(meta_path), f"bad value: {exc}", field="scenario.utc_offset_h") from exc
    elif scen_path.is_file():  # a run written before meta.json held the offset
        try:
            doc = yaml.safe_load(scen_path.read_text(encoding="utf-8")) or {}
            offset = float(doc.get("utc_offset_h", 0.0)) if isinstance(doc, dict) else 0.0
        except (yaml.YAMLError, TypeError, ValueError) as exc:
            raise _fail(str(scen_path), f"cannot read: {exc}", field="utc_offset_h") from exc
    run_id = f"{run.resolve().name}-{hashlib.sha256(raw).hexdigest()[:12]}"
    return RunInfo(run_id, start, duration, offset, operator, frame, sorties, mdv)


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise _fail(str(path), "no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except Exception as exc:  # pandas/pyarrow parser errors of every kind
        raise _fail(str(path), f"cannot read the file: {exc}") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if len(frame) == 0:
        raise _fail(str(path), "the file has no rows")
    return frame


def _column(path: Path, frame: pd.DataFrame, *names: str) -> pd.Series:
    for name in names:
        if name in frame.columns:
            return frame[name]
    raise _fail(str(path), "missing column", field=" or ".join(names))


def _numbers(path: Path, series: pd.Series, *, allow_empty: bool = False) -> FloatArray:
    text = series.astype(str).str.strip()
    values = pd.to_numeric(text.where(text != "", None), errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values) & ~(allow_empty & (text == "").to_numpy())
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail(str(path), "not a finite number", row=i + 2, field=str(series.name),
                    value=series.iloc[i])  # fmt: skip
    return values


def _times(path: Path, series: pd.Series, info: RunInfo) -> FloatArray:
    text = series.astype(str).str.strip()
    numeric = pd.to_numeric(text, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(np.float64)
    parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail(str(path), "not an ISO 8601 time or seconds", row=i + 2, field="time",
                    value=series.iloc[i])  # fmt: skip
    start = pd.Timestamp(info.start_utc)
    return np.asarray((parsed - start).dt.total_seconds().to_numpy(), dtype=np.float64)


def read_tracks(path: str | Path, info: RunInfo) -> TrackTable:
    """Read a tracks CSV/Parquet (``time,track_id,x,y|lat,lon,vx,vy,det_id``)."""
    p = Path(path)
    frame = _read_csv(p)
    t_s = _times(p, _column(p, frame, "time"), info)
    tid = _numbers(p, _column(p, frame, "track_id"))
    if (tid != np.round(tid)).any():
        i = int(np.flatnonzero(tid != np.round(tid))[0])
        raise _fail(str(p), "not an integer", row=i + 2, field="track_id", value=tid[i])
    if "x" in frame.columns or "x_m" in frame.columns:
        x = _numbers(p, _column(p, frame, "x", "x_m"))
        y = _numbers(p, _column(p, frame, "y", "y_m"))
    else:
        lat = _numbers(p, _column(p, frame, "lat", "lat_deg"))
        lon = _numbers(p, _column(p, frame, "lon", "lon_deg"))
        for name, v, lim in (("lat", lat, 90.0), ("lon", lon, 180.0)):
            if (np.abs(v) > lim).any():
                i = int(np.flatnonzero(np.abs(v) > lim)[0])
                raise _fail(str(p), "out of range", row=i + 2, field=name, value=v[i])
        x, y = info.frame.to_xy(lon, lat)
    vx = _numbers(p, _column(p, frame, "vx", "vx_mps"))
    vy = _numbers(p, _column(p, frame, "vy", "vy_mps"))
    det_raw = _numbers(p, _column(p, frame, "det_id"), allow_empty=True)
    det = np.where(np.isfinite(det_raw), det_raw, -1.0).astype(np.int64)
    order = np.lexsort((t_s, tid))
    return TrackTable(
        tid[order].astype(np.int64), t_s[order], x[order], y[order], vx[order], vy[order],
        det[order], str(p),
    )  # fmt: skip


def read_detections(path: str | Path, info: RunInfo) -> DetectionTable:
    """Read ``detections.csv`` (``det_id,time,sensor,x_m,y_m`` or ``lat,lon``)."""
    p = Path(path)
    frame = _read_csv(p)
    t_s = _times(p, _column(p, frame, "time"), info)
    det = _numbers(p, _column(p, frame, "det_id")).astype(np.int64)
    if "x_m" in frame.columns or "x" in frame.columns:
        x = _numbers(p, _column(p, frame, "x_m", "x"))
        y = _numbers(p, _column(p, frame, "y_m", "y"))
    else:
        lat = _numbers(p, _column(p, frame, "lat", "lat_deg"))
        lon = _numbers(p, _column(p, frame, "lon", "lon_deg"))
        x, y = info.frame.to_xy(lon, lat)
    sensor = (
        frame["sensor"].astype(str).str.strip().str.lower().to_numpy(dtype=np.str_)
        if "sensor" in frame.columns
        else np.full(len(frame), "gmti")
    )
    return DetectionTable(det, t_s, sensor, x, y)


def read_scans(path: str | Path, info: RunInfo) -> ScanTable:
    """Read a run's ``scans.csv`` (``time``, ``x_m, y_m, frame_azimuth_deg`` in the run's
    frame or ``lat, lon, azimuth_deg``, and ``r_min_m, r_max_m, half_width_deg``)."""
    p = Path(path)
    frame = _read_csv(p)
    t_s = _times(p, _column(p, frame, "time"), info)
    if "x_m" in frame.columns and "frame_azimuth_deg" in frame.columns:
        x = _numbers(p, _column(p, frame, "x_m"))
        y = _numbers(p, _column(p, frame, "y_m"))
        centre = np.radians(_numbers(p, _column(p, frame, "frame_azimuth_deg")))
    else:
        lat = _numbers(p, _column(p, frame, "lat"))
        lon = _numbers(p, _column(p, frame, "lon"))
        x, y = info.frame.to_xy(lon, lat)
        centre = info.frame.frame_azimuth_rad(
            lon, lat, _numbers(p, _column(p, frame, "azimuth_deg"))
        )
    r_min = _numbers(p, _column(p, frame, "r_min_m"))
    r_max = _numbers(p, _column(p, frame, "r_max_m"))
    half = _numbers(p, _column(p, frame, "half_width_deg"))
    for name, bad in (
        ("r_min_m", r_min < 0),
        ("r_max_m", r_max < r_min),
        ("half_width_deg", (half <= 0) | (half > 180)),
    ):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise _fail(str(p), "out of range", row=i + 2, field=name, value=frame[name].iloc[i])
    order = np.argsort(t_s, kind="stable")
    return ScanTable(
        t_s[order], x[order], y[order], r_min[order], r_max[order], centre[order],
        np.radians(half[order]),
    )  # fmt: skip
