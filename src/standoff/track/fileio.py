"""The file front end: detections file in, tracks CSV out.

Input (CSV or Parquet), one row per detection; rows with the same ``time`` form one
scan, in any order:

* ``time``: ISO 8601 (UTC; a ``Z`` or offset is honoured, a naive time is taken as
  UTC) or numeric seconds;
* position: ``x_m, y_m`` or ``x, y`` (metres, local frame) or ``lat, lon`` (degrees;
  also ``lat_deg, lon_deg``), projected with a local azimuthal equidistant projection
  centred on the data;
* optional ``sigma_m`` (metres, > 0; default the ``sigma_m`` argument, else 20 m),
  ``sensor`` (default ``gmti``), ``radial_velocity_mps`` (empty = none; used when the
  sensor position is given as ``sensor_x_m, sensor_y_m`` or ``sensor_lat,
  sensor_lon``), ``det_id`` (default: the data row number).

Scans (optional, CSV or Parquet; the simulator writes ``scans.csv`` beside its detections),
one row per area scan: ``time`` (as in the detections), ``r_min_m, r_max_m`` (the ground
annulus), ``half_width_deg`` (0-180) and the sensor's position and sector centre, either
``x_m, y_m, frame_azimuth_deg`` (the detections' local frame; used when they give ``x_m,
y_m``) or ``lat, lon, azimuth_deg`` (true azimuth at the sensor; used for lat/lon
detections); optional ``sensor`` (default ``gmti``).  A scan's footprint goes with the
detections of the same time and sensor: a track predicted outside it is not counted as
missed (the radar did not look there).  Scans without detections are not in the
detections file and are skipped.

Output CSV: ``time,track_id,x,y,vx,vy,det_id`` (``lat,lon`` instead of ``x,y`` for
lat/lon input; ``time`` in the input's convention), one row per reported confirmed
track per scan, sorted by time then track id; ``det_id`` is empty when the track
was not observed in that scan.  Errors name the file, the data row (1-based, header
not counted: data row N is line N+1 of a CSV), the field and the value.
"""

from __future__ import annotations

import csv
import io
import time as _time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas

from standoff.core.errors import InputError
from standoff.domain.detections import DetectionBatch, ScanFootprint
from standoff.geo.frame import LocalFrame
from standoff.track.tracker import TrackBatch, Tracker, TrackerConfig

__all__ = [
    "DEFAULT_SIGMA_M",
    "DetectionFile",
    "TrackSummary",
    "read_detections",
    "read_scans",
    "scans_beside",
    "track_file",
]

DEFAULT_SIGMA_M = 20.0
FloatArray = npt.NDArray[np.float64]

_CSV = (".csv",)
_PARQUET = (".parquet", ".pq")


