"""Runs kept for retention: a run folder registered with its time span, and the purge.

:func:`register_run_dir` records a run folder (``meta.json``, ``detections.csv`` or
``.parquet``, optionally a tracks CSV) in the ``runs`` table with its operator, files and
time span, stores its detections (and tracks) in the database for the service, and logs it.
:func:`apply_retention` walks the registered runs: a run whose span starts within the
retention period is left alone; otherwise the own-territory rows older than the period are
removed from the files (rewritten atomically; kept rows keep their exact bytes) and from the
database, and the audit log records the decision and the counts, never ids or coordinates of
purged rows.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from standoff.core.errors import InputError, StorageError
from standoff.core.files import sha256_file
from standoff.geo.frame import LocalFrame
from standoff.oversight.audit import AuditEvent, AuditLog
from standoff.oversight.minimise import OwnerLookup
from standoff.oversight.policy import DEFAULT_RETENTION_DAYS, check_retention, decision_event
from standoff.oversight.retention import cut_tables, retention_cutoff, times_utc
from standoff.store import schema as t
from standoff.store.sql import SqlStore, _as_utc

__all__ = [
    "RegisteredRun",
    "apply_retention",
    "detections_file",
    "read_meta",
    "read_table",
    "register_run_dir",
    "registered_runs",
    "run_id_of",
    "with_lonlat",
]

_DETECTION_FILES = ("detections.csv", "detections.parquet")


def run_id_of(run_dir: Path) -> str:
    """A run's id: its folder name and the first 12 hex digits of its meta.json's SHA-256."""
    meta = Path(run_dir) / "meta.json"
    if not meta.is_file():
        raise InputError("not a run folder (no meta.json)", source=str(run_dir))
    return f"{Path(run_dir).resolve().name}-{hashlib.sha256(meta.read_bytes()).hexdigest()[:12]}"


@dataclass(frozen=True)
class RegisteredRun:
    run_id: str
    run_dir: Path
    operator: str
    detections_path: Path | None
    tracks_path: Path | None
    span_start: datetime
    span_end: datetime
    frame: dict[str, Any] = field(default_factory=dict)


def read_meta(run_dir: Path) -> dict[str, Any]:
    """A run folder's meta.json (it must name the operator)."""
    path = run_dir / "meta.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the run's meta.json: {exc}", source=str(path)) from exc
    try:
        str(doc["plan"]["operator"])
    except (KeyError, TypeError) as exc:
        raise InputError(
            "meta.json has no plan.operator", source=str(path), field="plan.operator"
        ) from exc
    return dict(doc)


def detections_file(run_dir: Path) -> Path | None:
    """``RUN/detections.csv`` or ``RUN/detections.parquet``."""
    return next(
        (Path(run_dir) / n for n in _DETECTION_FILES if (Path(run_dir) / n).is_file()), None
    )


def read_table(path: Path) -> pd.DataFrame:
    """A detections or tracks table (CSV or Parquet); ids read as text."""
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype={"det_id": str, "sensor": str})
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the table: {exc}", source=str(path)) from exc


def with_lonlat(frame: pd.DataFrame, meta_frame: dict[str, Any], source: Path) -> pd.DataFrame:
    """Tracks' lon/lat: given, or from the run's local frame (``x``, ``y`` in metres)."""
    if "lat" in frame.columns and "lon" in frame.columns:
        return frame
    if not {"x", "y"} <= set(frame.columns) or not meta_frame:
        raise InputError(
            "the tracks need lat,lon or x,y (and the run's frame)",
            source=str(source),
            field="lat,lon",
        )
    f = LocalFrame(float(meta_frame["origin_lon_deg"]), float(meta_frame["origin_lat_deg"]))
    lon, lat = f.to_lonlat(frame["x"].to_numpy(float), frame["y"].to_numpy(float))
    return frame.assign(lon=np.asarray(lon), lat=np.asarray(lat))


