"""Background jobs over the API: an approved mission's sortie runs in a worker thread with
progress; the result links to the stored run (detections, tracks, a signed conformance
certificate); the gate refuses unapproved plans; failures end in the job, never a 500."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from standoff.api import ApiSettings, create_app
from standoff.api.errors import status_and_code
from standoff.core.errors import (
    AirspaceViolation,
    InfeasiblePlan,
    InputError,
    PolicyDenied,
    StandoffError,
    StorageError,
)
from standoff.store.sql import open_store

T0 = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
USERS = {
    "alice": ["planner"],
    "bob": ["approver"],
    "carol": ["analyst"],
    "dan": ["auditor"],
    "lucia": ["partner"],
}
SCENARIO = {
    "name": "job-small",
    "seed": 11,
    "start": "2026-03-20T02:00:00Z",
    "duration_s": 5400,
    "utc_offset_h": -7,
    "wind": {"speed_mps": 10, "from_deg": 230},
    "roads": {
        "generate": {
            "bbox_deg": [-111.5, 31.15, -111.0, 31.45],
            "towns": 3,
            "highways": 1,
            "dirt_tracks": 2,
        }
    },
    "traffic": {"vehicles": 30},
    "sensors": {"gmti": {"false_alarms_per_km2": 0.002}},
    "output": {"truth_interval_s": 60},
}


def _h(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer token-{name}"}


@pytest.fixture(scope="module")
def plan_doc(airspace: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from standoff.pipeline import run_plan
    from standoff.plan import DEMO_MISSION_YAML

    tmp = tmp_path_factory.mktemp("plan")
    (tmp / "m.yaml").write_text(DEMO_MISSION_YAML, encoding="utf-8")
    run_plan(airspace, tmp / "m.yaml", tmp / "plan")
    doc: dict[str, Any] = json.loads((tmp / "plan" / "plan.json").read_text())
    return doc


def _settings(tmp: Path, **kw: Any) -> ApiSettings:
    from standoff.oversight import keys_new

    db = tmp / "standoff.db"
    with open_store(str(db)) as store:
        for name, roles in USERS.items():
            store.add_user(
                name,
                roles,
                f"token-{name}",
                now=T0,
                partner_country="MEX" if "partner" in roles else None,
            )
    keys = keys_new(tmp / "keys", "standoff-audit")
    return ApiSettings(db_url=str(db), signing_key=keys.private_path, **kw)


def _approved(client: TestClient, plan: dict[str, Any]) -> str:
    r = client.post("/api/v1/missions", json={"plan": plan}, headers=_h("alice"))
    assert r.status_code == 201, r.text
    mission = str(r.json()["mission"])
    r = client.post(
        f"/api/v1/missions/{mission}/approve", json={"reason": "clear of MEX"}, headers=_h("bob")
    )
    assert r.json()["state"] == "approved", r.text
    return mission


def _wait(client: TestClient, job_id: str, timeout_s: float = 180) -> tuple[dict[str, Any], list]:
    seen: list[tuple[str, str, float]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = client.get(f"/api/v1/jobs/{job_id}", headers=_h("carol"))
        assert r.status_code == 200, r.text
        job: dict[str, Any] = r.json()
        seen.append((job["state"], job["stage"], job["fraction"]))
        if job["state"] in ("succeeded", "failed"):
            return job, seen
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {seen[-3:]}")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("jobs")
    with TestClient(create_app(_settings(tmp))) as client:
        yield client


def test_a_sortie_job_runs_in_the_background_with_progress(
    service: TestClient, plan_doc: dict[str, Any]
) -> None:
    mission = _approved(service, plan_doc)
    r = service.post(
        "/api/v1/jobs", json={"mission_id": mission, "scenario": SCENARIO}, headers=_h("alice")
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["Location"] == f"/api/v1/jobs/{job['job_id']}"
    assert job["state"] in ("queued", "running")
    assert job["mission_id"] == mission
    # One sortie at a time per approval.
    again = service.post(
        "/api/v1/jobs", json={"mission_id": mission, "scenario": SCENARIO}, headers=_h("alice")
    )
    assert again.status_code in (409, 403), again.text
    done, seen = _wait(service, job["job_id"])
    assert done["state"] == "succeeded", done
    assert done["fraction"] == 1.0
    assert done["stage"] == "done"
    fractions = [f for _s, _st, f in seen]
    assert fractions == sorted(fractions)  # progress never goes back
    result = done["result"]
    run = result["run"]
    assert done["run_id"] == run
    assert result["flown_path"] == "conformant"
    assert result["detections"] > 0
    assert result["links"]["run"] == f"/api/v1/runs/{run}"
    got = service.get(result["links"]["run"], headers=_h("carol")).json()
    assert got["detections"] == result["detections"]
    dets = service.get(f"/api/v1/runs/{run}/detections", headers=_h("carol")).json()
    assert len(dets) == result["detections"]
    tracks = service.get(f"/api/v1/runs/{run}/tracks", headers=_h("carol")).json()
    assert len(tracks) > 0
    # The mission is flown now: a second sortie needs a new approval.
    missions = {m["mission"]: m for m in service.get("/api/v1/missions", headers=_h("bob")).json()}
    assert missions[mission]["state"] == "flown"
    r = service.post("/api/v1/jobs", json={"mission_id": mission}, headers=_h("alice"))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "policy_denied"
    # The signed certificate of the flown path, checked by the server and offline.
    cert = service.get(result["links"]["certificate"], headers=_h("dan"))
    assert cert.status_code == 200, cert.text
    document = cert.json()
    assert document["certificate"]["status"] == "conformant"
    ok = service.post(
        "/api/v1/certificates/verify", json={"certificate": document}, headers=_h("lucia")
    ).json()
    assert ok["valid"] is True
    assert ok["mission"] == plan_doc["mission_name"]
    forged = json.loads(json.dumps(document))
    forged["certificate"]["min_clearance_m"] = 99_999.0
    bad = service.post(
        "/api/v1/certificates/verify", json={"certificate": forged}, headers=_h("carol")
    ).json()
    assert bad["valid"] is False
    assert "signature" in bad["reason"]
    wrong_track = service.post(
        "/api/v1/certificates/verify",
        json={"certificate": document, "track_sha256": "0" * 64},
        headers=_h("carol"),
    ).json()
    assert wrong_track["valid"] is False
    listed = service.get("/api/v1/jobs", headers=_h("bob")).json()
    assert job["job_id"] in [j["job_id"] for j in listed]


def test_the_gate_refuses_an_unapproved_mission(
    service: TestClient, plan_doc: dict[str, Any]
) -> None:
    changed = {**plan_doc, "mission_name": "unapproved-sortie"}
    r = service.post("/api/v1/missions", json={"plan": changed}, headers=_h("alice"))
    assert r.status_code == 201, r.text
    mission = r.json()["mission"]
    r = service.post(
        "/api/v1/jobs", json={"mission_id": mission, "scenario": SCENARIO}, headers=_h("alice")
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "policy_denied"
    assert "submitted" in r.json()["error"]["message"]
    assert (
        service.post("/api/v1/jobs", json={"mission_id": "nope"}, headers=_h("alice")).status_code
        == 404
    )
    bad_scenario = {**SCENARIO, "duration_s": -5}
    r = service.post(
        "/api/v1/jobs",
        json={"mission_id": mission, "scenario": bad_scenario},
        headers=_h("alice"),
    )
    assert r.status_code in (403, 422)
    for who in ("bob", "carol", "dan", "lucia"):
        r = service.post("/api/v1/jobs", json={"mission_id": mission}, headers=_h(who))
        assert r.status_code == 403, who
    assert service.get("/api/v1/jobs/none", headers=_h("carol")).status_code == 404
    assert service.get("/api/v1/jobs", headers=_h("lucia")).status_code == 403


def test_a_failing_job_is_reported_in_the_job_not_as_a_server_error(
    tmp_path: Path, plan_doc: dict[str, Any]
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the jobs folder should be", encoding="utf-8")
    done = _job_in_a_new_service(_settings(tmp_path, work_dir=blocker), plan_doc)
    assert done["state"] == "failed"
    assert done["error"]["code"] == "internal"
    assert "Traceback" not in json.dumps(done)
    assert done["result"] is None


def _job_in_a_new_service(settings: ApiSettings, plan_doc: dict[str, Any]) -> dict[str, Any]:
    """Start a service, approve the plan, fly it as a job and return the finished job."""
    with TestClient(create_app(settings)) as client:
        mission = _approved(client, plan_doc)
        r = client.post(
            "/api/v1/jobs", json={"mission_id": mission, "scenario": SCENARIO}, headers=_h("alice")
        )
        assert r.status_code == 202
        done, _ = _wait(client, r.json()["job_id"])
    return done


def test_jobs_left_running_are_marked_failed_at_the_next_start(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with open_store(settings.db_url) as store:
        store.create_job("sortie-stale", "sortie", "alice", now=T0)
        store.update_job("sortie-stale", now=T0, state="running", stage="flying", fraction=0.3)
    with TestClient(create_app(settings)) as client:
        job = client.get("/api/v1/jobs/sortie-stale", headers=_h("carol")).json()
    assert job["state"] == "failed"
    assert job["error"]["code"] == "interrupted"
    assert yaml.safe_dump(job)  # plain JSON types only


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (InputError("bad scenario", field="roads"), 422, "invalid"),
        (AirspaceViolation("the path enters MEX"), 403, "airspace"),
        (InfeasiblePlan("no orbit fits"), 422, "infeasible"),
        (PolicyDenied("not approved"), 403, "policy_denied"),
        (StorageError("disk full"), 503, "unavailable"),
    ],
)
def test_a_failed_job_records_the_code_an_http_error_would_carry(
    tmp_path: Path,
    plan_doc: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    exc: StandoffError,
    status: int,
    code: str,
) -> None:
    """One vocabulary: the job's ``error.code`` is the envelope's code for that exception."""
    import standoff.pipeline

    assert status_and_code(exc) == (status, code)

    def fail(*_a: Any, **_k: Any) -> dict[str, Any]:
        raise exc

    monkeypatch.setattr(standoff.pipeline, "fly_job", fail)
    done = _job_in_a_new_service(_settings(tmp_path), plan_doc)
    assert done["state"] == "failed"
    assert done["error"]["code"] == code