@dataclass(frozen=True, slots=True)
class TrackSummary:
    """What :func:`track_file` did: counts and the wall-clock time it took."""

    scans: int
    detections: int
    tracks: int
    duration_s: float
    detections_per_s: float
    scans_with_footprint: int = 0
    """Scans tracked with their footprint (misses counted only inside it)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class DetectionFile:
    """A parsed detections file: scans in time order plus what is needed to write back."""

    batches: tuple[DetectionBatch, ...]
    time_labels: tuple[str, ...]  # output text of each scan's time
    geographic: bool
    origin_lat_deg: float
    origin_lon_deg: float
    area_m2: float


def _fail(
    path: Path,
    message: str,
    *,
    row: int | None = None,
    field: str | None = None,
    value: object = None,
) -> InputError:
    # Rows are counted as a person counts lines in the file: the header is line 1, so data
    # row N (from 1) is line N + 1 (the convention of every Standoff reader).
    line = None if row is None else row + 1
    return InputError(message, source=str(path), row=line, field=field, value=value)


def _read_table(path: Path, rows: str = "detections") -> pandas.DataFrame:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise _fail(path, "no such file")
    try:
        if suffix in _CSV:
            if path.stat().st_size == 0:
                raise _fail(path, "the file is empty")
            frame = pandas.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                skipinitialspace=True,
                encoding="utf-8-sig",
            )
        elif suffix in _PARQUET:
            frame = pandas.read_parquet(path)
        else:
            raise _fail(path, "unknown file type; expected .csv or .parquet", value=path.suffix)
    except InputError:
        raise
    except Exception as exc:  # pandas/pyarrow parser errors of every kind
        raise _fail(path, f"cannot read the file: {exc}") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if len(frame) == 0:
        raise _fail(path, f"the file has no {rows}")
    return frame


def _numeric(
    path: Path, frame: pandas.DataFrame, name: str, *, allow_missing: bool = False
) -> FloatArray:
    raw = frame[name]
    values = pandas.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if allow_missing:
        text = raw.astype(str).str.strip().str.lower()
        blank = raw.isna().to_numpy() | text.isin(["", "nan", "none", "null"]).to_numpy()
        bad &= ~blank
        values = np.where(blank, np.nan, values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail(path, "not a finite number", row=i + 1, field=name, value=raw.iloc[i])
    return values


def _first_present(frame: pandas.DataFrame, *names: str) -> str | None:
    return next((n for n in names if n in frame.columns), None)


def _times(path: Path, frame: pandas.DataFrame) -> tuple[npt.NDArray[np.int64], list[str], bool]:
    """Time of every row in integer nanoseconds, its output text, and whether ISO."""
    if "time" not in frame.columns:
        raise _fail(path, "missing column", field="time")
    raw = frame["time"]
    if pandas.api.types.is_datetime64_any_dtype(raw):
        stamps = pandas.to_datetime(raw, utc=True)
        iso = True
    else:
        text = raw.astype(str).str.strip()
        numbers = pandas.to_numeric(text, errors="coerce")
        if numbers.notna().all():
            values = numbers.to_numpy(dtype=np.float64)
            bad = ~np.isfinite(values)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise _fail(path, "not a finite time", row=i + 1, field="time", value=raw.iloc[i])
            ns = np.round(values * 1e9).astype(np.int64)
            return ns, text.tolist(), False
        stamps = pandas.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
        iso = True
    bad = stamps.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail(
            path,
            "not an ISO 8601 time or number of seconds",
            row=i + 1,
            field="time",
            value=raw.iloc[i],
        )
    ns = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    labels = [_iso(v) for v in ns.tolist()]
    return ns, labels, iso


def _iso(ns: int) -> str:
    ts = pandas.Timestamp(ns, unit="ns", tz="UTC")
    base = ts.strftime("%Y-%m-%dT%H:%M:%S")
    frac = ns % 1_000_000_000
    if frac:
        base += (f".{frac:09d}").rstrip("0")
    return base + "Z"


def read_detections(
    path: str | Path, *, sigma_m: float | None = None, scans: str | Path | None = None
) -> DetectionFile:
    """Parse and validate a detections file into scans (see the module docstring), with
    the footprints of the ``scans`` file when one is given."""
    p = Path(path)
    frame = _read_table(p)
    ns, time_text, _ = _times(p, frame)
    geographic = False
    lat0 = lon0 = 0.0
    xcol = _first_present(frame, "x_m", "x")
    ycol = _first_present(frame, "y_m", "y")
    latcol = _first_present(frame, "lat", "lat_deg", "latitude")
    loncol = _first_present(frame, "lon", "lon_deg", "longitude")
    if xcol and ycol:
        x = _numeric(p, frame, xcol)
        y = _numeric(p, frame, ycol)
        transformer = None
    elif latcol and loncol:
        lat = _numeric(p, frame, latcol)
        lon = _numeric(p, frame, loncol)
        _check_range(p, frame, latcol, lat, 90.0)
        _check_range(p, frame, loncol, lon, 180.0)
        geographic = True
        lat0 = float(np.round(0.5 * (lat.min() + lat.max()), 6))
        lon0 = float(np.round(0.5 * (lon.min() + lon.max()), 6))
        transformer = LocalFrame(lon0, lat0)
        x, y = transformer.to_xy(lon, lat)
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    else:
        raise _fail(
            p,
            "missing position columns: need x_m,y_m or x,y or lat,lon",
            field="x_m,y_m | x,y | lat,lon",
        )
    n = x.shape[0]
    if "sigma_m" in frame.columns:
        sig = _numeric(p, frame, "sigma_m")
    else:
        sig = np.full(n, DEFAULT_SIGMA_M if sigma_m is None else float(sigma_m))
    nonpos = ~(sig > 0.0)
    if nonpos.any():
        i = int(np.flatnonzero(nonpos)[0])
        value = frame["sigma_m"].iloc[i] if "sigma_m" in frame.columns else sigma_m
        raise _fail(
            p, "sigma must be a positive number of metres", row=i + 1, field="sigma_m", value=value
        )
    sensor = (
        frame["sensor"].astype(str).str.strip().to_numpy(dtype=np.str_)
        if "sensor" in frame.columns
        else np.full(n, "gmti")
    )
    rv = (
        _numeric(p, frame, "radial_velocity_mps", allow_missing=True)
        if "radial_velocity_mps" in frame.columns
        else np.full(n, np.nan)
    )
    sx = np.full(n, np.nan)
    sy = np.full(n, np.nan)
    if "sensor_x_m" in frame.columns and "sensor_y_m" in frame.columns:
        sx = _numeric(p, frame, "sensor_x_m", allow_missing=True)
        sy = _numeric(p, frame, "sensor_y_m", allow_missing=True)
    elif "sensor_lat" in frame.columns and "sensor_lon" in frame.columns:
        slat = _numeric(p, frame, "sensor_lat", allow_missing=True)
        slon = _numeric(p, frame, "sensor_lon", allow_missing=True)
        _check_range(p, frame, "sensor_lat", slat, 90.0)
        tr = transformer if transformer is not None else LocalFrame(0.0, 0.0)
        ok = np.isfinite(slat) & np.isfinite(slon)
        if ok.any():
            ex, ny = tr.to_xy(slon[ok], slat[ok])
            sx[ok], sy[ok] = ex, ny
    det_id = (
        frame["det_id"].astype(str).str.strip().to_numpy(dtype=object)
        if "det_id" in frame.columns
        else np.array([str(i + 1) for i in range(n)], dtype=object)
    )
    footprints = (
        {} if scans is None else read_scans(scans, frame=transformer if geographic else None)
    )
    order = np.argsort(ns, kind="stable")
    ns_sorted = ns[order]
    starts = np.flatnonzero(np.r_[True, ns_sorted[1:] != ns_sorted[:-1]])
    ends = np.r_[starts[1:], n]
    t0 = int(ns_sorted[0])
    batches: list[DetectionBatch] = []
    labels: list[str] = []
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        idx = order[a:b]
        footprint = None
        if footprints:  # the footprint of the scan's area-scanning sensor
            keys = ((int(ns_sorted[a]), str(v).lower()) for v in np.unique(sensor[idx]))
            footprint = next((footprints[k] for k in keys if k in footprints), None)
        batches.append(
            DetectionBatch(
                time_s=(int(ns_sorted[a]) - t0) / 1e9,
                x_m=x[idx],
                y_m=y[idx],
                sigma_m=sig[idx],
                sensor=sensor[idx],
                radial_velocity_mps=rv[idx],
                sensor_x_m=sx[idx],
                sensor_y_m=sy[idx],
                det_id=det_id[idx],
                footprint=footprint,
            )
        )
        labels.append(time_text[int(idx[0])])
    span_x = float(x.max() - x.min())
    span_y = float(y.max() - y.min())
    return DetectionFile(
        batches=tuple(batches),
        time_labels=tuple(labels),
        geographic=geographic,
        origin_lat_deg=lat0,
        origin_lon_deg=lon0,
        area_m2=max(span_x * span_y, 1e6),
    )


def scans_beside(detections_path: str | Path) -> Path | None:
    """The ``scans.csv`` or ``scans.parquet`` in the detections file's folder, if any."""
    folder = Path(detections_path).parent
    return next((f for f in (folder / "scans.csv", folder / "scans.parquet") if f.is_file()), None)