def _columns_of_tracks(trk: pd.DataFrame, source: Path) -> Any:
    """A tracks table has ``track_id`` and ``time`` and one row per track and time;
    returns its times (UTC)."""
    for col in ("track_id", "time"):
        if col not in trk.columns:
            raise InputError("missing column", source=str(source), field=col)
    times = times_utc(trk["time"], source=str(source))
    key = pd.DataFrame({"id": trk["track_id"], "t": times})
    dup = key.duplicated().to_numpy()
    if dup.any():
        row = int(dup.argmax())
        raise InputError(
            "two rows for one track at one time",
            source=str(source),
            row=row + 1,
            field="track_id,time",
            value=f"{trk['track_id'].iloc[row]} at {trk['time'].iloc[row]}",
        )
    return times


def register_run_dir(
    store: SqlStore,
    log: AuditLog,
    run_dir: Path,
    *,
    now: datetime,
    tracks_path: Path | None = None,
    who: str = "standoff",
) -> RegisteredRun:
    """Register a run folder for retention (see the module notes); returns the record.

    The span is the first to the last detection (or track point) time; without any, the
    scenario's start.  Detections and tracks also go into the database."""
    run_dir = Path(run_dir)
    meta = read_meta(run_dir)
    run_id = run_id_of(run_dir)
    det_path = detections_file(run_dir)
    det = read_table(det_path) if det_path is not None else None
    trk = (
        with_lonlat(read_table(tracks_path), meta.get("frame", {}), tracks_path)
        if tracks_path
        else None
    )
    if det is not None:
        missing = [
            c for c in ("det_id", "time", "sensor", "lat", "lon", "sigma_m") if c not in det.columns
        ]
        if missing:
            raise InputError("missing column", source=str(det_path), field=",".join(missing))
    # Each time column parsed once (ISO text is the slow part of registering a big run).
    det_times = (
        times_utc(det["time"], source=str(det_path)) if det is not None and len(det) else None
    )
    trk_times = (
        _columns_of_tracks(trk, Path(str(tracks_path))) if trk is not None and len(trk) else None
    )
    instants: list[pd.Timestamp] = []
    for times in (det_times, trk_times):
        if times is not None:
            instants += [times.min(), times.max()]
    if instants:
        span_start, span_end = min(instants).to_pydatetime(), max(instants).to_pydatetime()
    else:
        start = str(meta.get("scenario", {}).get("start_utc", ""))
        try:
            span_start = span_end = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputError(
                "the run has no times (no rows, no scenario.start_utc)", source=str(run_dir)
            ) from exc
    record = RegisteredRun(
        run_id,
        run_dir.resolve(),
        str(meta["plan"]["operator"]),
        det_path.resolve() if det_path else None,
        Path(tracks_path).resolve() if tracks_path else None,
        span_start.astimezone(UTC),
        span_end.astimezone(UTC),
        dict(meta.get("frame", {})),
    )
    store.create_run(
        run_id,
        now=record.span_start,
        meta={
            "operator": record.operator,
            "source": str(record.run_dir),
            "detections": str(record.detections_path) if record.detections_path else None,
            "tracks": str(record.tracks_path) if record.tracks_path else None,
            "span_start": record.span_start.isoformat(),
            "span_end": record.span_end.isoformat(),
            "frame": record.frame,
        },
    )
    store.finish_run(run_id, "registered", now=record.span_end)
    if det is not None and det_times is not None:
        store.ingest(
            run_id,
            f"{run_id}:detections",
            {
                "det_id": det["det_id"].astype(str).to_numpy(),
                "time": det_times.tz_convert(None).to_numpy(dtype="datetime64[ns]"),
                "sensor": det["sensor"].astype(str).to_numpy(),
                "lat": det["lat"].to_numpy(float),
                "lon": det["lon"].to_numpy(float),
                "sigma_m": det["sigma_m"].to_numpy(float),
                "radial_velocity_mps": det["radial_velocity_mps"].to_numpy(float)
                if "radial_velocity_mps" in det.columns
                else None,
            },
            now=now,
        )
    n_track_rows = 0
    if trk is not None and trk_times is not None:
        when = trk_times
        dets = trk["det_id"] if "det_id" in trk.columns else pd.Series([None] * len(trk))
        n_track_rows = store.put_tracks(
            run_id,
            [
                {
                    "track_id": int(a),
                    "time": b.to_pydatetime(),
                    "lat": float(c),
                    "lon": float(d),
                    "vx_mps": float(e),
                    "vy_mps": float(f),
                    "det_id": g if isinstance(g, str) else None,
                }
                for a, b, c, d, e, f, g in zip(
                    trk["track_id"],
                    when,
                    trk["lat"],
                    trk["lon"],
                    trk.get("vx", pd.Series(np.zeros(len(trk)))),
                    trk.get("vy", pd.Series(np.zeros(len(trk)))),
                    dets,
                    strict=True,
                )
            ],
        )
    objects = {}
    if det_path is not None:
        objects["detections"] = sha256_file(det_path)
    if tracks_path is not None:
        objects["tracks"] = sha256_file(Path(tracks_path))
    log.append(
        AuditEvent(
            who,
            "run.register",
            now,
            objects,
            {
                "run": run_id,
                "detections": 0 if det is None else len(det),
                "track_rows": n_track_rows,
                "span_start": record.span_start.isoformat(),
                "span_end": record.span_end.isoformat(),
            },
        )
    )
    return record


