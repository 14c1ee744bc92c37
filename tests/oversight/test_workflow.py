"""Policy decisions, approvals with the two-person rule, the export gate, minimisation and
retention, through the pipeline's workflow on the SQLite store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from standoff.airspace import Airspace
from standoff.cli import main
from standoff.core.errors import InputError, PolicyDenied
from standoff.domain.marking import Marking
from standoff.domain.mission import MissionPlan
from standoff.oversight.approval import parse_users
from standoff.oversight.keys import Signer
from standoff.oversight.policy import (
    check_mandate,
    check_release,
    check_retention,
    check_time_window,
)
from standoff.pipeline import (
    Workflow,
    export_plan,
    mission_action,
    open_workflow,
    partner_export,
    register_run,
    release_tracks,
    run_plan,
    run_retention,
    submit_plan,
)
from standoff.plan import DEMO_MISSION_YAML

NOW = datetime(2026, 3, 19, 12, 0, tzinfo=UTC)
USERS = {
    "users": [
        {"name": "alice", "roles": ["planner"]},
        {"name": "bob", "roles": ["approver"]},
        {"name": "carol", "roles": ["analyst"]},
        {"name": "dave", "roles": ["planner", "approver"]},
        {"name": "lucia", "roles": ["partner"], "partner_country": "MEX"},
    ]
}


@pytest.fixture(scope="module")
def planned(
    airspace: Airspace, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, MissionPlan]:
    root = tmp_path_factory.mktemp("plan")
    (root / "mission.yaml").write_text(DEMO_MISSION_YAML, encoding="utf-8")
    plan, files = run_plan(airspace, root / "mission.yaml", root / "plan")
    assert set(files) == {"plan.json", "path.geojson", "plan.kml"}  # no ground-control files
    return root / "plan", plan


@pytest.fixture
def wf(tmp_path: Path) -> Any:
    (tmp_path / "users.yaml").write_text(yaml.safe_dump(USERS), encoding="utf-8")
    with open_workflow(tmp_path / "standoff.db", tmp_path / "users.yaml") as w:
        yield w


def _log_text(wf: Workflow) -> str:
    return "\n".join(e.entry.decode() for e in wf.log.entries())


def test_two_person_rule_roles_and_states(
    wf: Workflow, airspace: Airspace, planned: tuple[Path, MissionPlan]
) -> None:
    plan_dir, _ = planned
    with pytest.raises(PolicyDenied, match="not a planner"):
        submit_plan(wf, airspace, plan_dir, "bob", NOW)
    mission = submit_plan(wf, airspace, plan_dir, "dave", NOW)["mission"]
    with pytest.raises(PolicyDenied, match="two-person rule"):  # planner and approver
        mission_action(wf, mission, "approve", "dave", "looks fine", NOW)
    with pytest.raises(PolicyDenied, match="lacks the role"):
        mission_action(wf, mission, "approve", "carol", "looks fine", NOW)
    with pytest.raises(PolicyDenied, match="needs a recorded reason"):
        mission_action(wf, mission, "approve", "bob", "  ", NOW)
    with pytest.raises(PolicyDenied, match="is submitted, not approved"):
        mission_action(wf, mission, "fly", "alice", "", NOW)
    assert mission_action(wf, mission, "approve", "bob", "clear of MEX", NOW)["state"] == "approved"
    with pytest.raises(PolicyDenied, match="is approved, not submitted"):
        mission_action(wf, mission, "approve", "bob", "again", NOW)
    assert mission_action(wf, mission, "fly", "dave", "sortie 1", NOW)["state"] == "flown"
    assert mission_action(wf, mission, "close", "bob", "done", NOW)["state"] == "closed"
    # Every decision, refusals included, is in the log with its reason; the log verifies.
    text = _log_text(wf)
    for phrase in ("two-person rule", "lacks the role", "clear of MEX", "policy.airspace"):
        assert phrase in text
    signer = Signer.generate("t")
    wf.log.checkpoint(signer, NOW + timedelta(hours=1))
    assert wf.log.verify(signer.verifier).entries == wf.log.size


def test_only_the_approved_plan_is_exported(
    wf: Workflow, airspace: Airspace, planned: tuple[Path, MissionPlan], tmp_path: Path
) -> None:
    plan_dir, _ = planned
    mission = submit_plan(wf, airspace, plan_dir, "alice", NOW)["mission"]
    with pytest.raises(PolicyDenied, match="only an approved plan"):
        export_plan(wf, airspace, plan_dir, tmp_path / "gcs", "alice", NOW)
    assert not (tmp_path / "gcs").exists()
    mission_action(wf, mission, "approve", "bob", "ok", NOW)
    files = export_plan(wf, airspace, plan_dir, tmp_path / "gcs", "alice", NOW)
    assert set(files) == {"mission.plan", "mission.waypoints", "mission.fence.waypoints"}
    # A changed plan (one byte) is not the approved one.
    changed = tmp_path / "changed"
    changed.mkdir()
    doc = json.loads((plan_dir / "plan.json").read_text())
    doc["margin_m"] = 3001.0
    (changed / "plan.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(PolicyDenied):
        export_plan(wf, airspace, changed, tmp_path / "gcs2", "alice", NOW)
    assert "plan.export" in _log_text(wf)


def test_policy_checks_answer_with_reasons(planned: tuple[Path, MissionPlan]) -> None:
    _, plan = planned
    armed = yaml.safe_load(DEMO_MISSION_YAML)
    armed["aircraft"] = {"profile": "mq9", "hardpoints": 4}
    d = check_mandate({"mission.yaml": armed}, "sasabe-corridor")
    assert not d.allowed
    assert "hardpoints" in d.reasons[0]
    assert check_mandate({"mission.yaml": yaml.safe_load(DEMO_MISSION_YAML)}, "x").allowed
    start = plan.start_utc
    assert check_time_window(plan, start - timedelta(hours=1), start + timedelta(days=1)).allowed
    late = check_time_window(plan, start + timedelta(hours=1), start + timedelta(days=1))
    assert not late.allowed
    assert "outside the approved window" in late.reasons[0]
    m = Marking("UNCLASSIFIED", ("USA", "MEX"))
    assert check_release(m, "MEX", "p").allowed
    assert not check_release(m, "GTM", "p").allowed
    assert check_retention("r", NOW, NOW + timedelta(days=10), 30).allowed
    assert not check_retention("r", NOW, NOW + timedelta(days=31), 30).allowed


def test_a_weapon_declaration_is_refused_on_the_cli(tmp_path: Path) -> None:
    doc = yaml.safe_load(DEMO_MISSION_YAML)
    doc["payload"] = ["gmti", "agm-114"]
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert main(["plan", str(path), "--out", str(tmp_path / "o")]) == 2


def _run(root: Path, airspace: Airspace) -> Path:
    """A small run: track 1 wholly in the USA (Arizona), track 2 wholly in Mexico (Sonora),
    track 3 crossing; detections likewise."""
    run = root / "run"
    run.mkdir(parents=True)
    start = pd.Timestamp("2026-03-20T02:00:00Z")
    paths = {
        1: (np.linspace(-111.20, -111.10, 6), np.full(6, 31.60)),  # USA
        2: (np.linspace(-111.60, -111.50, 6), np.full(6, 31.20)),  # MEX
        3: (np.full(6, -111.30), np.linspace(31.34, 31.46, 6)),  # crosses the line
    }
    rows, dets = [], []
    for tid, (lon, lat) in paths.items():
        for k in range(6):
            t = (start + pd.Timedelta(seconds=10 * k)).isoformat().replace("+00:00", "Z")
            det = f"{tid}-{k}"
            rows.append(
                {
                    "time": t,
                    "track_id": tid,
                    "lat": lat[k],
                    "lon": lon[k],
                    "vx": 1.0,
                    "vy": 0.0,
                    "det_id": det,
                }
            )
            dets.append(
                {
                    "det_id": det,
                    "time": t,
                    "sensor": "gmti",
                    "lat": lat[k],
                    "lon": lon[k],
                    "x_m": 0.0,
                    "y_m": 0.0,
                    "sigma_m": 20.0,
                    "radial_velocity_mps": 1.0,
                }
            )
    owners = airspace.owner_at([r["lon"] for r in rows], [r["lat"] for r in rows])
    assert set(owners[:6]) == {"USA"}
    assert set(owners[6:12]) == {"MEX"}
    assert {"USA", "MEX"} <= set(owners[12:])
    pd.DataFrame(rows).to_csv(root / "tracks.csv", index=False)
    pd.DataFrame(dets).to_csv(run / "detections.csv", index=False)
    meta = {
        "plan": {"operator": "USA"},
        "scenario": {"start_utc": "2026-03-20T02:00:00Z"},
        "frame": {"origin_lon_deg": -111.4, "origin_lat_deg": 31.4},
    }
    (run / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return run


def test_own_territory_tracks_never_reach_a_partner_or_a_log_line(
    wf: Workflow, airspace: Airspace, tmp_path: Path
) -> None:
    run = _run(tmp_path, airspace)
    out = partner_export(airspace, run, tmp_path / "tracks.csv", "MEX", tmp_path / "px", NOW, wf)
    doc = json.loads(Path(out["file"]).read_text())
    assert doc["marking"] == "UNCLASSIFIED//REL TO USA, MEX"
    assert sorted(f["properties"]["track_id"] for f in doc["features"]) == [2, 3]
    assert out["masked_rows"] == 6
    text = _log_text(wf) + Path(out["file"]).read_text()
    for lon in np.linspace(-111.20, -111.10, 6):  # no coordinate of track 1 anywhere
        assert f"{lon:.4f}"[:-1] not in text.replace("-111.3", "")
    # An analyst cannot release; an approver can, with a reason, and then it is exported.
    with pytest.raises(PolicyDenied):
        release_tracks(wf, run, ["1"], "carol", "needed", NOW)
    with pytest.raises(PolicyDenied):
        release_tracks(wf, run, ["1"], "bob", "", NOW)
    assert release_tracks(wf, run, ["1"], "bob", "consent of the person concerned", NOW) == 1
    out = partner_export(airspace, run, tmp_path / "tracks.csv", "MEX", tmp_path / "px", NOW, wf)
    doc = json.loads(Path(out["file"]).read_text())
    assert sorted(f["properties"]["track_id"] for f in doc["features"]) == [1, 2, 3]
    # Not to a partner the marking does not name.
    with pytest.raises(PolicyDenied):
        partner_export(airspace, run, tmp_path / "tracks.csv", "GTM", tmp_path / "px", NOW)


def test_retention_purges_only_own_territory_rows_past_the_period(
    wf: Workflow, airspace: Airspace, tmp_path: Path
) -> None:
    run = _run(tmp_path, airspace)
    run_id = register_run(wf, run, tmp_path / "tracks.csv", NOW)
    assert wf.store.count_detections(run_id) == 18
    report = run_retention(wf, airspace, NOW + timedelta(days=365))
    assert report["runs"] == [{"run": run_id, "purged": False}]
    assert wf.store.count_detections(run_id) == 18
    report = run_retention(wf, airspace, NOW + timedelta(days=5 * 365 + 2))
    purged = report["runs"][0]
    assert purged["purged"]
    assert purged["tracks_purged"] == 1
    kept = wf.store.detections(run_id)
    owners = airspace.owner_at([d["lon"] for d in kept], [d["lat"] for d in kept])
    assert "USA" not in set(owners)
    assert len(kept) == 18 - purged["detections_purged"]
    assert {r["track_id"] for r in wf.store.tracks(run_id)} == {2, 3}
    assert "retention.purge" in _log_text(wf)


@pytest.mark.parametrize(
    ("doc", "field", "value"),
    [
        ({"users": [{"name": "x", "roles": ["pilot"]}]}, "users.0.roles.0", "pilot"),
        ({"users": [{"name": "x", "roles": []}]}, "users.0.roles", []),
        ({"users": [{"name": "x", "roles": ["partner"]}]}, "users.0.partner_country", None),
        ({"users": [{"name": "x", "roles": ["planner"], "rank": 3}]}, "users.0.rank", 3),
        ({"people": []}, "users", None),
    ],
)
def test_users_file_errors_name_the_field(doc: dict[str, Any], field: str, value: Any) -> None:
    with pytest.raises(InputError) as err:
        parse_users(doc, source="users.yaml")
    assert err.value.source == "users.yaml"
    assert err.value.field == field
    if value is not None:
        assert err.value.value == value


def test_cli_workflow_exit_codes(tmp_path: Path, planned: tuple[Path, MissionPlan]) -> None:
    plan_dir, _ = planned
    users = tmp_path / "users.yaml"
    users.write_text(yaml.safe_dump(USERS), encoding="utf-8")
    db = str(tmp_path / "m.db")
    common = ["--db", db, "--users", str(users)]
    assert main(["mission", "submit", str(plan_dir), *common, "--as", "alice"]) == 0
    mission = json.loads(
        __import__("subprocess")
        .run(
            [".venv/bin/standoff", "mission", "status", "--db", db, "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout
    )[0]["mission"]
    assert (
        main(["export", str(plan_dir), "--out", str(tmp_path / "g"), *common, "--as", "alice"]) == 2
    )
    assert main(["mission", "approve", mission, *common, "--as", "alice", "--reason", "x"]) == 2
    assert main(["mission", "approve", mission, *common, "--as", "bob", "--reason", "ok"]) == 0
    assert (
        main(["export", str(plan_dir), "--out", str(tmp_path / "g"), *common, "--as", "alice"]) == 0
    )
    assert main(["mission", "approve", mission, *common, "--as", "nobody", "--reason", "x"]) == 2