def read_scans(
    path: str | Path, *, frame: LocalFrame | None
) -> dict[tuple[int, str], ScanFootprint]:
    """Scan footprints by (time in ns, sensor), in the detections' frame: ``frame`` is the
    local frame of lat/lon detections, None for detections given in ``x_m, y_m``."""
    p = Path(path)
    table = _read_table(p, "scans")
    for name in ("r_min_m", "r_max_m", "half_width_deg"):
        if name not in table.columns:
            raise _fail(p, "missing column (not a scans file?)", field=name)
    ns, _, _ = _times(p, table)
    r_min = _numeric(p, table, "r_min_m")
    r_max = _numeric(p, table, "r_max_m")
    half = _numeric(p, table, "half_width_deg")
    if frame is None:
        for name in ("x_m", "y_m", "frame_azimuth_deg"):
            if name not in table.columns:
                raise _fail(p, "missing column (the detections are in x_m, y_m)", field=name)
        x = _numeric(p, table, "x_m")
        y = _numeric(p, table, "y_m")
        az = np.radians(_numeric(p, table, "frame_azimuth_deg"))
    else:
        for name in ("lat", "lon", "azimuth_deg"):
            if name not in table.columns:
                raise _fail(p, "missing column (the detections are in lat, lon)", field=name)
        lat = _numeric(p, table, "lat")
        lon = _numeric(p, table, "lon")
        _check_range(p, table, "lat", lat, 90.0)
        _check_range(p, table, "lon", lon, 180.0)
        x, y = frame.to_xy(lon, lat)
        az = frame.frame_azimuth_rad(lon, lat, _numeric(p, table, "azimuth_deg"))
    for name, bad in (
        ("r_min_m", ~(r_min >= 0.0)),
        ("r_max_m", ~(r_max >= r_min)),
        ("half_width_deg", ~((half > 0.0) & (half <= 180.0))),
    ):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            rule = {
                "r_min_m": "must be at least 0",
                "r_max_m": "must be at least r_min_m",
                "half_width_deg": "must be in (0, 180]",
            }[name]
            raise _fail(p, rule, row=i + 1, field=name, value=table[name].iloc[i])
    sensor = (
        table["sensor"].astype(str).str.strip().str.lower().tolist()
        if "sensor" in table.columns
        else ["gmti"] * len(table)
    )
    half_rad = np.radians(half)
    return {
        (int(t), s): ScanFootprint(x[i], y[i], r_min[i], r_max[i], az[i], half_rad[i])
        for i, (t, s) in enumerate(zip(ns.tolist(), sensor, strict=True))
    }


