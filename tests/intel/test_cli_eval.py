"""Evaluation metrics on a fixed world, the CLI (good and bad input), organisations, and one
integration run (simulate -> track -> analyse -> evaluate)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
import yaml

from standoff.cli import main
from standoff.core.errors import InputError
from standoff.domain.findings import ChangeAlert, Confidence, Corridor, Evidence, Findings, Site
from standoff.intel import evaluate, link, load_organisations, read_run
from standoff.intel.io import RunInfo
from standoff.intel.organisations import resolve

from .conftest import START, drive, table, write_run


def _site(sid: str, lon: float, lat: float) -> Site:
    ev = Evidence((1,), 3, ("gmti",), START, START)
    return Site(sid, lat, lon, 50.0, 3, 600.0, START, START, (0,) * 24, (0,) * 7, ev,
                Confidence(0.8))  # fmt: skip


def _truth_run(folder: Path, info: RunInfo) -> None:
    tracks = table(drive(1, 0.0, (0.0, 0.0), (1000.0, 0.0), 10.0))
    write_run(folder, tracks, info)
    site_a = info.frame.to_lonlat(0.0, 0.0)
    site_b = info.frame.to_lonlat(20_000.0, 0.0)
    route = np.column_stack(info.frame.to_lonlat(np.linspace(0, 1000, 11), np.zeros(11)))
    world = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"kind": "site", "name": "a"},
             "geometry": {"type": "Point", "coordinates": [float(site_a[0]), float(site_a[1])]}},
            {"type": "Feature", "properties": {"kind": "site", "name": "b"},
             "geometry": {"type": "Point", "coordinates": [float(site_b[0]), float(site_b[1])]}},
            {"type": "Feature", "properties": {"kind": "route", "name": "r", "from_site": "a"},
             "geometry": {"type": "LineString", "coordinates": route.tolist()}},
        ],
    }  # fmt: skip
    (folder / "world.geojson").write_text(json.dumps(world), encoding="utf-8")
    lon0, lat0 = (float(v) for v in site_a)
    (folder / "truth.csv").write_text(
        "time,truth_id,kind,lat,lon,speed_mps\n"
        f"2026-03-20T02:00:00Z,7,site_visit,{lat0},{lon0},0\n"
        f"2026-03-20T02:10:00Z,8,convoy,{lat0},{lon0},10\n",
        encoding="utf-8",
    )
    (folder / "detection_truth.csv").write_text("det_id,truth_id\n1000,8\n", encoding="utf-8")


def test_evaluate_counts_precision_and_recall(tmp_path: Path, info: RunInfo) -> None:
    _truth_run(tmp_path, info)
    lon, lat = (float(v) for v in info.frame.to_lonlat(100.0, 0.0))  # 100 m from site a
    far_lon, far_lat = (float(v) for v in info.frame.to_lonlat(-9000.0, 0.0))
    f = Findings("r", START, START, sites=(_site("s1", lon, lat), _site("s2", far_lon, far_lat)))
    m = evaluate(f, tmp_path, info)
    assert m["sites"]["found"] == 2
    assert m["sites"]["true"] == 2
    assert m["sites"]["precision"] == 0.5
    assert m["sites"]["recall"] == 0.5
    assert m["sites"]["observable"] == 1  # b was never visited nor looked at
    assert m["sites"]["recall_observable"] == 1.0
    assert m["routes"]["recall"] == 0.0  # no corridor at all
    # The convoy vehicle's last truth row is an event; it was detected, no approach found it.
    assert m["approaches"]["events"] == 1
    assert m["approaches"]["observable"] == 1
    assert m["approaches"]["recall"] == 0.0


def _corridor(cid: str, info: RunInfo, x_m: list[float], y_m: list[float]) -> Corridor:
    lon, lat = info.frame.to_lonlat(np.asarray(x_m), np.asarray(y_m))
    ev = Evidence((1,), 3, ("gmti",), START, START)
    return Corridor(cid, tuple(zip(lon.tolist(), lat.tolist(), strict=True)), 2, 10.0,
                    (0,) * 24, None, None, None, None, ev, Confidence(0.8))  # fmt: skip


def test_evaluate_route_precision_counts_corridors_on_a_true_route(
    tmp_path: Path, info: RunInfo
) -> None:
    """The true route runs 1 km east from site a.  A corridor along it (200 m off) is on it
    and recalls it; one that runs along it for a third of its length and then 2 km away is
    not; nor is one elsewhere."""
    _truth_run(tmp_path, info)
    along = _corridor("c1", info, [0.0, 1000.0], [200.0, 200.0])
    veers = _corridor("c2", info, [0.0, 1000.0, 1000.0], [200.0, 200.0, 2200.0])
    far = _corridor("c3", info, [0.0, 1000.0], [5000.0, 5000.0])
    m = evaluate(Findings("r", START, START, corridors=(along, veers, far)), tmp_path, info)
    assert m["routes"]["corridors"] == 3
    assert m["routes"]["corridors_on_a_route"] == 1
    assert m["routes"]["precision"] == 0.333
    assert m["routes"]["recall"] == 1.0
    m = evaluate(Findings("r", START, START, corridors=(far,)), tmp_path, info)
    assert m["routes"]["precision"] == 0.0
    assert m["routes"]["recall"] == 0.0
    assert evaluate(Findings("r", START, START), tmp_path, info)["routes"]["precision"] is None


def test_evaluate_tells_real_stopping_places_from_nothing(tmp_path: Path, info: RunInfo) -> None:
    _truth_run(tmp_path, info)
    # Two background vehicles parked at a junction 5 km west: not a site of interest.
    jlon, jlat = (float(v) for v in info.frame.to_lonlat(-5000.0, 0.0))
    with (tmp_path / "truth.csv").open("a", encoding="utf-8") as fh:
        for tid in (20, 21, 21):
            fh.write(f"2026-03-20T03:00:00Z,{tid},background,{jlat},{jlon},0\n")
    on_site = info.frame.to_lonlat(100.0, 0.0)
    junction = info.frame.to_lonlat(-5100.0, 0.0)
    nowhere = info.frame.to_lonlat(-9000.0, 0.0)
    sites = tuple(
        _site(sid, float(p[0]), float(p[1]))
        for sid, p in (("s1", on_site), ("s2", junction), ("s3", nowhere))
    )
    m = evaluate(Findings("r", START, START, sites=sites), tmp_path, info)["sites"]
    assert m["precision"] == 0.333
    assert m["precision_any_stopping_place"] == 0.667
    assert m["not_true_sites"] == {
        "s2": {"nearest_true_site_m": 5100.0, "vehicles_parked_nearby": 2},
        "s3": {"nearest_true_site_m": 9000.0, "vehicles_parked_nearby": 0},
    }


def test_cli_analyse_writes_findings(
    tmp_path: Path, info: RunInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    tracks = table(drive(1, 0.0, (0.0, 0.0), (5000.0, 0.0), 10.0))
    csv = write_run(tmp_path / "run", tracks, info)
    out = tmp_path / "products"
    code = main(
        ["analyse", str(tmp_path / "run"), "--tracks", str(csv), "--out", str(out), "--json"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert doc["schema"] == "standoff.findings/1"
    assert summary["sites"] == len(doc["sites"])
    assert Findings.from_dict(doc).run_id == read_run(tmp_path / "run").run_id


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("time,track_id,x,y,vx,vy,det_id\n0,1,abc,0,1,1,1\n", "field 'x'"),
        ("time,track_id,x,y,vx,vy,det_id\nyesterday,1,0,0,1,1,1\n", "field 'time'"),
        ("time,x,y,vx,vy,det_id\n0,0,0,1,1,1\n", "field 'track_id'"),
        ("", "cannot read"),
    ],
)
def test_cli_bad_tracks_exit_2_with_one_line(
    tmp_path: Path,
    info: RunInfo,
    content: str,
    expected: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_run(tmp_path / "run", table(drive(1, 0.0, (0.0, 0.0), (500.0, 0.0), 10.0)), info)
    bad = tmp_path / "bad.csv"
    bad.write_text(content, encoding="utf-8")
    code = main(
        ["analyse", str(tmp_path / "run"), "--tracks", str(bad), "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert str(bad) in err
    assert expected in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_cli_not_a_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyse", str(tmp_path), "--tracks", "t.csv", "--out", "o"]) == 2
    assert "no meta.json" in capsys.readouterr().err


def test_organisations_registry_and_analyst_link() -> None:
    orgs = load_organisations()
    by_name = {o.name: o for o in orgs}
    assert by_name["Sinaloa Cartel"].fto_listed_on == date(2025, 2, 20)
    assert resolve("cjng", orgs).name == "Cártel de Jalisco Nueva Generación"
    assert len([o for o in orgs if o.fto_listed_on == date(2025, 2, 20)]) == 6
    f = Findings("r", START, START, sites=(_site("s1", -111.6, 31.3),))
    when = datetime(2026, 3, 21, tzinfo=UTC)
    k = link(f, "s1", "CDS", analyst="analyst.a", probability=0.6, note="report 12",
             asserted_utc=when)  # fmt: skip
    assert k.organisation == "Sinaloa Cartel"
    assert k.confidence.words == "likely"
    with pytest.raises(InputError, match="unknown organisation"):
        link(f, "s1", "Nobody", analyst="a", probability=0.5, note="", asserted_utc=when)
    with pytest.raises(InputError, match="no finding"):
        link(f, "nope", "CDS", analyst="a", probability=0.5, note="", asserted_utc=when)
    with pytest.raises(InputError, match="analyst"):
        link(f, "s1", "CDS", analyst=" ", probability=0.5, note="", asserted_utc=when)


@pytest.mark.slow
def test_integration_simulate_track_analyse(tmp_path: Path) -> None:
    from standoff.airspace import Airspace
    from standoff.pipeline import run_analysis
    from standoff.plan import plan_mission
    from standoff.plan.demo import DEMO_MISSION_YAML
    from standoff.plan.mission_file import parse_mission
    from standoff.sim import parse_scenario, simulate
    from standoff.track import track_file

    airspace = Airspace.load()
    plan = plan_mission(airspace, parse_mission(yaml.safe_load(DEMO_MISSION_YAML), source="demo"))
    doc = yaml.safe_load(
        """\
