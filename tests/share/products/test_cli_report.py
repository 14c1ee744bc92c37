"""``standoff report``: every product for the owner and for a partner; bad input exits 2
with one line naming the file, the field and the value."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from standoff.cli import main
from standoff.domain.findings import Findings
from standoff.share.products import read_cot_file

EVERY = {
    "report.html",
    "report.pdf",
    "findings.geojson",
    "findings.kml",
    "findings.cot.xml",
    "findings.parquet",
}


@pytest.fixture(scope="module")
def findings_json(findings: Findings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("in") / "findings.json"
    path.write_text(json.dumps(findings.to_dict()), encoding="utf-8")
    return path


def test_owner_and_partner_editions(findings_json: Path, run_dir: Path, tmp_path: Path) -> None:
    owner, mex = tmp_path / "owner", tmp_path / "mex"
    assert main(["report", str(findings_json), "--run", str(run_dir), "--out", str(owner)]) == 0
    assert {p.name for p in owner.iterdir()} == EVERY | {"tracks.cot.xml", "tracks.parquet"}
    assert len(read_cot_file(owner / "tracks.cot.xml")) == 2
    assert b'how="m-s"' in (owner / "tracks.cot.xml").read_bytes()  # a simulated run
    # The same tracks as recorded data: tracker output, "machine, fused".
    recorded = tmp_path / "recorded"
    shutil.copytree(run_dir, recorded)
    meta = json.loads((recorded / "meta.json").read_text(encoding="utf-8"))
    (recorded / "meta.json").write_text(json.dumps({**meta, "schema": "recorded/1"}), "utf-8")
    rec_out = tmp_path / "rec"
    assert main(["report", str(findings_json), "--run", str(recorded), "--out", str(rec_out)]) == 0
    cot = (rec_out / "tracks.cot.xml").read_bytes()
    assert b'how="m-f"' in cot
    assert b'how="m-s"' not in cot
    args = ["report", str(findings_json), "--run", str(run_dir), "--out", str(mex)]
    assert main([*args, "--partner", "MEX"]) == 0
    assert {p.name for p in mex.iterdir()} == EVERY  # no tracks for a partner
    doc = json.loads((mex / "findings.geojson").read_text(encoding="utf-8"))
    assert doc["marking"] == "UNCLASSIFIED//REL TO USA, MEX"
    ids = sorted(f["id"] for f in doc["features"])
    assert ids == ["alert-1", "approach-1", "corridor-1", "site-1", "site-4"]
    assert sorted(pq.read_table(mex / "findings.parquet")["id"].to_pylist()) == ids
    for name in ("findings.kml", "findings.cot.xml", "report.html"):
        text = (mex / name).read_text(encoding="utf-8")
        assert "site-2" not in text, name
        assert "site-3" not in text, name


def test_released_own_territory_finding_reaches_the_partner(
    findings_json: Path, tmp_path: Path
) -> None:
    """Only through the audit log: an approver's release (with a reason) is read back."""
    from datetime import UTC, datetime

    from standoff.oversight.approval import User
    from standoff.oversight.minimise import release
    from standoff.pipeline import open_workflow

    run = json.loads(findings_json.read_text(encoding="utf-8"))["run_id"]
    db = str(tmp_path / "standoff.db")
    out = tmp_path / "mex"
    args = ["report", str(findings_json), "--out", str(out), "--partner", "MEX", "--db", db]
    assert main(args) == 0  # nothing released yet
    doc = json.loads((out / "findings.geojson").read_text(encoding="utf-8"))
    assert "site-3" not in {f["id"] for f in doc["features"]}
    with open_workflow(db) as wf:
        release(
            wf.log,
            User("bob", ("approver",)),
            run=run,
            kind="finding",
            ids=["site-3"],
            reason="consent on record",
            now=datetime(2026, 3, 21, tzinfo=UTC),
        )
    assert main(args) == 0
    doc = json.loads((out / "findings.geojson").read_text(encoding="utf-8"))
    assert "site-3" in {f["id"] for f in doc["features"]}


def test_a_partner_nothing_is_released_to_is_refused(
    findings_json: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "gtm"
    assert main(["report", str(findings_json), "--out", str(out), "--partner", "GTM"]) == 2
    assert not (out / "report.html").exists()
    assert "GTM" in capsys.readouterr().err


def _bad_run(tmp_path: Path, run_dir: Path, name: str, text: str) -> Path:
    import shutil

    bad = tmp_path / "run"
    shutil.copytree(run_dir, bad)
    (bad / name).write_text(text, encoding="utf-8")
    return bad


@pytest.mark.parametrize(
    ("name", "text", "expect"),
    [
        ("flight.csv", "time,lat\n2026-03-20T02:00:00Z,31\n", ["flight.csv", "'lon'"]),
        (
            "flight.csv",
            "time,lat,lon\n2026-03-20T02:00:00Z,31,-500\n",
            ["flight.csv", "'lon'", "-500"],
        ),
        ("detections.csv", "time\nyesterday\n", ["detections.csv", "'time'", "yesterday"]),
        (
            "tracks/tracks.csv",
            "time,track_id,x,y\n2026-03-20T02:00:00Z,abc,0,0\n",
            ["tracks.csv", "'track_id'", "abc"],
        ),
    ],
)
def test_bad_run_files_exit_2_naming_file_field_and_value(
    findings_json: Path,
    run_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    text: str,
    expect: list[str],
) -> None:
    bad = _bad_run(tmp_path, run_dir, name, text)
    out = tmp_path / "out"
    assert main(["report", str(findings_json), "--run", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("standoff: error: ")
    for word in expect:
        assert word in err, err
    assert not (out / "report.html").exists()  # inputs are checked before anything is written


def test_missing_run_folder_and_bad_findings_exit_2(
    findings_json: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "x")
    assert main(["report", str(findings_json), "--run", str(tmp_path / "nope"), "--out", out]) == 2
    assert "flight.csv" in capsys.readouterr().err
    bad = tmp_path / "f.json"
    bad.write_text('{"schema": "standoff.findings/9"}', encoding="utf-8")
    assert main(["report", str(bad), "--out", out]) == 2
    err = capsys.readouterr().err
    assert "f.json" in err
    assert "'schema'" in err
    assert "standoff.findings/9" in err