def _check_range(
    path: Path, frame: pandas.DataFrame, name: str, values: FloatArray, limit: float
) -> None:
    bad = np.isfinite(values) & (np.abs(values) > limit)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail(
            path,
            f"out of range [-{limit:g}, {limit:g}] degrees",
            row=i + 1,
            field=name,
            value=frame[name].iloc[i],
        )


def track_file(
    input_path: str | Path,
    output_path: str | Path,
    *,
    sigma_m: float | None = None,
    pd: float | None = None,
    clutter_per_scan: float | None = None,
    area_m2: float | None = None,
    fixed_lag: bool = False,
    scans: str | Path | bool = True,
) -> TrackSummary:
    """Track a detections file and write the tracks CSV; see the module docstring.

    ``scans``: the scans file with each area scan's footprint (True: ``scans.csv`` or
    ``scans.parquet`` beside the detections when there is one; False: none).

    ``sigma_m`` is used when the file has no ``sigma_m`` column; ``pd`` is the
    probability of detection (default 0.9); ``clutter_per_scan`` false detections per
    scan over ``area_m2`` (default: the detections' bounding box); without
    ``clutter_per_scan`` a density of 1e-8 per m^2 is assumed.  ``fixed_lag`` smooths
    every estimate with the scan after it (see :meth:`Tracker.step_lagged`): better
    positions and earlier confirmation, written one scan later while streaming.
    """
    started = _time.perf_counter()
    if pd is not None and not 0.0 < pd < 1.0:
        raise InputError("must be in (0, 1)", source="option pd", value=pd)
    for label, val in (
        ("sigma_m", sigma_m),
        ("clutter_per_scan", clutter_per_scan),
        ("area_m2", area_m2),
    ):
        if val is not None and not (np.isfinite(val) and val >= 0.0):
            raise InputError("must be a non-negative number", source=f"option {label}", value=val)
    if sigma_m is not None and sigma_m <= 0.0:
        raise InputError("must be positive", source="option sigma_m", value=sigma_m)
    scans_path = (
        scans_beside(input_path) if scans is True else None if scans is False else Path(scans)
    )
    data = read_detections(input_path, sigma_m=sigma_m, scans=scans_path)
    with_footprint = sum(b.footprint is not None for b in data.batches)
    if scans_path is not None and not with_footprint:
        raise InputError(
            "no scan time matches a detection time (are both files of the same run?)",
            source=str(scans_path),
            field="time",
        )
    defaults = TrackerConfig()
    density = defaults.clutter_density_per_m2
    if clutter_per_scan is not None:
        density = clutter_per_scan / (area_m2 if area_m2 else data.area_m2)
    config = TrackerConfig(
        pd=defaults.pd if pd is None else float(pd),
        clutter_density_per_m2=max(density, 1e-14),
    )
    tracker = Tracker(config=config)
    out = Path(output_path)
    inverse = None
    if data.geographic:
        inverse = LocalFrame(data.origin_lon_deg, data.origin_lat_deg)
    ids: set[int] = set()
    n_det = 0
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8", newline="") as fh:
            fh.write(
                "time,track_id," + ("lat,lon" if data.geographic else "x,y") + ",vx,vy,det_id\n"
            )
            pending: tuple[str, DetectionBatch] | None = None
            for batch, label in zip(data.batches, data.time_labels, strict=True):
                n_det += len(batch)
                if not fixed_lag:
                    result = tracker.step(batch)
                    ids.update(result.track_id.tolist())
                    fh.write(_rows(label, result, batch, inverse))
                    continue
                lagged = tracker.step_lagged(batch)
                if lagged is not None and pending is not None:
                    ids.update(lagged.track_id.tolist())
                    fh.write(_rows(pending[0], lagged, pending[1], inverse))
                pending = (label, batch)
            last = tracker.finish() if fixed_lag else None
            if last is not None and pending is not None:
                ids.update(last.track_id.tolist())
                fh.write(_rows(pending[0], last, pending[1], inverse))
    except OSError as exc:
        raise InputError(f"cannot write the output: {exc}", source=str(out)) from exc
    elapsed = max(_time.perf_counter() - started, 1e-9)
    return TrackSummary(
        scans=len(data.batches),
        detections=n_det,
        tracks=len(ids),
        duration_s=elapsed,
        detections_per_s=n_det / elapsed,
        scans_with_footprint=with_footprint,
    )


def _rows(label: str, tb: TrackBatch, batch: DetectionBatch, inverse: LocalFrame | None) -> str:
    if not len(tb):
        return ""
    order = np.argsort(tb.track_id, kind="stable")
    if inverse is not None:
        lon, lat = inverse.to_lonlat(tb.x_m[order], tb.y_m[order])
        a = [f"{v:.7f}" for v in np.asarray(lat).tolist()]
        b = [f"{v:.7f}" for v in np.asarray(lon).tolist()]
    else:
        a = [f"{v:.3f}" for v in tb.x_m[order].tolist()]
        b = [f"{v:.3f}" for v in tb.y_m[order].tolist()]
    vx = [f"{v:.3f}" for v in tb.vx_mps[order].tolist()]
    vy = [f"{v:.3f}" for v in tb.vy_mps[order].tolist()]
    di = tb.det_index[order]
    det = ["" if k < 0 else str(batch.det_id[k]) for k in di.tolist()]
    tid = tb.track_id[order].tolist()
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(
        (label, t, x, y, u, v, d) for t, x, y, u, v, d in zip(tid, a, b, vx, vy, det, strict=True)
    )
    return buf.getvalue()
