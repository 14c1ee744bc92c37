"""Reading a run's files for the products: the flown path, detection times, track points.

Each reader checks what it needs and raises :class:`~standoff.core.errors.InputError` naming
the file, the field (column) and, where there is one, the bad value; nothing else escapes.

* ``flight.csv``: ``time, lat, lon`` (degrees; other columns ignored);
* ``detections.csv``: ``time`` (ISO 8601 UTC);
* ``scans.csv``: ``time, lat, lon, r_min_m, r_max_m, azimuth_deg, half_width_deg`` (where
  each radar scan looked; the sector's centre as a true azimuth at the aircraft);
* a tracks CSV (the tracker's output): ``time, track_id`` and either ``lat, lon`` or
  ``x, y`` (metres in the run's local frame, read from ``meta.json``'s ``frame``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from standoff.core.errors import InputError
from standoff.domain.detections import in_sector, scan_dwell_s

__all__ = [
    "Coverage",
    "FlownPath",
    "TrackPoints",
    "find_tracks_csv",
    "read_detection_times",
    "read_flown_path",
    "read_scan_coverage",
    "read_track_points",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
TimeArray = npt.NDArray[np.datetime64]


@dataclass(frozen=True)
class FlownPath:
    """The aircraft's flown path (one row per flight-log sample)."""

    time_utc: TimeArray
    lon_deg: FloatArray
    lat_deg: FloatArray


@dataclass(frozen=True)
class TrackPoints:
    """Track reports: one row per (time, track) in time order."""

    time_utc: TimeArray
    track_id: IntArray
    lon_deg: FloatArray
    lat_deg: FloatArray

    def __len__(self) -> int:
        return len(self.track_id)

    def latest(self) -> TrackPoints:
        """The last report of every track (sorted by track id)."""
        if not len(self):
            return self
        order = np.lexsort((self.time_utc.astype(np.int64), self.track_id))
        ids = self.track_id[order]
        last = np.r_[ids[1:] != ids[:-1], True]
        keep = order[last]
        return TrackPoints(
            self.time_utc[keep], self.track_id[keep], self.lon_deg[keep], self.lat_deg[keep]
        )


def _read_csv(path: Path, columns: tuple[str, ...], usecols: bool = True) -> Any:
    import pandas as pd

    if not path.is_file():
        raise InputError("file not found", source=str(path))
    try:
        head = pd.read_csv(path, nrows=0)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the CSV: {exc}", source=str(path)) from exc
    for col in columns:
        if col not in head.columns:
            raise InputError(
                f"missing column (found {', '.join(map(str, head.columns)) or 'none'})",
                source=str(path),
                field=col,
            )
    try:
        return pd.read_csv(path, usecols=list(columns) if usecols else None)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the CSV: {exc}", source=str(path)) from exc


def _times(path: Path, values: Any) -> TimeArray:
    import pandas as pd

    try:
        parsed = pd.to_datetime(values, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        bad = next((v for v in values if not _is_iso(v)), None)
        raise InputError(
            "not an ISO 8601 UTC time", source=str(path), field="time", value=bad
        ) from exc
    out: TimeArray = pd.DatetimeIndex(parsed).tz_convert(None).to_numpy(dtype="datetime64[us]")
    if np.isnat(out).any():
        row = int(np.flatnonzero(np.isnat(out))[0]) + 1
        raise InputError("empty time", source=str(path), field="time", row=row)
    return out


def _is_iso(value: object) -> bool:
    from datetime import datetime

    try:
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _numbers(path: Path, frame: Any, col: str, low: float, high: float) -> FloatArray:
    import pandas as pd

    values: FloatArray = np.asarray(pd.to_numeric(frame[col], errors="coerce"), np.float64)
    bad = ~np.isfinite(values) | (values < low) | (values > high)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"expected a number in [{low:g}, {high:g}]",
            source=str(path),
            field=col,
            row=k + 1,
            value=frame[col].iloc[k],
        )
    return values


def read_flown_path(run_dir: str | Path) -> FlownPath:
    """``RUN_DIR/flight.csv`` as a :class:`FlownPath`."""
    path = Path(run_dir) / "flight.csv"
    frame = _read_csv(path, ("time", "lat", "lon"))
    return FlownPath(
        _times(path, frame["time"]),
        _numbers(path, frame, "lon", -180.0, 180.0),
        _numbers(path, frame, "lat", -90.0, 90.0),
    )


def read_detection_times(run_dir: str | Path) -> TimeArray:
    """The times of ``RUN_DIR/detections.csv`` (UTC, ``datetime64[us]``)."""
    path = Path(run_dir) / "detections.csv"
    frame = _read_csv(path, ("time",))
    return _times(path, frame["time"])


@dataclass(frozen=True)
class Coverage:
    """Hours the radar looked at each cell of a lon/lat grid (``hours[i, j]``: latitude row
    ``i``, longitude column ``j``; 0 outside ``within``)."""

    lon_edges: FloatArray
    lat_edges: FloatArray
    hours: FloatArray


