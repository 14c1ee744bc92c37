"""Retention over registered runs: only own-territory rows older than the period go, from
the files (kept rows byte for byte) and from the database; counts land in the audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from standoff.airspace import Airspace
from standoff.cli import main
from standoff.oversight import AuditLog
from standoff.oversight.keys import Signer
from standoff.oversight.retention import cut_tables, retention_cutoff
from standoff.store.runs import apply_retention, register_run_dir, run_id_of
from standoff.store.sql import SqlStore, open_store

NOW = datetime(2026, 3, 21, 9, 0, tzinfo=UTC)
OLD, NEW = "2020-06-01T10:00:00.000Z", "2026-03-20T02:00:00.000Z"
USA, MEX = (-111.123457, 31.654321), (-111.55, 31.2)
# (det_id, time, point): own-territory rows old and new, foreign rows old and new.
DETS = [
    ("a", OLD, USA),
    ("b", OLD, MEX),
    ("c", NEW, USA),
    ("d", NEW, MEX),
    ("e", OLD, (-111.133457, 31.664321)),
]
OLD1 = "2020-06-01T10:00:10.000Z"
TRACKS = [  # track 1 wholly USA (old and new rows), track 2 crosses, track 3 MEX
    (1, OLD, -111.20, 31.60),
    (1, OLD1, -111.19, 31.60),
    (1, NEW, -111.18, 31.60),
    (2, OLD, -111.30, 31.30),
    (2, OLD1, -111.30, 31.46),
    (3, OLD, -111.55, 31.20),
]


def _run(root: Path, *, parquet: bool = False) -> tuple[Path, Path]:
    run = root / "run"
    run.mkdir(parents=True)
    det = pd.DataFrame(
        {
            "det_id": [d[0] for d in DETS],
            "time": [d[1] for d in DETS],
            "sensor": ["gmti"] * len(DETS),
            "lat": [d[2][1] for d in DETS],
            "lon": [d[2][0] for d in DETS],
            "sigma_m": [20.0] * len(DETS),
            "radial_velocity_mps": [1.5] * len(DETS),
        }
    )
    if parquet:
        det.to_parquet(run / "detections.parquet")
    else:
        det.to_csv(run / "detections.csv", index=False)
    trk = pd.DataFrame(
        [
            {"time": t, "track_id": i, "lat": la, "lon": lo, "vx": 1.0, "vy": 0.0, "det_id": ""}
            for i, t, lo, la in TRACKS
        ]
    )
    (run / "tracks").mkdir()
    trk.to_csv(run / "tracks" / "tracks.csv", index=False)
    meta = {
        "plan": {"operator": "USA"},
        "scenario": {"start_utc": OLD},
        "frame": {"origin_lon_deg": -111.4, "origin_lat_deg": 31.4},
    }
    (run / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return run, run / "tracks" / "tracks.csv"


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with open_store(str(tmp_path / "standoff.db")) as s:
        yield s


def _log_text(log: AuditLog) -> str:
    return "\n".join(e.entry.decode() for e in log.entries())


def test_purges_only_own_territory_rows_older_than_the_period(
    store: SqlStore, airspace: Airspace, tmp_path: Path
) -> None:
    run, tracks = _run(tmp_path)
    log = AuditLog(store.audit_store())
    before_det = (run / "detections.csv").read_bytes().splitlines(keepends=True)
    rec = register_run_dir(store, log, run, now=NOW, tracks_path=tracks)
    assert rec.run_id == run_id_of(run)
    assert rec.span_start == datetime(2020, 6, 1, 10, tzinfo=UTC)
    assert rec.span_end == datetime(2026, 3, 20, 2, tzinfo=UTC)
    assert store.count_detections(rec.run_id) == 5

    report = apply_retention(store, log, airspace, now=NOW, retention_days=5 * 365)
    (entry,) = report["runs"]
    assert entry["purged"]
    assert entry["detections_purged"] == 2  # a and e: own territory and old
    assert entry["detections_kept"] == 3
    assert entry["track_rows_purged"] == 2  # track 1's two old rows
    assert entry["tracks_purged"] == 1
    assert entry["db_detections_purged"] == 2
    assert entry["db_track_rows_purged"] == 2

    after = pd.read_csv(run / "detections.csv", dtype={"det_id": str})
    assert after["det_id"].tolist() == ["b", "c", "d"]
    kept_lines = (run / "detections.csv").read_bytes().splitlines(keepends=True)
    assert kept_lines == [before_det[0], before_det[2], before_det[3], before_det[4]]
    trk = pd.read_csv(tracks)
    assert sorted(zip(trk["track_id"], trk["time"], strict=True)) == sorted(
        [(1, NEW), (2, OLD), (2, OLD1), (3, OLD)]
    )
    assert sorted(d["det_id"] for d in store.detections(rec.run_id)) == ["b", "c", "d"]
    assert len(store.tracks(rec.run_id)) == 4

    text = _log_text(log)
    assert '"retention.purge"' in text
    assert '"policy.retention"' in text
    for canary in ("111.1234", "31.6543", "111.1334", "31.6643", "111.2", "31.6"):
        assert canary not in text
    signer = Signer.generate("t")
    log.checkpoint(signer, NOW)
    assert log.verify(signer.verifier).entries == log.size

    again = apply_retention(store, log, airspace, now=NOW, retention_days=5 * 365)
    assert again["runs"][0]["detections_purged"] == 0
    assert (run / "detections.csv").read_bytes().splitlines(keepends=True) == kept_lines


def test_nothing_goes_within_the_period_and_the_default_is_five_years(
    store: SqlStore, airspace: Airspace, tmp_path: Path
) -> None:
    run, tracks = _run(tmp_path)
    log = AuditLog(store.audit_store())
    register_run_dir(store, log, run, now=NOW, tracks_path=tracks)
    original = (run / "detections.csv").read_bytes()
    early = datetime(2024, 1, 1, tzinfo=UTC)
    report = apply_retention(store, log, airspace, now=early)
    assert report["retention_days"] == 5 * 365
    assert report["runs"][0] == {"run": run_id_of(run), "purged": False}
    assert (run / "detections.csv").read_bytes() == original
    # Exactly at the deadline: the old rows go (purge due at recorded + 5 years).
    due = datetime(2020, 6, 1, 10, tzinfo=UTC) + timedelta(days=5 * 365)
    assert apply_retention(store, log, airspace, now=due - timedelta(seconds=1))["runs"][0] == {
        "run": run_id_of(run),
        "purged": False,
    }
    assert apply_retention(store, log, airspace, now=due)["runs"][0]["detections_purged"] == 0
    assert (
        apply_retention(store, log, airspace, now=due + timedelta(seconds=1))["runs"][0][
            "detections_purged"
        ]
        == 2
    )


def test_parquet_detections(store: SqlStore, airspace: Airspace, tmp_path: Path) -> None:
    run, _ = _run(tmp_path, parquet=True)
    log = AuditLog(store.audit_store())
    register_run_dir(store, log, run, now=NOW)
    report = apply_retention(store, log, airspace, now=NOW, retention_days=365)
    assert report["runs"][0]["detections_purged"] == 2
    assert pd.read_parquet(run / "detections.parquet")["det_id"].tolist() == ["b", "c", "d"]


def test_cut_tables_is_row_by_row(airspace: Airspace) -> None:
    det = pd.DataFrame(
        {
            "time": [OLD, NEW, OLD],
            "lon": [USA[0], USA[0], MEX[0]],
            "lat": [USA[1], USA[1], MEX[1]],
        }
    )
    cut = cut_tables(det, None, airspace, "USA", now=NOW, retention_days=365)
    assert cut.keep_detections is not None
    assert cut.keep_detections.tolist() == [False, True, True]
    assert cut.keep_tracks is None
    assert retention_cutoff(NOW, 0) == NOW
    with pytest.raises(ValueError, match="negative"):
        retention_cutoff(NOW, -1)
    with pytest.raises(ValueError, match="time"):
        cut_tables(
            det.assign(time=["yesterday"] * 3), None, airspace, "USA", now=NOW, retention_days=1
        )


def test_cli_runs_add_and_retention_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run, tracks = _run(tmp_path)
    db = str(tmp_path / "cli.db")
    assert main(["runs", "add", str(run), "--db", db, "--tracks", str(tracks)]) == 0
    capsys.readouterr()
    args = ["retention", "run", "--db", db, "--now", "2026-03-21T09:00:00Z", "--json"]
    assert main([*args, "--retention-days", "1825"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["runs"][0]["detections_purged"] == 2
    assert main(["retention", "run", "--db", db, "--now", "tomorrow"]) == 2
    assert main(["retention", "run", "--db", db, "--now", "2026-03-21T09:00:00"]) == 2  # no zone
    assert main(["retention", "run", "--db", db, "--retention-days", "-1"]) == 2
    assert "--now" in capsys.readouterr().err
    # A tracks file with two rows for one track at one time: a clear input error, exit 2.
    dup = tmp_path / "dup.csv"
    dup.write_text(tracks.read_text() + tracks.read_text().splitlines()[1] + "\n", encoding="utf-8")
    other = tmp_path / "other"
    other.mkdir()
    for name in ("meta.json", "detections.csv"):
        (other / name).write_bytes((run / name).read_bytes())
    assert main(["runs", "add", str(other), "--db", db, "--tracks", str(dup)]) == 2