name: small
seed: 11
start: 2026-03-20T02:00:00Z
duration_s: 2400
utc_offset_h: -7
roads:
  generate: {bbox_deg: [-111.5, 31.15, -111.0, 31.45], towns: 5, highways: 2, dirt_tracks: 5}
traffic: {vehicles: 100}
sites:
  - {name: s1, kind: ranch, lon_deg: -111.3, lat_deg: 31.3, visits_per_day: 150,
     hours_local: [0, 24], dwell_s: [200, 600]}
border_points:
  - {name: b1, lon_deg: -111.3, lat_deg: 31.395}
routes:
  - {name: r1, from_site: s1, to: b1, depart_s: [300], vehicles: 2, spacing_s: 20}
sensors:
  eoir: {cue: [s1]}
"""
    )
    run = tmp_path / "run"
    simulate(plan, parse_scenario(doc, source="small.yaml"), airspace, run)
    track_file(run / "detections.csv", tmp_path / "tracks.csv")
    summary = run_analysis(run, tmp_path / "tracks.csv", tmp_path / "products", evaluate=True)
    m = summary["evaluation"]
    assert set(m) == {"run_id", "sites", "routes", "approaches", "alerts"}
    assert m["sites"]["true"] == 1
    assert m["routes"]["true"] == 1
    assert m["alerts"]["true_changes"] == 0  # one convoy at the start: no change to find
    doc_out = json.loads((tmp_path / "products" / "findings.json").read_text(encoding="utf-8"))
    assert Findings.from_dict(doc_out).run_id == summary["run_id"]
    if m["sites"]["found"]:
        assert m["sites"]["precision"] is not None


def test_cli_analyse_road_map(
    tmp_path: Path, info: RunInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    """The run folder's roads.geojson is used by default, another map with --roads; a bad
    map exits with 2 and names the file and the field."""
    tracks = table(drive(1, 0.0, (0.0, 0.0), (5000.0, 0.0), 10.0))
    run = tmp_path / "run"
    csv = write_run(run, tracks, info)
    roads = {"type": "LineString", "coordinates": [[-111.8, 31.3], [-111.6, 31.3]]}
    (run / "roads.geojson").write_text(json.dumps(roads), encoding="utf-8")
    args = ["analyse", str(run), "--tracks", str(csv), "--out", str(tmp_path / "o"), "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["roads"] == str(run / "roads.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps({"type": "Point", "coordinates": [0, 0]}), encoding="utf-8")
    assert main([*args, "--roads", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err
    assert "features[0].geometry.type" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def _alert(aid: str, subject: str, direction: str, info: RunInfo, w0: float) -> ChangeAlert:
    ev = Evidence((1,), 3, ("gmti",), START, START)
    return ChangeAlert(aid, subject, 10.0, 0.0, 0, info.utc(w0), info.utc(info.duration_s),
                       direction, 0.001, ev, Confidence(0.99), activity="passes")  # type: ignore[arg-type]  # fmt: skip


def test_evaluate_scores_change_alerts_against_routes_whose_convoys_changed(
    tmp_path: Path, info: RunInfo
) -> None:
    """Convoys drive route r (1 km east from site a) every 2,000 s and stop before the last
    third of the run: a decrease.  A decrease alert on a corridor along r finds it; an alert
    on a corridor elsewhere, or an increase on r, is not correct.  Steady convoys are no
    change, and any alert then is wrong."""
    _truth_run(tmp_path, info)
    w0 = info.duration_s * 2.0 / 3.0
    lon0, lat0 = (float(v) for v in info.frame.to_lonlat(0.0, 0.0))
    lon1, lat1 = (float(v) for v in info.frame.to_lonlat(1000.0, 0.0))

    def convoys(departures: np.ndarray) -> None:
        lines = ["time,truth_id,kind,lat,lon,speed_mps"]
        for k, t in enumerate(departures):
            for dt, lat, lon in ((0.0, lat0, lon0), (100.0, lat1, lon1)):
                when = info.utc(float(t + dt)).strftime("%Y-%m-%dT%H:%M:%SZ")
                lines.append(f"{when},{100 + k},convoy,{lat},{lon},10")
        (tmp_path / "truth.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    along = _corridor("c1", info, [0.0, 1000.0], [200.0, 200.0])
    far = _corridor("c2", info, [0.0, 1000.0], [5000.0, 5000.0])
    alerts = (
        _alert("a1", "c1", "decrease", info, w0),
        _alert("a2", "c2", "decrease", info, w0),
        _alert("a3", "c1", "increase", info, w0),
    )
    f = Findings("r", START, START, corridors=(along, far), alerts=alerts)
    convoys(np.arange(0.0, w0 - 2000.0, 2000.0))
    m = evaluate(f, tmp_path, info)["alerts"]
    assert (m["true_changes"], m["found"], m["recall"]) == (1, 1, 1.0)
    assert (m["raised"], m["correct"], m["precision"]) == (3, 1, 0.333)
    assert m["per_route"]["r"]["changed"] == "decrease"
    assert m["per_route"]["r"]["departures_per_day_in_window"] == 0.0
    # Without the alert on r, the change is missed.
    m = evaluate(
        Findings("r", START, START, corridors=(along, far), alerts=alerts[1:]), tmp_path, info
    )["alerts"]
    assert (m["found"], m["recall"], m["correct"]) == (0, 0.0, 0)
    # Steady convoys: no change, so every alert is wrong.
    convoys(np.arange(0.0, info.duration_s - 200.0, 2000.0))
    m = evaluate(f, tmp_path, info)["alerts"]
    assert (m["true_changes"], m["recall"], m["correct"], m["precision"]) == (0, None, 0, 0.0)
    assert m["per_route"]["r"]["changed"] is None
    # Three convoys early and none later: too few to tell a rate from chance, no change.
    convoys(np.array([0.0, 2000.0, 4000.0]))
    assert evaluate(f, tmp_path, info)["alerts"]["true_changes"] == 0
    convoys(np.array([0.0, 2000.0, 4000.0, 6000.0]))
    assert evaluate(f, tmp_path, info)["alerts"]["true_changes"] == 1