def registered_runs(store: SqlStore) -> Iterator[tuple[str, datetime, dict[str, Any]]]:
    """Every run in the store: id, span start and its meta (oldest first)."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.runs.c.run_id, t.runs.c.started_at, t.runs.c.meta).order_by(
                t.runs.c.started_at, t.runs.c.run_id
            )
        ).all()
    for run_id, started, meta_text in rows:
        try:
            meta = json.loads(meta_text)
        except ValueError:
            meta = {}
        yield str(run_id), _as_utc(started), meta if isinstance(meta, dict) else {}


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".retention-tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def _rewrite(path: Path, table: pd.DataFrame, keep: np.ndarray) -> None:
    """Write ``path`` again without the rows ``keep`` is False for."""
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrow = pq.read_table(path)
        filtered = arrow.filter(pa.array(keep))
        tmp = path.with_name(path.name + ".retention-tmp")
        pq.write_table(filtered, tmp)
        tmp.replace(path)
        return
    raw = path.read_bytes()
    lines = raw.splitlines(keepends=True)
    data = [ln for ln in lines[1:] if ln.strip()]
    if lines and len(data) == len(table):  # one line per row: keep the kept rows' exact bytes
        kept = [
            ln if ln.endswith(b"\n") else ln + b"\n" for ln, k in zip(data, keep, strict=True) if k
        ]
        _write_atomic(path, lines[0] + b"".join(kept))
    else:  # quoted newlines or the like: write the kept rows again
        _write_atomic(path, table.loc[keep].to_csv(index=False).encode("utf-8"))


def _purge_db(
    store: SqlStore, run_id: str, airspace: OwnerLookup, operator: str, now: datetime, days: int
) -> dict[str, int]:
    d, tr = t.detections, t.tracks
    with store.engine.connect() as conn:
        det = pd.DataFrame(
            conn.execute(
                sa.select(d.c.det_id, d.c.time, d.c.lat, d.c.lon).where(d.c.run_id == run_id)
            ).all(),
            columns=["det_id", "time", "lat", "lon"],
        )
        trk = pd.DataFrame(
            conn.execute(
                sa.select(tr.c.track_id, tr.c.time, tr.c.lat, tr.c.lon).where(tr.c.run_id == run_id)
            ).all(),
            columns=["track_id", "time", "lat", "lon"],
        )
    cut = cut_tables(
        det, trk, airspace, operator, now=now, retention_days=days, source=f"store run {run_id}"
    )
    gone_det = (
        det.loc[~cut.keep_detections, "det_id"].astype(str).tolist()
        if cut.keep_detections is not None
        else []
    )
    gone_trk = trk.loc[~cut.keep_tracks] if cut.keep_tracks is not None else trk.iloc[0:0]
    with store.engine.begin() as conn:
        for i in range(0, len(gone_det), 500):
            conn.execute(
                d.delete().where(d.c.run_id == run_id, d.c.det_id.in_(gone_det[i : i + 500]))
            )
        if len(gone_trk):
            conn.execute(
                tr.delete().where(
                    tr.c.run_id == run_id,
                    tr.c.track_id == sa.bindparam("tid"),
                    tr.c.time == sa.bindparam("at"),
                ),
                [
                    {"tid": int(a), "at": b}
                    for a, b in zip(gone_trk["track_id"], gone_trk["time"], strict=True)
                ],
            )
    return {"db_detections_purged": len(gone_det), "db_track_rows_purged": len(gone_trk)}


def apply_retention(
    store: SqlStore,
    log: AuditLog,
    airspace: OwnerLookup,
    *,
    now: datetime,
    retention_days: int | None = None,
    who: str = "standoff",
) -> dict[str, Any]:
    """Purge own-territory rows past the retention period from every registered run's
    files and database rows; returns a report (one entry per run) and logs each decision
    and each purge with counts only."""
    days = DEFAULT_RETENTION_DAYS if retention_days is None else retention_days
    cutoff = retention_cutoff(now, days)
    report: dict[str, Any] = {"retention_days": days, "cutoff": cutoff.isoformat(), "runs": []}
    for run_id, started, meta in registered_runs(store):
        decision = check_retention(run_id, started, now, days)
        log.append(decision_event(decision, who, now))
        if decision.allowed:
            report["runs"].append({"run": run_id, "purged": False})
            continue
        operator = meta.get("operator")
        if not isinstance(operator, str):
            report["runs"].append(
                {"run": run_id, "purged": False, "skipped": "no operator recorded"}
            )
            continue
        counts: dict[str, Any] = {"run": run_id, "purged": True}
        objects: dict[str, str] = {}
        det_path, trk_path = _files(meta)
        det = read_table(det_path) if det_path is not None else None
        trk = (
            with_lonlat(read_table(trk_path), dict(meta.get("frame") or {}), trk_path)
            if trk_path is not None
            else None
        )
        cut = cut_tables(
            det,
            trk,
            airspace,
            operator,
            now=now,
            retention_days=days,
            source=str(meta.get("source", run_id)),
        )
        try:
            if det is not None and det_path is not None and cut.detections_purged:
                _rewrite(det_path, det, np.asarray(cut.keep_detections))
            if trk is not None and trk_path is not None and cut.track_rows_purged:
                _rewrite(trk_path, trk, np.asarray(cut.keep_tracks))
        except OSError as exc:
            raise StorageError(
                f"retention could not rewrite the files of run {run_id}: {exc}"
            ) from exc
        for name, path in (("detections", det_path), ("tracks", trk_path)):
            if path is not None:
                objects[name] = sha256_file(path)
        counts.update(cut.counts())
        counts.update(_purge_db(store, run_id, airspace, operator, now, days))
        log.append(
            AuditEvent(who, "retention.purge", now, objects, {**counts, "retention_days": days})
        )
        report["runs"].append(counts)
    return report


def _files(meta: dict[str, Any]) -> tuple[Path | None, Path | None]:
    det = meta.get("detections")
    trk = meta.get("tracks")
    source = meta.get("source")
    det_path = Path(det) if isinstance(det, str) else None
    if det_path is None and isinstance(source, str):  # registered before files were recorded
        det_path = detections_file(Path(source))
    trk_path = Path(trk) if isinstance(trk, str) else None
    return (
        det_path if det_path is not None and det_path.is_file() else None,
        trk_path if trk_path is not None and trk_path.is_file() else None,
    )
