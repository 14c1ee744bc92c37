"""The API: roles x endpoints, object-level filtering for partners, idempotent ingest, the
error envelope, limits and security headers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from standoff.api import ApiSettings, create_app
from standoff.oversight import AuditEvent, AuditLog, keys_new, load_signer
from standoff.store.sql import open_store

T0 = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
ROLES = {
    "alice": ["planner"],
    "bob": ["approver"],
    "carol": ["analyst"],
    "lucia": ["partner"],
    "dan": ["auditor"],
    "root": ["admin"],
}


def _auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer token-{name}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("api") / "standoff.db"
    with open_store(str(db)) as store:
        for name, roles in ROLES.items():
            store.add_user(
                name,
                roles,
                f"token-{name}",
                now=T0,
                partner_country="MEX" if "partner" in roles else None,
            )
        store.create_run("r1", now=T0)
        store.put_product(
            "p1",
            "r1",
            "geojson",
            "application/geo+json",
            "UNCLASSIFIED//REL TO USA, MEX",
            b'{"type":"FeatureCollection"}',
            now=T0,
        )
        store.put_product(
            "p2", "r1", "report", "application/pdf", "UNCLASSIFIED//NOFORN", b"%PDF-1.4", now=T0
        )
        store.put_finding("f1", "r1", "site", "UNCLASSIFIED//REL TO USA, MEX", {"visits": 9})
        store.put_finding("f2", "r1", "site", "UNCLASSIFIED//NOFORN", {"visits": 3})
        store.put_finding(
            "f3", "r1", "site", "UNCLASSIFIED//REL TO USA, MEX", {"visits": 2}, own_territory=True
        )
        store.put_product(
            "r1-certificate",
            "r1",
            "certificate",
            "application/json",
            "UNCLASSIFIED//NOFORN",
            b'{"certificate": {}, "signature": {}}',
            now=T0,
        )
    keys = keys_new(db.parent / "keys", "standoff-audit")
    with open_store(str(db)) as store:  # one signed checkpoint, so proofs can be asked for
        log = AuditLog(store.audit_store())
        log.append(AuditEvent("root", "test.setup", T0))
        log.checkpoint(load_signer(keys.private_path), T0)
    settings = ApiSettings(db_url=str(db), signing_key=keys.private_path)
    with TestClient(create_app(settings)) as c:
        yield c


def _det(i: int) -> dict[str, Any]:
    return {
        "det_id": f"d{i}",
        "time": "2026-03-20T02:00:10Z",
        "lat": 31.3,
        "lon": -111.5,
        "sigma_m": 20.0,
    }


STAFF = {"alice", "bob", "carol", "dan", "root"}
READERS = {"carol", "dan", "root", "lucia"}
AUDITORS = {"dan", "root"}

# (method, path, body, roles allowed, status of an allowed call)
MATRIX: list[tuple[str, str, Any, set[str], int]] = [
    ("GET", "/api/v1/me", None, set(ROLES), 200),
    ("GET", "/api/v1/missions", None, STAFF, 200),
    ("GET", "/api/v1/plans/template", None, {"alice", "root"}, 200),
    ("POST", "/api/v1/plans", {"mission": {"name": "x"}}, {"alice", "root"}, 422),
    ("POST", "/api/v1/missions/validate", {"plan": {"schema": "nope"}}, STAFF, 422),
    ("GET", "/api/v1/missions/nope/plan", None, STAFF, 404),
    ("POST", "/api/v1/missions/nope/approve", {"reason": "x"}, STAFF, 422),
    ("POST", "/api/v1/runs", "run", {"alice", "root"}, 201),
    ("GET", "/api/v1/runs", None, READERS, 200),
    ("GET", "/api/v1/runs/r1", None, READERS, 200),
    ("POST", "/api/v1/runs/r1/detections", "ingest", {"alice", "root"}, 201),
    ("GET", "/api/v1/runs/r1/detections", None, {"carol", "dan", "root"}, 200),
    ("GET", "/api/v1/runs/r1/live", None, {"alice", "carol", "dan", "root"}, 200),
    ("GET", "/api/v1/runs/r1/tracks", None, {"carol", "dan", "root"}, 200),
    ("GET", "/api/v1/runs/r1/findings", None, READERS, 200),
    ("GET", "/api/v1/runs/r1/products", None, READERS, 200),
    ("GET", "/api/v1/runs/r1/certificate", None, STAFF, 200),
    ("GET", "/api/v1/products/p1", None, READERS, 200),
    ("POST", "/api/v1/certificates/verify", {"certificate": {}}, set(ROLES), 200),
    ("POST", "/api/v1/jobs", {"mission_id": "nope"}, {"alice", "root"}, 404),
    ("GET", "/api/v1/jobs", None, STAFF, 200),
    ("GET", "/api/v1/jobs/nope", None, STAFF, 404),
    ("GET", "/api/v1/requests", None, set(ROLES), 200),
    ("POST", "/api/v1/requests/nope/link", {"mission_id": "m"}, {"alice", "root"}, 404),
    ("GET", "/api/v1/audit/verify", None, AUDITORS, 200),
    ("GET", "/api/v1/audit/checkpoints", None, AUDITORS, 200),
    ("POST", "/api/v1/audit/checkpoints", None, AUDITORS, 201),
    ("GET", "/api/v1/audit/proofs/inclusion?index=0", None, AUDITORS, 200),
    ("GET", "/api/v1/audit/proofs/consistency?from_size=1", None, AUDITORS, 200),
    ("GET", "/api/v1/audit/export", None, AUDITORS, 200),
    ("GET", "/api/v1/airspace/owner?lat=31.3&lon=-111.5", None, set(ROLES), 200),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed", "ok"), MATRIX)
@pytest.mark.parametrize("who", [*ROLES, None])
def test_role_by_endpoint_matrix(
    client: TestClient,
    method: str,
    path: str,
    body: Any,
    allowed: set[str],
    ok: int,
    who: str | None,
) -> None:
    payload = body
    if body == "ingest":
        payload = {
            "message_id": f"matrix-{who}",
            "detections": [{**_det(0), "det_id": f"matrix-{who}"}],
        }
    elif body == "run":
        payload = {"run_id": f"matrix-{who}"}
    r = client.request(method, path, json=payload, headers=_auth(who) if who else {})
    if who is None:
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorised"
    elif who in allowed:
        assert r.status_code == ok, r.text
    else:
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden"


def test_a_partner_sees_only_what_is_released_to_it(client: TestClient) -> None:
    partner = client.get("/api/v1/runs/r1/findings", headers=_auth("lucia")).json()
    analyst = client.get("/api/v1/runs/r1/findings", headers=_auth("carol")).json()
    assert [f["finding_id"] for f in partner] == ["f1"]
    assert sorted(f["finding_id"] for f in analyst) == ["f1", "f2", "f3"]
    assert client.get("/api/v1/runs/r1/detections", headers=_auth("lucia")).status_code == 403


def test_ingest_is_exactly_once(client: TestClient) -> None:
    body = {"message_id": "m-1", "detections": [_det(100 + i) for i in range(5)]}
    first = client.post("/api/v1/runs/r1/detections", json=body, headers=_auth("alice"))
    again = client.post("/api/v1/runs/r1/detections", json=body, headers=_auth("alice"))
    assert (first.status_code, first.json()["duplicate"]) == (201, False)
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    rows = client.get("/api/v1/runs/r1/detections", headers=_auth("carol")).json()
    wanted = {f"d{100 + i}" for i in range(5)}
    assert sorted(r["det_id"] for r in rows if r["det_id"] in wanted) == sorted(wanted)


def test_errors_are_one_envelope_and_never_a_traceback(client: TestClient) -> None:
    bad = {"message_id": "m-x", "detections": [{**_det(1), "lat": 95.0}]}
    r = client.post("/api/v1/runs/r1/detections", json=bad, headers=_auth("alice"))
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid"
    assert err["field"] == "detections.0.lat"
    extra = {"message_id": "m-y", "detections": [], "weapon": 1}
    r = client.post("/api/v1/runs/r1/detections", json=extra, headers=_auth("alice"))
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "weapon"
    r = client.post(
        "/api/v1/runs/nope/detections",
        json={"message_id": "z", "detections": []},
        headers=_auth("alice"),
    )
    assert r.status_code == 404
    assert "Traceback" not in r.text
    r = client.get("/api/v1/airspace/owner?lat=91&lon=0", headers=_auth("carol"))
    assert r.status_code == 422


def test_limits_and_headers(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with open_store(str(db)) as store:
        store.add_user("alice", ["planner"], "token-alice", now=T0)
    settings = ApiSettings(db_url=str(db), max_body_bytes=2_000, rate_per_s=1.0, rate_burst=3)
    with TestClient(create_app(settings)) as c:
        big = {"message_id": "m", "detections": [_det(i) for i in range(100)]}
        r = c.post(
            "/api/v1/runs/r1/detections",
            content=json.dumps(big),
            headers={**_auth("alice"), "content-type": "application/json"},
        )
        assert r.status_code == 413
        codes = [c.get("/api/v1/me", headers=_auth("alice")).status_code for _ in range(6)]
        assert 429 in codes
        r = c.get("/api/v1/health")
        for header in ("X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy"):
            assert header in r.headers


def test_chunked_bodies_without_a_length_are_capped_too(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with open_store(str(db)) as store:
        store.add_user("alice", ["planner"], "token-alice", now=T0)
        store.create_run("r1", now=T0)
    settings = ApiSettings(db_url=str(db), max_body_bytes=2_000)

    def chunks(doc: dict[str, Any]) -> Iterator[bytes]:
        data = json.dumps(doc).encode()
        for i in range(0, len(data), 500):
            yield data[i : i + 500]

    headers = {**_auth("alice"), "content-type": "application/json"}
    with TestClient(create_app(settings)) as c:
        big = {"message_id": "m-big", "detections": [_det(i) for i in range(100)]}
        r = c.post("/api/v1/runs/r1/detections", content=chunks(big), headers=headers)
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "too_large"
        small = {"message_id": "m-small", "detections": [_det(0)]}
        r = c.post("/api/v1/runs/r1/detections", content=chunks(small), headers=headers)
        assert r.status_code == 201, r.text
    with open_store(str(db)) as store:
        assert store.count_detections("r1") == 1


def test_missions_through_the_api_keep_the_two_person_rule(
    client: TestClient, airspace: Any, tmp_path: Path
) -> None:
    from standoff.pipeline import run_plan
    from standoff.plan import DEMO_MISSION_YAML

    (tmp_path / "m.yaml").write_text(DEMO_MISSION_YAML, encoding="utf-8")
    run_plan(airspace, tmp_path / "m.yaml", tmp_path / "plan")
    plan = json.loads((tmp_path / "plan" / "plan.json").read_text())
    r = client.post("/api/v1/missions", json={"plan": plan}, headers=_auth("alice"))
    assert r.status_code == 201, r.text
    mission = r.json()["mission"]
    r = client.post(
        f"/api/v1/missions/{mission}/approve", json={"reason": "mine"}, headers=_auth("alice")
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "policy_denied"
    r = client.post(
        f"/api/v1/missions/{mission}/approve", json={"reason": "clear of MEX"}, headers=_auth("bob")
    )
    assert r.json() == {"mission": mission, "state": "approved"}
    r = client.post("/api/v1/missions", json={"plan": {"schema": "nope"}}, headers=_auth("alice"))
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "schema"


def test_plan_validate_submit_and_read_back_over_the_api(client: TestClient) -> None:
    import yaml

    from standoff.plan import DEMO_MISSION_YAML

    # Planned on the server from the mission YAML text, as `standoff plan` would (renamed:
    # the demo plan itself is a mission of this store already).
    text = DEMO_MISSION_YAML.replace("name: sasabe-corridor", "name: api-planned")
    assert text != DEMO_MISSION_YAML
    r = client.post("/api/v1/plans", json={"mission": text}, headers=_auth("alice"))
    assert r.status_code == 200, r.text
    made = r.json()
    assert made["airspace"]["allowed"] is True
    assert made["summary"]["min_clearance_m"] >= made["summary"]["margin_m"]
    plan = made["plan"]
    # The same mission as a JSON object (start as ISO 8601 text) gives the same plan.
    doc = yaml.safe_load(text)
    doc["start"] = doc["start"].isoformat()
    r = client.post("/api/v1/plans", json={"mission": doc}, headers=_auth("alice"))
    assert r.json()["plan_sha256"] == made["plan_sha256"]
    # Validation stores nothing and says why.
    r = client.post("/api/v1/missions/validate", json={"plan": plan}, headers=_auth("bob"))
    assert r.status_code == 200, r.text
    assert r.json()["allowed"] is True
    assert [d["check"] for d in r.json()["decisions"]] == ["airspace", "mandate"]
    south = {**plan, "path_lat_deg": [v - 0.5 for v in plan["path_lat_deg"]]}
    r = client.post("/api/v1/missions/validate", json={"plan": south}, headers=_auth("bob"))
    assert r.json()["allowed"] is False
    assert "MEX" in r.json()["decisions"][0]["reasons"][0]
    # Submitted, the approver reads back exactly the plan that was planned.
    r = client.post("/api/v1/missions", json={"plan": plan}, headers=_auth("alice"))
    assert r.status_code == 201, r.text
    mission = r.json()["mission"]
    r = client.get(f"/api/v1/missions/{mission}/plan", headers=_auth("bob"))
    assert r.status_code == 200, r.text
    assert r.json()["plan_sha256"] == made["plan_sha256"]
    assert r.json()["plan"] == plan
    assert r.json()["state"] == "submitted"
    # A client's mission may not make the server read its files.
    doc["aoi"][0]["geometry"] = "/etc/passwd"
    r = client.post("/api/v1/plans", json={"mission": doc}, headers=_auth("alice"))
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "aoi[0].geometry"
    r = client.post("/api/v1/plans", json={"mission": "name: [unclosed"}, headers=_auth("alice"))
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "mission"


def test_no_plan_that_enters_foreign_airspace_is_submitted_or_approved(
    airspace: Any, tmp_path: Path
) -> None:
    import numpy as np

    from standoff.oversight.approval import User, submit
    from standoff.pipeline import run_plan
    from standoff.plan import DEMO_MISSION_YAML

    (tmp_path / "m.yaml").write_text(DEMO_MISSION_YAML, encoding="utf-8")
    run_plan(airspace, tmp_path / "m.yaml", tmp_path / "plan")
    plan = json.loads((tmp_path / "plan" / "plan.json").read_text())
    south = {**plan, "path_lat_deg": (np.asarray(plan["path_lat_deg"]) - 0.5).tolist()}
    db = tmp_path / "standoff.db"
    with open_store(str(db)) as store:
        for name in ("alice", "bob"):
            store.add_user(name, ROLES[name], f"token-{name}", now=T0)
        # One crossing plan stored without the gate (an older store, a direct write).
        stored = submit(
            store, AuditLog(store.audit_store()), User("alice", ("planner",)),
            mission_name="stored-south", plan_document=json.dumps(south), now=T0,
        )  # fmt: skip
    with TestClient(create_app(ApiSettings(db_url=str(db)))) as c:
        before = c.get("/api/v1/missions", headers=_auth("bob")).json()
        r = c.post("/api/v1/missions", json={"plan": south}, headers=_auth("alice"))
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "policy_denied"
        assert "MEX" in r.json()["error"]["message"]
        assert c.get("/api/v1/missions", headers=_auth("bob")).json() == before  # nothing stored
        r = c.post(
            f"/api/v1/missions/{stored}/approve", json={"reason": "ok"}, headers=_auth("bob")
        )
        assert r.status_code == 403, r.text
        assert "MEX" in r.json()["error"]["message"]
        states = {
            m["mission"]: m["state"] for m in c.get("/api/v1/missions", headers=_auth("bob")).json()
        }
        assert states[stored] == "submitted"
    with open_store(str(db)) as store:
        entries = [json.loads(e.entry) for e in AuditLog(store.audit_store()).entries()]
    refusals = [e for e in entries if e["action"] == "policy.airspace"]
    assert [e["details"]["allowed"] for e in refusals] == [False, False]
    assert {e["who"] for e in refusals} == {"alice", "bob"}


def test_partner_requests_loop(client: TestClient) -> None:
    area = {
        "type": "Polygon",
        "coordinates": [
            [[-111.6, 31.2], [-111.4, 31.2], [-111.4, 31.4], [-111.6, 31.4], [-111.6, 31.2]]
        ],
    }
    body = {
        "question": "Where do vehicles leaving the Sasabe road go at night?",
        "area": area,
        "window_start": "2026-03-20T00:00:00Z",
        "window_end": "2026-03-27T00:00:00Z",
        "priority": "priority",
    }
    assert client.post("/api/v1/requests", json=body, headers=_auth("alice")).status_code == 403
    r = client.post("/api/v1/requests", json=body, headers=_auth("lucia"))
    assert r.status_code == 201, r.text
    rid = r.json()["request"]
    bad = {**body, "window_end": "2026-03-19T00:00:00Z"}
    assert client.post("/api/v1/requests", json=bad, headers=_auth("lucia")).status_code == 422
    link = client.post(
        f"/api/v1/requests/{rid}/link", json={"run_id": "r1"}, headers=_auth("alice")
    )
    assert link.status_code == 403  # a planner plans; an analyst answers with a run
    assert (
        client.post(
            f"/api/v1/requests/{rid}/link", json={"run_id": "r1"}, headers=_auth("carol")
        ).json()["status"]
        == "answered"
    )
    mine = client.get("/api/v1/requests", headers=_auth("lucia")).json()
    assert [(q["request_id"], q["status"]) for q in mine] == [(rid, "answered")]
    assert [p["product_id"] for p in mine[0]["products"]] == ["p1"]  # p2 is NOFORN
    staff = client.get("/api/v1/requests", headers=_auth("carol")).json()
    assert [p["product_id"] for p in staff[0]["products"]] == ["p1", "p2", "r1-certificate"]


def test_products_are_downloaded_only_where_released(client: TestClient) -> None:
    r = client.get("/api/v1/products/p1", headers=_auth("lucia"))
    assert r.status_code == 200
    assert r.headers["X-Standoff-Marking"] == "UNCLASSIFIED//REL TO USA, MEX"
    assert client.get("/api/v1/products/p2", headers=_auth("lucia")).status_code == 404
    assert client.get("/api/v1/products/p2", headers=_auth("carol")).content == b"%PDF-1.4"
    listed = client.get("/api/v1/runs/r1/products", headers=_auth("lucia")).json()
    assert [p["product_id"] for p in listed] == ["p1"]


def test_columnar_ingest_is_checked_and_stored_exactly_once(client: TestClient) -> None:
    cols = {
        "det_id": ["c1", "c2", "c3"],
        "time": ["2026-03-20T02:01:00Z", "2026-03-20T02:01:00Z", "2026-03-20T02:01:10+00:00"],
        "lat": [31.3, 31.31, 31.32],
        "lon": [-111.5, -111.49, -111.48],
        "radial_velocity_mps": [None, 4.0, None],
    }
    body = {"message_id": "cols-1", "columns": cols}
    first = client.post("/api/v1/runs/r1/detections", json=body, headers=_auth("alice"))
    assert first.status_code == 201, first.text
    assert first.json()["stored"] == 3
    assert first.json()["scans_tracked"] + first.json()["scans_skipped"] == 2
    again = client.post("/api/v1/runs/r1/detections", json=body, headers=_auth("alice"))
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    rows = {
        r["det_id"]: r
        for r in client.get("/api/v1/runs/r1/detections", headers=_auth("carol")).json()
    }
    assert rows["c2"]["radial_velocity_mps"] == 4.0
    assert rows["c1"]["sensor"] == "gmti"
    assert rows["c1"]["sigma_m"] == 20.0
    assert rows["c3"]["time"].startswith("2026-03-20T02:01:10")
    bad_cases = [
        ({**cols, "lat": [31.3, 95.0, 31.0]}, "columns.lat.1"),
        ({**cols, "lon": [-111.5]}, "columns"),
        ({**cols, "time": ["6242-08-20T15:18:05Z"] * 3}, "columns.time.0"),
        ({**cols, "time": ["2026-03-20T02:01:00"] * 3}, "columns.time.0"),
    ]
    for k, (bad, field) in enumerate(bad_cases):
        r = client.post(
            "/api/v1/runs/r1/detections",
            json={"message_id": f"bad-{k}", "columns": bad},
            headers=_auth("alice"),
        )
        assert r.status_code == 422, (field, r.text)
        assert r.json()["error"]["field"] == field
    both = {"message_id": "both", "columns": cols, "detections": [_det(900)]}
    r = client.post("/api/v1/runs/r1/detections", json=both, headers=_auth("alice"))
    assert r.status_code == 422
    r = client.post("/api/v1/runs/r1/detections", json={"message_id": "x"}, headers=_auth("alice"))
    assert r.status_code == 422
    live = client.get("/api/v1/runs/r1/live", headers=_auth("alice")).json()
    assert live["run"] == "r1"
    assert live["scans_pending"] >= 0
