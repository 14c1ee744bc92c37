"""Policy decisions (airspace with margin, mandate, window, retention, release) with their
reasons in the audit log, and the mission workflow on the command line with its exit codes."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml

from standoff.airspace import Airspace
from standoff.cli import main
from standoff.core.errors import PolicyDenied
from standoff.domain.marking import Marking
from standoff.domain.mission import MissionPlan
from standoff.oversight import AuditLog, MemoryAuditStore
from standoff.oversight.keys import Signer
from standoff.oversight.policy import (
    Decision,
    check_airspace,
    check_mandate,
    check_release,
    check_retention,
    check_time_window,
    record,
    record_and_require,
)
from standoff.pipeline import run_plan
from standoff.plan import DEMO_MISSION_YAML

NOW = datetime(2026, 3, 19, 12, 0, tzinfo=UTC)
USERS = {
    "users": [
        {"name": "alice", "roles": ["planner"]},
        {"name": "bob", "roles": ["approver"]},
        {"name": "carol", "roles": ["analyst"]},
        {"name": "dave", "roles": ["planner", "approver"]},
    ]
}


@pytest.fixture(scope="module")
def planned(
    airspace: Airspace, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, MissionPlan]:
    root = tmp_path_factory.mktemp("plan")
    (root / "mission.yaml").write_text(DEMO_MISSION_YAML, encoding="utf-8")
    plan, _ = run_plan(airspace, root / "mission.yaml", root / "plan")
    return root / "plan", plan


def test_decision_fields_in_the_stated_order() -> None:
    d = Decision(True, ("fine",), "airspace", "m1")
    assert (d.allowed, d.reasons, d.check, d.subject) == (True, ("fine",), "airspace", "m1")
    assert d.to_dict() == {
        "check": "airspace",
        "subject": "m1",
        "allowed": True,
        "reasons": ["fine"],
        "facts": {},
    }


def test_airspace_with_margin_is_checked_exactly(
    planned: tuple[Path, MissionPlan], airspace: Airspace
) -> None:
    _, plan = planned
    ok = check_airspace(plan, airspace)
    assert ok.allowed
    assert ok.facts["min_clearance_m"] >= plan.margin_m
    # The same path with a margin just above its clearance is refused.
    tight = dataclasses.replace(plan, margin_m=float(ok.facts["min_clearance_m"]) + 50.0)
    refused = check_airspace(tight, airspace)
    assert not refused.allowed
    assert "inside the" in refused.reasons[0]
    # A path pushed 0.5 degrees south crosses into Mexico.
    south = dataclasses.replace(plan, path_lat_deg=np.asarray(plan.path_lat_deg) - 0.5)
    crossed = check_airspace(south, airspace)
    assert not crossed.allowed
    assert crossed.facts["incursions"] >= 1
    assert "MEX" in crossed.reasons[0]


def test_an_orbit_is_checked_even_where_the_path_is_clear(
    planned: tuple[Path, MissionPlan], airspace: Airspace
) -> None:
    # A doctored plan: the path is the approved-looking one, an orbit lies in Mexico.
    _, plan = planned
    o = plan.orbits[0]
    south = dataclasses.replace(o, lat_deg=np.asarray(o.lat_deg) - 0.5)
    doctored = dataclasses.replace(plan, orbits=(south, *plan.orbits[1:]))
    d = check_airspace(doctored, airspace)
    assert not d.allowed
    assert f"orbit {o.name}" in d.reasons[0]
    assert "MEX" in d.reasons[0]
    assert d.facts["incursions"] >= 1


def test_approval_checks_the_stored_plan_again(
    planned: tuple[Path, MissionPlan], airspace: Airspace, tmp_path: Path
) -> None:
    # A plan stored without the submit gate (an older store, a direct write) that crosses
    # the border is never approved: the approval runs the airspace check itself.
    from standoff.oversight.approval import User, submit
    from standoff.pipeline import mission_action, open_workflow
    from standoff.share.plan_json import plan_to_document

    _, plan = planned
    south = dataclasses.replace(plan, path_lat_deg=np.asarray(plan.path_lat_deg) - 0.5)
    text = json.dumps(plan_to_document(south), indent=1) + "\n"
    (tmp_path / "users.yaml").write_text(yaml.safe_dump(USERS), encoding="utf-8")
    with open_workflow(tmp_path / "s.db", tmp_path / "users.yaml") as wf:
        mission = submit(
            wf.store, wf.log, User("alice", ("planner",)), mission_name=south.mission_name,
            plan_document=text, now=NOW,
        )  # fmt: skip
        with pytest.raises(PolicyDenied, match="MEX"):
            mission_action(wf, mission, "approve", "bob", "looks fine", NOW, airspace=airspace)
        assert wf.store.mission(mission).state == "submitted"
        entries = [json.loads(e.entry) for e in wf.log.entries()]
    airspace_decisions = [e for e in entries if e["action"] == "policy.airspace"]
    assert airspace_decisions[-1]["details"]["allowed"] is False


def test_mandate_window_retention_release(planned: tuple[Path, MissionPlan]) -> None:
    _, plan = planned
    doc = yaml.safe_load(DEMO_MISSION_YAML)
    assert check_mandate({"mission.yaml": doc}, "m").allowed
    for armed in (
        {**doc, "aircraft": {"profile": "mq9", "weapons": ["agm-114"]}},
        {**doc, "sensors": ["gmti", "laser designator"]},
        {**doc, "payload": {"munition_count": 2}},
    ):
        d = check_mandate({"aircraft.yaml": {"profile": "mq9"}, "mission.yaml": armed}, "m")
        assert not d.allowed
        assert d.facts["document"] == "mission.yaml"
        assert "intelligence-only" in d.reasons[0]
    start = plan.start_utc
    end = start + timedelta(seconds=plan.duration_s)
    assert check_time_window(plan, start, end).allowed
    assert not check_time_window(plan, start, end - timedelta(seconds=1)).allowed
    assert not check_time_window(plan, start + timedelta(seconds=1), end).allowed
    assert check_retention("r", NOW, NOW + timedelta(days=1824), 1825).allowed
    assert not check_retention("r", NOW, NOW + timedelta(days=1825), 1825).allowed
    marking = Marking.parse("UNCLASSIFIED//REL TO USA, MEX", owner="USA")
    assert check_release(marking, "mex", "p").allowed
    assert not check_release(marking, "GTM", "p").allowed
    assert check_release(marking, "USA", "p").allowed
    assert not check_release(Marking.parse("UNCLASSIFIED//NOFORN", owner="USA"), "MEX", "p").allowed


def test_every_decision_lands_in_the_log_with_its_reasons(
    planned: tuple[Path, MissionPlan],
) -> None:
    _, plan = planned
    log = AuditLog(MemoryAuditStore())
    sha = "ab" * 32
    ok = record(
        log,
        Decision(True, ("fine",), "airspace", "m"),
        who="alice",
        at_utc=NOW,
        objects_sha256_hex={"plan": sha},
    )
    assert ok.allowed
    window = check_time_window(plan, NOW, NOW + timedelta(hours=1))
    release = check_release(Marking.parse("UNCLASSIFIED//REL TO USA, MEX"), "GTM", "product-1")
    with pytest.raises(PolicyDenied) as err:
        record_and_require(
            log, [window, release], who="bob", at_utc=NOW, objects_sha256_hex={"plan": sha}
        )
    assert "time_window" in str(err.value)
    assert "not releasable to GTM" in str(err.value)
    entries = [json.loads(e.entry) for e in log.entries()]
    assert [e["action"] for e in entries] == [
        "policy.airspace",
        "policy.time_window",
        "policy.release",
    ]
    assert [e["who"] for e in entries] == ["alice", "bob", "bob"]
    assert all(e["objects_sha256_hex"] == {"plan": sha} for e in entries)
    assert all(e["at_utc"] == "2026-03-19T12:00:00.000000Z" for e in entries)
    assert entries[1]["details"]["allowed"] is False
    assert "outside the approved window" in entries[1]["details"]["reasons"][0]
    signer = Signer.generate("t")
    log.checkpoint(signer, NOW)
    assert log.verify(signer.verifier).entries == 3


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_mission_workflow_on_the_command_line(
    planned: tuple[Path, MissionPlan], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_dir, _ = planned
    users = tmp_path / "users.yaml"
    users.write_text(yaml.safe_dump(USERS), encoding="utf-8")
    db = str(tmp_path / "m.db")
    common = ["--db", db, "--users", str(users)]

    code, _, err = _cli(["mission", "submit", str(plan_dir), *common, "--as", "bob"], capsys)
    assert (code, "not a planner" in err) == (2, True)
    code, out, _ = _cli(
        ["mission", "submit", str(plan_dir), *common, "--as", "alice", "--json"], capsys
    )
    assert code == 0
    mission = json.loads(out)["mission"]

    def run(*args: str) -> tuple[int, str]:
        code, _, err = _cli(list(args), capsys)
        return code, err

    def approve(who: str, *extra: str) -> tuple[int, str]:
        return run("mission", "approve", mission, *common, "--as", who, *extra)

    gcs = tmp_path / "gcs"
    code, err = run("export", str(plan_dir), "--out", str(gcs), *common, "--as", "alice")
    assert (code, "only an approved plan" in err, gcs.exists()) == (2, True, False)
    assert approve("alice", "--reason", "x")[0] == 2
    assert "lacks the role" in approve("alice", "--reason", "x")[1]
    assert "lacks the role" in approve("carol", "--reason", "x")[1]
    assert "recorded reason" in approve("bob")[1]
    assert (
        "is submitted, not approved" in run("mission", "fly", mission, *common, "--as", "alice")[1]
    )
    code, err = approve("bob", "--reason", "ok", "--window", "2026-03-19T00:00Z/2026-03-19T06:00Z")
    assert (code, "outside the approved window" in err) == (2, True)
    assert approve("bob", "--reason", "ok", "--window", "yesterday")[0] == 2
    assert approve("nobody", "--reason", "ok")[0] == 2
    assert (
        run("mission", "approve", mission, "--db", db, "--as", "bob", "--reason", "ok")[0] == 2
    )  # no --users
    assert (
        approve(
            "bob", "--reason", "clear of MEX", "--window", "2026-03-20T00:00Z/2026-03-22T00:00Z"
        )[0]
        == 0
    )
    code, out, _ = _cli(["mission", "status", "--db", db, "--json"], capsys)
    assert code == 0
    assert [(m["mission"], m["state"]) for m in json.loads(out)] == [(mission, "approved")]
    assert "is approved, not submitted" in approve("bob", "--reason", "again")[1]
    assert run("mission", "reject", mission, *common, "--as", "bob", "--reason", "late")[0] == 2

    assert run("export", str(plan_dir), "--out", str(gcs), *common, "--as", "alice")[0] == 0
    assert sorted(p.name for p in gcs.iterdir()) == [
        "mission.fence.waypoints",
        "mission.plan",
        "mission.waypoints",
    ]
    # A changed plan is not the approved one.
    changed = tmp_path / "changed"
    changed.mkdir()
    doc = json.loads((plan_dir / "plan.json").read_text())
    doc["margin_m"] = 3001.0
    (changed / "plan.json").write_text(json.dumps(doc), encoding="utf-8")
    code, err = run("export", str(changed), "--out", str(tmp_path / "g2"), *common, "--as", "alice")
    assert code == 2
    assert not (tmp_path / "g2").exists()
    # A plan declaring a weapon never becomes a mission.
    doc["extra"]["payload"] = ["eoir", "agm-114"]
    (changed / "plan.json").write_text(json.dumps(doc), encoding="utf-8")
    code, err = run("mission", "submit", str(changed), *common, "--as", "alice")
    assert (code, "intelligence-only" in err) == (2, True)

    # The log holds every decision and transition with reasons, and verifies.
    from standoff.pipeline import open_workflow

    with open_workflow(db) as wf:
        text = "\n".join(e.entry.decode() for e in wf.log.entries())
        for phrase in (
            "lacks the role",
            "recorded reason",
            "outside the approved window",
            "clear of MEX",
            '"plan.export"',
            "policy.mandate",
            "policy.airspace",
        ):
            assert phrase in text, phrase
        signer = Signer.generate("t")
        wf.log.checkpoint(signer, NOW)
        assert wf.log.verify(signer.verifier).entries == wf.log.size


def test_rejected_mission_goes_back_to_draft_on_the_cli(
    planned: tuple[Path, MissionPlan], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_dir, _ = planned
    users = tmp_path / "users.yaml"
    users.write_text(yaml.safe_dump(USERS), encoding="utf-8")
    common = ["--db", str(tmp_path / "m.db"), "--users", str(users)]
    _code, out, _ = _cli(
        ["mission", "submit", str(plan_dir), *common, "--as", "dave", "--json"], capsys
    )
    mission = json.loads(out)["mission"]
    steps: list[tuple[list[str], int]] = [
        (["approve", mission, "--as", "dave", "--reason", "mine"], 2),  # two-person rule
        (["reject", mission, "--as", "bob", "--reason", "too close to the line"], 0),
        (["approve", mission, "--as", "bob", "--reason", "ok"], 2),  # rejected, not submitted
        (["revise", mission, "--as", "alice", "--reason", "re-plan"], 0),
    ]
    for args, expected in steps:
        assert _cli(["mission", *args, *common], capsys)[0] == expected, args
    assert _cli(["mission", "submit", str(plan_dir), *common, "--as", "dave"], capsys)[0] == 0
    assert (
        _cli(["mission", "approve", mission, *common, "--as", "bob", "--reason", "ok"], capsys)[0]
        == 0
    )
