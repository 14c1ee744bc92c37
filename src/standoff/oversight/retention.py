"""Retention of data that may be about the operator's own persons: which rows to purge.

A detection in the operator's own territory, or a row of a track wholly in it (see
:mod:`standoff.oversight.minimise`), may be kept for the retention period (default five
years, :data:`~standoff.oversight.policy.DEFAULT_RETENTION_DAYS`) after it was recorded, and
is purged after that.  Everything else is kept.  This module decides, vectorised over the
tables; the store rewrites files and deletes rows, and the audit log gets the decision and
the counts (never ids of purged rows, never coordinates).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from standoff.core.errors import InputError
from standoff.oversight.minimise import OwnerLookup, own_territory_points, own_territory_tracks

__all__ = ["RetentionCut", "cut_tables", "retention_cutoff", "times_utc"]

BoolArray = npt.NDArray[np.bool_]


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Rows recorded before this instant are past the retention period."""
    if now.tzinfo is None:
        raise InputError("now must be timezone-aware UTC", field="now", value=str(now))
    if isinstance(retention_days, bool) or not isinstance(retention_days, int):
        raise InputError("must be a whole number of days", field="retention_days")
    if retention_days < 0:
        raise InputError("must not be negative", field="retention_days", value=retention_days)
    return now.astimezone(UTC) - timedelta(days=retention_days)


def times_utc(values: pd.Series | npt.ArrayLike, *, source: str = "table") -> pd.DatetimeIndex:
    """A time column (ISO 8601 text, datetimes or datetime64) as UTC instants."""
    try:
        out = pd.DatetimeIndex(pd.to_datetime(pd.Series(values), utc=True, format="ISO8601"))
    except (ValueError, TypeError) as exc:
        raise InputError(f"unreadable times: {exc}", source=source, field="time") from exc
    if len(out) and bool(out.isna().any()):
        row = int(np.flatnonzero(np.asarray(out.isna()))[0])
        raise InputError("missing time", source=source, field="time", row=row + 1)
    return out


@dataclass(frozen=True)
class RetentionCut:
    """Which rows of a run's tables to keep (``True``) after retention, and the counts."""

    keep_detections: BoolArray | None
    keep_tracks: BoolArray | None
    detections_purged: int
    detections_kept: int
    track_rows_purged: int
    track_rows_kept: int
    tracks_purged: int
    """Tracks that lost rows."""

    def counts(self) -> dict[str, int]:
        return {
            "detections_purged": self.detections_purged,
            "detections_kept": self.detections_kept,
            "track_rows_purged": self.track_rows_purged,
            "track_rows_kept": self.track_rows_kept,
            "tracks_purged": self.tracks_purged,
        }

    @property
    def anything(self) -> bool:
        return bool(self.detections_purged or self.track_rows_purged)


def cut_tables(
    detections: pd.DataFrame | None,
    tracks: pd.DataFrame | None,
    airspace: OwnerLookup,
    operator: str,
    *,
    now: datetime,
    retention_days: int,
    source: str = "run",
) -> RetentionCut:
    """Decide, row by row and vectorised, what survives retention at ``now``.

    Both tables need ``time``, ``lon`` and ``lat`` columns; ``tracks`` also ``track_id``
    (one row per track point).  A row is purged when it is own territory (a detection's
    point; a track's *every* point) **and** older than ``retention_days``.
    """
    cutoff = np.datetime64(retention_cutoff(now, retention_days).replace(tzinfo=None), "ns")

    def old(table: pd.DataFrame, what: str) -> BoolArray:
        t = times_utc(table["time"], source=f"{source} {what}")
        return np.asarray(t.tz_convert(None).to_numpy(dtype="datetime64[ns]") < cutoff)

    def need(table: pd.DataFrame, what: str, *cols: str) -> None:
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise InputError(
                "missing column(s) for retention",
                source=f"{source} {what}",
                field=",".join(missing),
            )

    keep_det: BoolArray | None = None
    det_purged = det_kept = 0
    if detections is not None:
        need(detections, "detections", "time", "lon", "lat")
        if len(detections):
            own = own_territory_points(
                airspace,
                operator,
                detections["lon"].to_numpy(dtype=float),
                detections["lat"].to_numpy(dtype=float),
            )
            keep_det = ~(own & old(detections, "detections"))
        else:
            keep_det = np.zeros(0, dtype=bool)
        det_kept = int(keep_det.sum())
        det_purged = len(keep_det) - det_kept
    keep_trk: BoolArray | None = None
    trk_purged = trk_kept = tracks_purged = 0
    if tracks is not None:
        need(tracks, "tracks", "time", "lon", "lat", "track_id")
        if len(tracks):
            ids = tracks["track_id"].to_numpy()
            own = own_territory_tracks(
                airspace,
                operator,
                ids,
                tracks["lon"].to_numpy(dtype=float),
                tracks["lat"].to_numpy(dtype=float),
            )
            gone = own & old(tracks, "tracks")
            keep_trk = ~gone
            tracks_purged = len(np.unique(ids[gone]))
        else:
            keep_trk = np.zeros(0, dtype=bool)
        trk_kept = int(keep_trk.sum())
        trk_purged = len(keep_trk) - trk_kept
    return RetentionCut(
        keep_det, keep_trk, det_purged, det_kept, trk_purged, trk_kept, tracks_purged
    )
