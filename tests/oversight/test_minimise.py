"""Minimisation: own-territory detections and tracks are masked from what partners and
products see unless an approver released them, and no log line carries their coordinates."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from standoff.airspace import Airspace
from standoff.core.errors import InputError, PolicyDenied
from standoff.oversight import AuditLog, MemoryAuditStore
from standoff.oversight.approval import User
from standoff.oversight.keys import Signer
from standoff.oversight.minimise import (
    OWN_TERRITORY_COLUMN,
    minimise,
    minimise_table,
    own_territory_points,
    record_minimisation,
    release,
    released_ids,
)

NOW = datetime(2026, 3, 21, 9, 0, tzinfo=UTC)
# Canary coordinates: distinctive digits, so a leak is found by searching text.
USA_PTS = [(-111.123457, 31.654321), (-111.133457, 31.664321), (-110.987654, 31.712345)]
MEX_PTS = [(-111.55, 31.2), (-111.5, 31.15)]
INTL_PTS = [(-94.0, 25.0)]  # Gulf of Mexico, beyond any territorial sea
CANARIES = ("111.1234", "31.6543", "111.1334", "31.6643", "110.9876", "31.7123")


@pytest.fixture(scope="module")
def detections(airspace: Airspace) -> pd.DataFrame:
    pts = USA_PTS + MEX_PTS + INTL_PTS
    frame = pd.DataFrame(
        {
            "det_id": [f"d{i}" for i in range(len(pts))],
            "time": ["2026-03-20T02:00:00Z"] * len(pts),
            "sensor": ["gmti"] * len(pts),
            "lon": [p[0] for p in pts],
            "lat": [p[1] for p in pts],
        }
    )
    owners = airspace.owner_at(frame["lon"], frame["lat"])
    assert list(owners) == ["USA"] * 3 + ["MEX"] * 2 + ["INTL"]
    return frame


@pytest.fixture(scope="module")
def tracks() -> pd.DataFrame:
    rows = []
    paths = {
        1: (np.linspace(-111.20, -111.10, 5), np.full(5, 31.60)),  # wholly USA
        2: (np.linspace(-111.60, -111.50, 5), np.full(5, 31.20)),  # wholly MEX
        3: (np.full(5, -111.30), np.linspace(31.30, 31.46, 5)),  # crosses the line
    }
    for tid, (lon, lat) in paths.items():
        for k in range(5):
            rows.append(
                {
                    "track_id": tid,
                    "time": f"2026-03-20T02:00:{10 * k:02d}Z",
                    "lon": lon[k],
                    "lat": lat[k],
                }
            )
    return pd.DataFrame(rows)


def test_detections_in_own_territory_are_masked(
    airspace: Airspace, detections: pd.DataFrame
) -> None:
    m = minimise_table(detections, airspace, "USA", kind="detections")
    assert m.mask.tolist() == [True] * 3 + [False] * 3
    assert m.marked[OWN_TERRITORY_COLUMN].dtype == bool
    assert m.view["det_id"].tolist() == ["d3", "d4", "d5"]
    assert list(m.view.columns) == list(detections.columns)  # no mask column leaks out
    assert m.counts() == {
        "rows": 6,
        "own_territory_rows": 3,
        "released_rows": 0,
        "masked_rows": 3,
        "shown_rows": 3,
    }
    # Another operator's own territory is its own business: for MEX the Sonora rows.
    assert minimise_table(detections, airspace, "MEX", kind="detections").mask.tolist() == [
        False
    ] * 3 + [True] * 2 + [False]


def test_released_rows_are_shown(airspace: Airspace, detections: pd.DataFrame) -> None:
    m = minimise_table(detections, airspace, "USA", kind="detections", released_ids=["d1", "d4"])
    assert m.view["det_id"].tolist() == ["d1", "d3", "d4", "d5"]
    assert m.released.tolist() == [False, True, False, False, False, False]  # d4 is not own
    assert m.masked_rows == 2


def test_tracks_wholly_in_own_territory_are_masked(
    airspace: Airspace, tracks: pd.DataFrame
) -> None:
    m = minimise_table(tracks, airspace, "USA", kind="tracks")
    assert sorted(set(tracks.loc[m.mask.to_numpy(), "track_id"])) == [1]
    assert sorted(set(m.view["track_id"])) == [2, 3]  # the crossing track is not wholly own
    shown = minimise_table(tracks, airspace, "USA", kind="tracks", released_ids=["1"])
    assert sorted(set(shown.view["track_id"])) == [1, 2, 3]


def test_minimise_both_tables_and_missing_columns(
    airspace: Airspace, detections: pd.DataFrame, tracks: pd.DataFrame
) -> None:
    run = minimise(detections, tracks, airspace, "USA", released_tracks=["1"])
    assert run.detections is not None
    assert run.tracks is not None
    assert run.detections.masked_rows == 3
    assert run.tracks.masked_rows == 0
    assert minimise(None, tracks, airspace, "USA").detections is None
    with pytest.raises(InputError) as err:
        minimise_table(detections.drop(columns=["lat"]), airspace, "USA", kind="detections")
    assert err.value.field == "lat"
    with pytest.raises(InputError):
        minimise_table(detections, airspace, "USA", kind="alerts")  # type: ignore[arg-type]
    empty = minimise_table(detections.iloc[0:0], airspace, "USA", kind="detections")
    assert len(empty.view) == 0
    assert empty.own_territory_rows == 0


def test_vectorised_over_a_large_table(airspace: Airspace) -> None:
    rng = np.random.default_rng(7)
    n = 200_000
    frame = pd.DataFrame(
        {
            "det_id": np.arange(n).astype(str),
            "lon": rng.uniform(-112.0, -110.0, n),
            "lat": rng.uniform(30.8, 32.2, n),
        }
    )
    m = minimise_table(frame, airspace, "USA", kind="detections")
    sample = rng.choice(n, 200, replace=False)
    expected = [airspace.owner_at([frame["lon"][i]], [frame["lat"][i]])[0] == "USA" for i in sample]
    assert m.mask.to_numpy()[sample].tolist() == expected
    assert 0 < m.own_territory_rows < n
    assert not own_territory_points(airspace, "USA", m.view["lon"], m.view["lat"]).any()


def test_releases_and_masking_are_audited_without_coordinates(
    airspace: Airspace, detections: pd.DataFrame, tracks: pd.DataFrame
) -> None:
    log = AuditLog(MemoryAuditStore())
    approver, analyst = User("bob", ("approver",)), User("carol", ("analyst",))
    with pytest.raises(PolicyDenied, match="not an approver"):
        release(log, analyst, run="r1", kind="detection", ids=["d0"], reason="x", now=NOW)
    with pytest.raises(PolicyDenied, match="reason"):
        release(log, approver, run="r1", kind="detection", ids=["d0"], reason=" ", now=NOW)
    with pytest.raises(InputError):
        release(log, approver, run="r1", kind="detection", ids=[], reason="x", now=NOW)
    assert log.size == 0
    assert (
        release(
            log, approver, run="r1", kind="detection", ids=["d0", "d0"], reason="consent", now=NOW
        )
        == 1
    )
    rel = released_ids(log, run="r1", kind="detection")
    assert rel == frozenset({"d0"})
    assert released_ids(log, run="r2", kind="detection") == frozenset()
    run = minimise(detections, tracks, airspace, "USA", released_detections=rel)
    record_minimisation(log, "standoff", run="r1", recipient="mex", minimised=run, now=NOW)

    entries = [json.loads(e.entry) for e in log.entries()]
    assert entries[0]["details"] == {
        "run": "r1",
        "kind": "detection",
        "ids": ["d0"],
        "count": 1,
        "reason": "consent",
    }
    assert entries[1]["details"]["detections"]["masked_rows"] == 2
    assert entries[1]["details"]["tracks"]["masked_rows"] == 5
    assert entries[1]["details"]["recipient"] == "MEX"

    # What a partner receives, and every log line: no own-territory coordinate, except the
    # one an approver released (d0), which may go to the partner but never into the log.
    assert run.detections is not None
    assert run.tracks is not None
    export = run.detections.view.to_csv(index=False) + run.tracks.view.to_csv(index=False)
    log_text = "\n".join(e.entry.decode() for e in log.entries())
    for canary in CANARIES[2:]:
        assert canary not in export
    for canary in CANARIES:
        assert canary not in log_text
    assert "111.2" not in log_text
    assert "31.6" not in log_text
    signer = Signer.generate("t")
    log.checkpoint(signer, NOW)
    assert log.verify(signer.verifier).entries == 2


def test_partner_table_export_withholds_own_territory_rows(
    detections: pd.DataFrame,
    tracks: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """End to end on the command line: the partner's files and every log line are free of
    own-territory detections until an approver releases one; a partner the marking does not
    name gets nothing (exit 2)."""
    from standoff.cli import main
    from standoff.pipeline import open_workflow

    run = tmp_path / "run"
    run.mkdir()
    detections.assign(sigma_m=20.0).to_csv(run / "detections.csv", index=False)
    tracks.to_csv(tmp_path / "tracks.csv", index=False)
    meta = {"plan": {"operator": "USA"}, "scenario": {"start_utc": "2026-03-20T02:00:00Z"}}
    (run / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    users = tmp_path / "users.yaml"
    users.write_text(
        yaml.safe_dump({"users": [{"name": "bob", "roles": ["approver"]}]}), encoding="utf-8"
    )
    db = str(tmp_path / "s.db")
    out = tmp_path / "px"
    args = ["partner-export-tables", str(run), "--partner", "MEX", "--out", str(out)]
    args += ["--tracks", str(tmp_path / "tracks.csv"), "--db", db, "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["detections"]["masked_rows"] == 3
    assert summary["tracks"]["masked_rows"] == 5
    exported = (out / "detections.MEX.csv").read_text() + (out / "tracks.MEX.csv").read_text()
    assert pd.read_csv(out / "detections.MEX.csv")["det_id"].tolist() == ["d3", "d4", "d5"]
    assert sorted(set(pd.read_csv(out / "tracks.MEX.csv")["track_id"])) == [2, 3]
    for canary in CANARIES:
        assert canary not in exported

    release = ["release", str(run), "d0", "--kind", "detection", "--db", db]
    assert main([*release, "--users", str(users), "--as", "bob", "--reason", "consent"]) == 0
    assert main(args) == 0
    capsys.readouterr()
    assert pd.read_csv(out / "detections.MEX.csv")["det_id"].tolist() == ["d0", "d3", "d4", "d5"]
    gtm = ["partner-export-tables", str(run), "--partner", "GTM", "--out", str(tmp_path / "g")]
    assert main([*gtm, "--db", db]) == 2
    assert not (tmp_path / "g").exists()

    with open_workflow(db) as wf:
        text = "\n".join(e.entry.decode() for e in wf.log.entries())
    for canary in CANARIES:
        assert canary not in text
    assert "not releasable to GTM" in text
    assert text.count('"minimisation.mask"') == 2
    assert '"ids":["d0"]' in text