def read_scan_coverage(
    run_dir: str | Path, within: Any, cell_m: float = 1_000.0, max_cells: int = 40_000
) -> Coverage | None:
    """Hours each ``cell_m`` cell of ``within`` (a lon/lat geometry: the AOIs the radar
    scans) was in a scan's sector, from ``RUN_DIR/scans.csv``; None without scans.  A scan
    counts for the time to the next one, at most three times the median interval."""
    import shapely

    from standoff.geo.frame import LocalFrame

    path = Path(run_dir) / "scans.csv"
    if not path.is_file() or within is None or within.is_empty:
        return None
    cols = ("time", "lat", "lon", "r_min_m", "r_max_m", "azimuth_deg", "half_width_deg")
    frame = _read_csv(path, cols)
    if not len(frame):
        return None
    t = _times(path, frame["time"]).astype("datetime64[ms]").astype(np.float64) / 1000.0
    lon = _numbers(path, frame, "lon", -180.0, 180.0)
    lat = _numbers(path, frame, "lat", -90.0, 90.0)
    r_min = _numbers(path, frame, "r_min_m", 0.0, 1e6)
    r_max = _numbers(path, frame, "r_max_m", 0.0, 1e6)
    az = _numbers(path, frame, "azimuth_deg", -360.0, 360.0)
    half = np.radians(_numbers(path, frame, "half_width_deg", 0.0, 180.0))
    dwell = scan_dwell_s(t)
    x0, y0, x1, y1 = within.bounds
    local = LocalFrame(round((x0 + x1) / 2, 6), round((y0 + y1) / 2, 6))
    step = cell_m / 111_320.0
    ny = max(int(np.ceil((y1 - y0) / step)), 1)
    nx = max(int(np.ceil((x1 - x0) / (step / max(np.cos(np.radians((y0 + y1) / 2)), 0.1)))), 1)
    scale = max(1.0, float(np.sqrt(nx * ny / max_cells)))
    nx, ny = max(int(nx / scale), 1), max(int(ny / scale), 1)
    lon_edges, lat_edges = np.linspace(x0, x1, nx + 1), np.linspace(y0, y1, ny + 1)
    clon, clat = np.meshgrid(
        (lon_edges[:-1] + lon_edges[1:]) / 2, (lat_edges[:-1] + lat_edges[1:]) / 2
    )
    inside = shapely.contains_xy(within, clon.ravel(), clat.ravel())
    cx, cy = local.to_xy(clon.ravel()[inside], clat.ravel()[inside])
    sx, sy = local.to_xy(lon, lat)
    centre = local.frame_azimuth_rad(lon, lat, az)
    seconds = np.zeros(len(cx))
    for a in range(0, len(t), 256):  # scans in blocks: a (block, cells) table at a time
        b = slice(a, a + 256)
        seen = in_sector(
            cx[None, :] - sx[b, None], cy[None, :] - sy[b, None], r_min[b, None],
            r_max[b, None], centre[b, None], half[b, None],
        )  # fmt: skip
        seconds += dwell[b] @ seen
    hours = np.zeros(clon.size)
    hours[inside] = seconds / 3600.0
    return Coverage(lon_edges, lat_edges, hours.reshape(clon.shape))


def find_tracks_csv(run_dir: str | Path) -> Path | None:
    """The tracks of a run, where ``standoff demo`` and ``standoff track`` put them:
    ``RUN_DIR/tracks/tracks.csv``, ``RUN_DIR/tracks.csv`` or ``RUN_DIR/../tracks/tracks.csv``."""
    run = Path(run_dir)
    for candidate in (
        run / "tracks" / "tracks.csv",
        run / "tracks.csv",
        run.parent / "tracks" / "tracks.csv",
    ):
        if candidate.is_file():
            return candidate
    return None


def _frame_of(run_dir: Path | None, tracks: Path) -> tuple[float, float]:
    if run_dir is None:
        raise InputError(
            "tracks in x, y metres need the run folder (meta.json's frame) to place them",
            source=str(tracks),
            field="x",
        )
    meta_path = run_dir / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        frame = meta["frame"]
        return float(frame["origin_lon_deg"]), float(frame["origin_lat_deg"])
    except FileNotFoundError as exc:
        raise InputError("file not found", source=str(meta_path)) from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the file: {exc}", source=str(meta_path)) from exc
    except (KeyError, TypeError) as exc:
        raise InputError(
            "missing the local frame's origin", source=str(meta_path), field=f"frame.{exc}"
        ) from exc


def read_track_points(tracks_csv: str | Path, run_dir: str | Path | None = None) -> TrackPoints:
    """A tracks CSV (``time, track_id`` and ``lat, lon`` or ``x, y``) as :class:`TrackPoints`."""
    from standoff.geo.frame import LocalFrame

    path = Path(tracks_csv)
    frame = _read_csv(path, ("time", "track_id"), usecols=False)
    ids = _numbers(path, frame, "track_id", 0.0, float(2**62))
    times = _times(path, frame["time"])
    if {"lat", "lon"} <= set(frame.columns):
        lon = _numbers(path, frame, "lon", -180.0, 180.0)
        lat = _numbers(path, frame, "lat", -90.0, 90.0)
    elif {"x", "y"} <= set(frame.columns):
        lon0, lat0 = _frame_of(None if run_dir is None else Path(run_dir), path)
        x = _numbers(path, frame, "x", -2e7, 2e7)
        y = _numbers(path, frame, "y", -2e7, 2e7)
        lon_a, lat_a = LocalFrame(lon0, lat0).to_lonlat(x, y)
        lon, lat = np.asarray(lon_a, np.float64), np.asarray(lat_a, np.float64)
    else:
        raise InputError("missing columns: lat, lon or x, y", source=str(path), field="lat")
    order = np.lexsort((ids, times.astype(np.int64)))
    return TrackPoints(times[order], ids.astype(np.int64)[order], lon[order], lat[order])
