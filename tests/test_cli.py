"""The command line: exit codes (0 ok, 1 not conformant, 2 bad input), JSON, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from standoff.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_where_with_a_negative_longitude(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["airspace", "where", "31.3404", "-110.9343", "--json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["airspace"] == "USA"
    assert 0 < doc["boundary_distance_m"] < 5_000


def test_where_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["airspace", "where", "31.3086", "-110.9422"], capsys)
    assert code == 0
    assert "MEX" in out


@pytest.mark.parametrize(
    "args",
    [
        ["airspace", "where", "91", "-110"],
        ["airspace", "where", "abc", "-110"],
        ["airspace", "where", "51.5", "-0.1"],
        ["airspace", "check", "missing.geojson", "--operator", "USA"],
        ["airspace", "classify", "missing.csv", "--out", "o.csv"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(args, capsys)
    assert code == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("standoff: error:")


def test_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok = tmp_path / "ok.geojson"
    ok.write_text(
        json.dumps({"type": "LineString", "coordinates": [[-110.34, 31.59], [-110.8, 31.6]]})
    )
    bad = tmp_path / "bad.geojson"
    bad.write_text(
        json.dumps({"type": "LineString", "coordinates": [[-110.34, 31.59], [-110.9, 31.2]]})
    )
    assert (
        run(["airspace", "check", str(ok), "--operator", "USA", "--margin-m", "3000"], capsys)[0]
        == 0
    )
    code, out, _ = run(["airspace", "check", str(bad), "--operator", "USA", "--json"], capsys)
    assert code == 1
    doc = json.loads(out)
    assert doc["status"] == "non_conformant"
    assert doc["incursions"][0]["airspace"] == "MEX"
    code, _, err = run(["airspace", "check", str(ok), "--operator", "XYZ"], capsys)
    assert code == 2
    assert "unknown state code" in err
    code, _, err = run(
        ["airspace", "check", str(ok), "--operator", "USA", "--margin-m", "-1"], capsys
    )
    assert code == 2


def test_check_csv_track_with_gap_is_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    track = tmp_path / "track.csv"
    track.write_text(
        "time,lat,lon\n2026-03-20T02:00:00Z,31.60,-110.40\n2026-03-20T02:00:10Z,31.60,-110.41\n"
        "2026-03-20T02:05:00Z,31.60,-110.50\n"
    )
    code, out, _ = run(["airspace", "check", str(track), "--operator", "USA", "--json"], capsys)
    assert code == 1
    doc = json.loads(out)
    assert doc["status"] == "unknown"
    assert doc["unknown_gaps"][0]["start"]["time"] == "2026-03-20T02:00:10Z"


def test_classify_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "p.csv"
    src.write_text("lat,lon\n31.3404,-110.9343\n25.0,-93.0\n")
    out = tmp_path / "o.csv"
    code, stdout, _ = run(["airspace", "classify", str(src), "--out", str(out), "--json"], capsys)
    assert code == 0
    assert json.loads(stdout)["airspace_counts"] == {"INTL": 1, "USA": 1}
    assert out.read_text().splitlines()[0] == "lat,lon,airspace,boundary_distance_m"


def test_no_fly_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zones = tmp_path / "z.geojson"
    zones.write_text(
        json.dumps(
            {
                "type": "Feature",
                "properties": {"name": "r"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [-110.5, 31.6],
                            [-110.4, 31.6],
                            [-110.4, 31.7],
                            [-110.5, 31.7],
                            [-110.5, 31.6],
                        ]
                    ],
                },
            }
        )
    )
    path = tmp_path / "p.geojson"
    path.write_text(
        json.dumps({"type": "LineString", "coordinates": [[-110.6, 31.65], [-110.3, 31.65]]})
    )
    code, out, _ = run(
        ["airspace", "check", str(path), "--operator", "USA", "--no-fly", str(zones), "--json"],
        capsys,
    )
    assert code == 1
    assert json.loads(out)["incursions"][0]["airspace"] == "NFZ:r"


def test_console_script_runs_in_a_subprocess() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "standoff.cli",
            "airspace",
            "where",
            "32.5149",
            "-117.0382",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["airspace"] == "MEX"


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"], capsys)[0] == 0
    code, out, _ = run(["airspace", "--help"], capsys)
    assert code == 0
    assert "classify" in out


def test_mission_show_demo_round_trips_through_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["mission", "show", "demo"], capsys)
    assert code == 0
    mission = tmp_path / "mission.yaml"
    mission.write_text(out)
    code, out, err = run(["plan", str(mission), "--out", str(tmp_path / "plan"), "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["min_clearance_m"] >= 3000
    assert {a["name"] for a in doc["aoi"]} == {"corridor-1", "altar-valley"}
    for aoi in doc["aoi"]:
        assert 0 < aoi["coverable_fraction"] <= 1
        assert aoi["coverage_efficiency"] >= 0.9
    for key in ("on_station_s", "transit_s", "endurance_reserve_s"):
        assert doc[key] > 0
    # For review only: ground-control files come from `standoff export` after approval.
    assert (tmp_path / "plan" / "plan.kml").is_file()
    assert not (tmp_path / "plan" / "mission.plan").exists()


def test_plan_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    from standoff.plan import DEMO_MISSION_YAML

    doc = yaml.safe_load(DEMO_MISSION_YAML)
    doc["aoi"] = [
        {
            "name": "corridor-9",
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-110.0, 29.5], [-109.8, 29.5], [-109.8, 29.7], [-110.0, 29.5]]],
            },
        }
    ]
    mission = tmp_path / "m.yaml"
    mission.write_text(yaml.safe_dump(doc))
    code, _, err = run(["plan", str(mission), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert "corridor-9 lies" in err
    assert "nothing is visible" in err
    assert not (tmp_path / "o" / "mission.plan").exists()
    doc["aircraft"] = {"profile": "mq9", "weapons": ["agm-114"]}
    mission.write_text(yaml.safe_dump(doc))
    code, _, err = run(["plan", str(mission), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert "intelligence-only" in err


def test_keys_new_never_prints_the_private_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["keys", "new", "--out", str(tmp_path)], capsys)
    assert code == 0
    private = (tmp_path / "standoff-audit.key.pem").read_text()
    assert "PRIVATE KEY" in private
    assert private.splitlines()[1] not in out
    assert oct((tmp_path / "standoff-audit.key.pem").stat().st_mode & 0o777) == "0o600"
    assert run(["keys", "new", "--out", str(tmp_path)], capsys)[0] == 2  # never overwrites


def test_scenario_simulate_and_track_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    code, out, _ = run(["mission", "show", "demo"], capsys)
    mission = tmp_path / "mission.yaml"
    doc = yaml.safe_load(out)
    doc["on_station_s"] = 1800  # a short sortie keeps the test quick
    mission.write_text(yaml.safe_dump(doc))
    assert run(["plan", str(mission), "--out", str(tmp_path / "plan")], capsys)[0] == 0
    code, out, _ = run(["scenario", "show", "demo"], capsys)
    assert code == 0
    scenario = yaml.safe_load(out)
    scenario["duration_s"] = 1800
    scenario["flight"]["sorties"] = 1  # the demo's first night only
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    code, out, err = run(
        [
            "simulate",
            str(tmp_path / "plan"),
            "--scenario",
            str(tmp_path / "scenario.yaml"),
            "--out",
            str(tmp_path / "run"),
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    sim = json.loads(out)
    assert sim["flown_path"] == "conformant"
    assert sim["detections"] > 0
    code, out, err = run(
        [
            "track",
            str(tmp_path / "run" / "detections.csv"),
            "--out",
            str(tmp_path / "tracks.csv"),
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    tracked = json.loads(out)
    assert tracked["detections"] == sim["detections"]
    # the run's scans.csv was found: every scan with a GMTI detection had its footprint
    assert 0 < tracked["scans_with_footprint"] <= tracked["scans"]
    code, out, err = run(
        ["track", str(tmp_path / "run" / "detections.csv"), "--out", str(tmp_path / "t0.csv"),
         "--no-scans", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["scans_with_footprint"] == 0
    code, _, err = run(
        ["track", str(tmp_path / "run" / "detections.csv"), "--out", str(tmp_path / "t1.csv"),
         "--scans", str(tmp_path / "run" / "flight.csv")],
        capsys,
    )  # fmt: skip
    assert code == 2
    assert "flight.csv" in err
    assert "r_min_m" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("time,x_m,y_m\n0,1,2\n0,nan,2\n")
    code, _, err = run(["track", str(bad), "--out", str(tmp_path / "t.csv")], capsys)
    assert code == 2
    assert "row 3" in err


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--signing-key", "missing.pem", "missing.pem"),
        ("--signing-key", "not-a-key.pem", "not-a-key.pem"),
        ("--audit-key", "missing.pub.pem", "missing.pub.pem"),
        ("--tak", "tcp://127.0.0.1:8087", "--tak"),
        ("--tak", "udp://127.0.0.1:99999", "--tak"),
    ],
)
def test_serve_refuses_bad_keys_and_endpoints_before_starting(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    option: str,
    value: str,
    named: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not-a-key.pem").write_text("-----BEGIN NOTHING-----\n")
    code, _, err = run(["serve", "--db", str(tmp_path / "s.db"), option, value], capsys)
    assert code == 2
    assert named in err
    assert "Traceback" not in err
    assert not (tmp_path / "s.db").exists()
