"""The demo runs end to end on the embedded defaults and writes each stage's outputs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import shapely

from standoff.cli import main


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out)]) == 0
    return out


def test_demo_airspace_stage(demo_dir: Path) -> None:
    summary = json.loads((demo_dir / "summary.json").read_text())
    stage = demo_dir / "airspace"
    for name in (
        "places.csv",
        "places_classified.csv",
        "planned_path.geojson",
        "flown_track.csv",
        "check_planned.json",
        "check_flown.json",
    ):
        assert (stage / name).is_file(), name
    assert summary["airspace"]["checks"] == {"planned": "conformant", "flown": "non_conformant"}
    flown = json.loads((stage / "check_flown.json").read_text())
    assert flown["incursions"][0]["airspace"] == "MEX"
    assert flown["unknown_gaps"], "the demo track has a telemetry gap"
    # The files the demo writes are valid inputs for the CLI.
    planned = str(stage / "planned_path.geojson")
    assert main(["airspace", "check", planned, "--operator", "USA", "--margin-m", "3000"]) == 0
    track = str(stage / "flown_track.csv")
    assert main(["airspace", "check", track, "--operator", "USA", "--margin-m", "3000"]) == 1


def test_demo_plan_stage(demo_dir: Path) -> None:
    stage = demo_dir / "plan"
    for name in (
        "mission.yaml",
        "plan.json",
        "path.geojson",
        "mission.plan",
        "mission.waypoints",
        "plan.kml",
    ):
        assert (stage / name).is_file(), name
    summary = json.loads((stage / "summary.json").read_text())
    assert summary["min_clearance_m"] >= summary["margin_m"] == 3000
    assert all(a["coverage_efficiency"] >= 0.9 for a in summary["aoi"])
    # The planned path is a valid, conformant input for the airspace checker.
    assert (
        main(
            [
                "airspace",
                "check",
                str(stage / "path.geojson"),
                "--operator",
                "USA",
                "--margin-m",
                "3000",
            ]
        )
        == 0
    )


def test_demo_audit_stage_and_tamper_detection(
    demo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stage = demo_dir / "audit"
    key = str(stage / "keys" / "standoff-audit.pub.pem")
    db = stage / "audit.db"
    assert main(["audit", "verify", "--db", str(db), "--key", key]) == 0
    assert main(["audit", "verify-bundle", str(stage / "bundle.json"), "--key", key]) == 0
    capsys.readouterr()
    tampered = stage / "tampered.db"
    tampered.write_bytes(db.read_bytes())
    with sqlite3.connect(tampered) as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        table = next(t for t in tables if "entr" in t)
        cols = [r[1] for r in conn.execute(f"pragma table_info({table})")]
        blob = next(c for c in cols if c in ("entry", "entry_json", "body", "data", "entry_bytes"))
        conn.execute(f"update {table} set {blob} = replace({blob}, 'demo', 'evil') where rowid = 2")
    assert main(["audit", "verify", "--db", str(tampered), "--key", key]) == 1
    assert "INVALID" in capsys.readouterr().err


def test_demo_run_and_tracks_stages(demo_dir: Path) -> None:
    run = demo_dir / "run"
    for name in (
        "scenario.yaml",
        "flight.csv",
        "truth.csv",
        "detections.csv",
        "meta.json",
        "certificate.json",
    ):
        assert (run / name).is_file(), name
    meta = json.loads((run / "meta.json").read_text())
    assert meta["flight"]["path_check"]["status"] == "conformant"
    summary = json.loads((demo_dir / "summary.json").read_text())
    assert summary["run"]["flown_path"] == "conformant"
    assert summary["run"]["detections"] > 0
    header = (demo_dir / "tracks" / "tracks.csv").read_text().splitlines()[0]
    assert header.startswith("time,track_id,")
    assert summary["tracks"]["tracks"] > 0
    cert = json.loads((run / "certificate.json").read_text())["certificate"]
    assert cert["status"] == "conformant"
    assert cert["mission"] == "sasabe-corridor"
    assert cert["plan_sha256"]
    # Four nights: the plan flown each night, each sortie certified on its own.
    assert summary["run"]["sorties"] == 4
    assert [s["status"] for s in cert["sorties"]] == ["conformant"] * 4
    assert cert["unknown_gaps"] == []
    assert len(meta["plan"]["sortie_windows_s"]) == 4


def test_demo_scale_stage(demo_dir: Path) -> None:
    import pyarrow.parquet as pq

    stage = demo_dir / "scale"
    summary = json.loads((demo_dir / "summary.json").read_text())["scale"]
    table = pq.read_table(stage / "campaign" / "results.parquet").to_pandas()
    assert list(table["status"]) == ["ok", "ok"]
    assert (table["flown_min_clearance_m"] >= table["mission.margin_m"]).all()
    assert (stage / "campaign" / "report.html").is_file()
    assert list((stage / "archive" / "detections").glob("cell=*/day=*/*.parquet"))
    assert list((stage / "archive-tracks" / "tracks").glob("cell=*/day=*/tracks.parquet"))
    assert summary["archive"]["hand_overs"] > 0
    assert summary["archive"]["agreement"]["pair_precision"] > 0.95
    assert summary["archive"]["agreement"]["pair_recall"] > 0.95


def test_demo_oversight_stage(demo_dir: Path) -> None:
    summary = json.loads((demo_dir / "summary.json").read_text())
    assert summary["plan"]["mission"].startswith("sasabe-corridor-")
    export = summary["oversight"]["partner_export"]
    assert export["marking"] == "UNCLASSIFIED//REL TO USA, MEX"
    assert export["masked_rows"] > 0
    doc = json.loads(Path(export["file"]).read_text())
    assert len(doc["features"]) == export["tracks"]
    purged = summary["oversight"]["retention"]["runs"][0]
    assert purged["purged"]
    assert purged["detections_purged"] > 0
    db = str(demo_dir / "standoff.db")
    assert main(["mission", "status", "--db", db]) == 0


def test_demo_products_stage(demo_dir: Path) -> None:
    summary = json.loads((demo_dir / "summary.json").read_text())["products"]
    stage = demo_dir / "products"
    ev = json.loads((stage / "evaluation.json").read_text())
    assert {"sites", "routes", "approaches", "alerts"} <= set(ev)
    # The evaluation knows convoy-3 stopped (the one true change) and that an alert found it.
    assert ev["alerts"]["per_route"]["convoy-3"]["changed"] == "decrease"
    assert ev["alerts"]["true_changes"] == 1
    assert ev["alerts"]["found"] == 1
    for edition in ("owner", "MEX"):
        for name in (
            "report.html",
            "report.pdf",
            "findings.geojson",
            "findings.kml",
            "findings.cot.xml",
            "findings.parquet",
        ):
            assert (stage / edition / name).is_file(), (edition, name)
    assert "tracks.cot.xml" in summary["owner"]
    assert "tracks.cot.xml" not in summary["partner_MEX"]
    partner = json.loads((stage / "MEX" / "findings.geojson").read_text())
    assert partner["marking"] == "UNCLASSIFIED//REL TO USA, MEX"
    findings = json.loads((stage / "findings.json").read_text())
    own = {s["id"] for s in findings["sites"] if s["own_territory"]}
    assert not own & {f["id"] for f in partner["features"]}
    # The demo's analysis used the run's road map, and says how much of each corridor
    # tracks covered.
    analysis = summary["analysis"]
    assert analysis["roads"] == str(demo_dir / "run" / "roads.geojson")
    assert analysis["corridors_seen"] == {
        c["id"]: c["observed_share"] for c in findings["corridors"]
    }
    assert all(0.0 < s <= 1.0 for s in analysis["corridors_seen"].values())
    # Four nights fill the sites' weekly profiles, and the convoys that stop after the
    # second night raise a change alert on a corridor along their route (the truth).
    assert analysis["nights"] == 4
    days = {d for s in findings["sites"] for d, n in enumerate(s["visits_by_weekday"]) if n}
    assert len(days) >= 4
    convoy3 = next(
        f
        for f in json.loads((demo_dir / "run" / "world.geojson").read_text())["features"]
        if f["properties"].get("kind") == "route" and f["properties"]["name"] == "convoy-3"
    )
    route = shapely.LineString(convoy3["geometry"]["coordinates"])
    lines = {c["id"]: shapely.LineString(c["path_lonlat_deg"]) for c in findings["corridors"]}
    decreases = [
        a for a in findings["alerts"]
        if a["direction"] == "decrease" and a["activity"] == "convoy passes"
    ]  # fmt: skip
    assert decreases
    for a in decreases:  # within ~500 m of convoy-3's road along most of the corridor
        line = lines[a["subject_id"]]
        near = shapely.intersection(line, route.buffer(0.005)).length
        assert near >= 0.5 * line.length


def test_demo_data_served_to_the_console(demo_dir: Path) -> None:
    """What `standoff demo --serve` serves: the partner sees only its edition."""
    from datetime import UTC, datetime

    from fastapi.testclient import TestClient

    from standoff.api import ApiSettings, create_app
    from standoff.pipeline import populate_service

    info = populate_service(demo_dir, datetime(2026, 3, 21, tzinfo=UTC))
    with TestClient(create_app(ApiSettings(db_url=info["db"]))) as client:
        partner = {"Authorization": f"Bearer {info['tokens']['lucia']}"}
        analyst = {"Authorization": f"Bearer {info['tokens']['carol']}"}
        runs = client.get("/api/v1/runs", headers=partner).json()
        assert info["run"] in [r["run"] for r in runs]
        products = client.get(f"/api/v1/runs/{info['run']}/products", headers=partner).json()
        assert products
        assert all(p["product_id"].startswith("MEX-") for p in products)
        seen = client.get(f"/api/v1/runs/{info['run']}/findings", headers=partner).json()
        assert seen
        assert not any(f["own_territory"] for f in seen)
        everything = client.get(f"/api/v1/runs/{info['run']}/findings", headers=analyst).json()
        assert len(everything) > len(seen)
        page = client.get("/")
        assert "Standoff console" in page.text


def test_a_second_demo_into_the_same_folder_replaces_the_first(
    demo_dir: Path, tmp_path: Path
) -> None:
    """Everything a demo writes is recognised as its own, so a rerun starts afresh (an old
    mission store would refuse the new approval: the mission is closed)."""
    import shutil

    from standoff.pipeline import _clear_demo_folder

    again = tmp_path / "again"
    shutil.copytree(demo_dir, again)
    removed = _clear_demo_folder(again)
    assert "standoff.db" in removed
    assert "summary.json" in removed
    assert list(again.iterdir()) == []


def test_the_demo_refuses_a_folder_holding_other_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "thesis.tex").write_text("mine\n", encoding="utf-8")
    assert main(["demo", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--out" in err
    assert "thesis.tex" in err
    assert "Traceback" not in err
    assert (tmp_path / "thesis.tex").read_text(encoding="utf-8") == "mine\n"
    assert (tmp_path / "run").is_dir()


def test_demo_shows_the_planned_radar_aim(demo_dir: Path) -> None:
    """The demo plans its mission again with ``radar_aim: planned`` (not flown) and says
    where the planner would aim each orbit and how much of each AOI the sector holds then."""
    summary = json.loads((demo_dir / "summary.json").read_text())
    aimed = summary["plan"]["radar_aim_planned"]
    flown = {a["name"]: a["radar_sector_fraction"] for a in summary["plan"]["aoi"]}
    assert len(aimed["azimuths_deg"]) == 4
    assert all(0.0 <= az < 360.0 for az in aimed["azimuths_deg"])
    assert set(aimed["radar_sector_fraction"]) == set(flown)
    assert aimed["radar_sector_fraction"]["altar-valley"] > flown["altar-valley"] + 0.05
    plan = json.loads((demo_dir / "plan" / "plan.json").read_text())
    assert all(o["radar_azimuth_deg"] is None for o in plan["orbits"])  # the flown plan
