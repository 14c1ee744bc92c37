"""The audit log over the API, for auditors: verify, signed checkpoints, RFC 9162 inclusion
and consistency proofs (checked here offline with only the public key), and the export
bundle that ``standoff audit verify-bundle`` accepts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from standoff.api import ApiSettings, create_app
from standoff.core.errors import IntegrityError
from standoff.oversight import keys_new, load_verifier, verify_bundle
from standoff.oversight.audit import InclusionProofRecord, verify_inclusion_record
from standoff.oversight.checkpoint import parse_checkpoint, verify_checkpoint
from standoff.oversight.merkle import verify_consistency
from standoff.store.sql import open_store

T0 = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
AUD = {"Authorization": "Bearer token-dan"}
PLN = {"Authorization": "Bearer token-alice"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    tmp = tmp_path_factory.mktemp("audit")
    db = tmp / "standoff.db"
    with open_store(str(db)) as store:
        store.add_user("alice", ["planner"], "token-alice", now=T0)
        store.add_user("dan", ["auditor"], "token-dan", now=T0)
        store.add_user("carol", ["analyst"], "token-carol", now=T0)
    keys = keys_new(tmp / "keys", "standoff-audit")
    settings = ApiSettings(
        db_url=str(db), signing_key=keys.private_path, audit_public_key=keys.public_path
    )
    with TestClient(create_app(settings)) as client:
        yield client, keys.public_path


def test_checkpoints_proofs_and_export_verify_offline(
    setup: tuple[TestClient, Path], tmp_path: Path
) -> None:
    client, public = setup
    verifier = load_verifier(public)
    r = client.get("/api/v1/audit/proofs/inclusion?index=0", headers=AUD)
    assert r.status_code == 404  # no checkpoint yet
    for k in range(3):
        assert client.post("/api/v1/runs", json={"run_id": f"a{k}"}, headers=PLN).status_code == 201
    first = client.post("/api/v1/audit/checkpoints", headers=AUD)
    assert first.status_code == 201, first.text
    for k in range(3, 8):
        assert client.post("/api/v1/runs", json={"run_id": f"a{k}"}, headers=PLN).status_code == 201
    second = client.post("/api/v1/audit/checkpoints", headers=AUD).json()
    size1, size2 = first.json()["tree_size"], second["tree_size"]
    assert 0 < size1 < size2
    cps = client.get("/api/v1/audit/checkpoints", headers=AUD).json()
    assert [c["tree_size"] for c in cps] == [size1, size2]
    for c in cps:
        verify_checkpoint(parse_checkpoint(c["note"]), verifier, label="api")

    # Inclusion of every entry against the latest checkpoint, and of entry 1 in the first.
    for index in range(size2):
        proof = client.get(f"/api/v1/audit/proofs/inclusion?index={index}", headers=AUD).json()
        record = InclusionProofRecord(
            index=proof["index"],
            tree_size=proof["tree_size"],
            entry=proof["entry"],
            leaf_sha256_hex=proof["leaf_sha256_hex"],
            proof_sha256_hex=tuple(proof["proof_sha256_hex"]),
            root_sha256_hex=proof["root_sha256_hex"],
            checkpoint_note=proof["checkpoint_note"],
        )
        verify_inclusion_record(record, verifier)
    old = client.get(f"/api/v1/audit/proofs/inclusion?index=1&tree_size={size1}", headers=AUD)
    assert old.json()["tree_size"] == size1
    tampered = {**proof, "entry": proof["entry"].replace('"run.create"', '"run.delete"')}
    with pytest.raises(IntegrityError):
        verify_inclusion_record(
            InclusionProofRecord(
                **{**tampered, "proof_sha256_hex": tuple(proof["proof_sha256_hex"])}
            ),
            verifier,
        )
    assert (
        client.get(f"/api/v1/audit/proofs/inclusion?index={size2 + 5}", headers=AUD).status_code
        == 404
    )
    assert (
        client.get("/api/v1/audit/proofs/inclusion?index=0&tree_size=9999", headers=AUD).status_code
        == 404
    )

    # Consistency: the newer checkpoint extends the older one (append-only).
    c = client.get(f"/api/v1/audit/proofs/consistency?from_size={size1}", headers=AUD).json()
    assert (c["size1"], c["size2"]) == (size1, size2)
    old_cp = parse_checkpoint(c["old_checkpoint_note"])
    new_cp = parse_checkpoint(c["new_checkpoint_note"])
    verify_checkpoint(old_cp, verifier, label="old")
    verify_checkpoint(new_cp, verifier, label="new")
    proof_bytes = [bytes.fromhex(p) for p in c["proof_sha256_hex"]]
    verify_consistency(size1, size2, proof_bytes, old_cp.root_sha256, new_cp.root_sha256)
    with pytest.raises(IntegrityError):
        verify_consistency(size1, size2, proof_bytes, new_cp.root_sha256, new_cp.root_sha256)

    # The export bundle verifies offline with only the public key; a changed byte does not.
    r = client.get("/api/v1/audit/export", headers=AUD)
    assert r.status_code == 200
    assert "attachment" in r.headers["Content-Disposition"]
    bundle = tmp_path / "bundle.json"
    bundle.write_bytes(r.content)
    report = verify_bundle(bundle, verifier)
    assert report.latest_tree_size == size2
    assert report.entries >= size2
    doc: dict[str, Any] = json.loads(r.content)
    changed = doc["entries"][0].replace('"a0"', '"zz"')
    assert changed != doc["entries"][0]
    doc["entries"][0] = changed
    bundle.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(IntegrityError):
        verify_bundle(bundle, verifier)
    verified = client.get("/api/v1/audit/verify", headers=AUD).json()
    assert verified["ok"] is True
    assert verified["checkpoints"] == 2


def test_only_auditors_reach_the_log(setup: tuple[TestClient, Path]) -> None:
    client, _ = setup
    carol = {"Authorization": "Bearer token-carol"}
    for method, path in (
        ("GET", "/api/v1/audit/verify"),
        ("GET", "/api/v1/audit/checkpoints"),
        ("POST", "/api/v1/audit/checkpoints"),
        ("GET", "/api/v1/audit/proofs/inclusion?index=0"),
        ("GET", "/api/v1/audit/proofs/consistency?from_size=1"),
        ("GET", "/api/v1/audit/export"),
    ):
        for headers, code in ((carol, 403), (PLN, 403), ({}, 401)):
            r = client.request(method, path, headers=headers)
            assert r.status_code == code, (method, path, r.text)
            assert r.json()["error"]["status"] == code


def test_without_keys_the_signed_features_say_so(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with open_store(str(db)) as store:
        store.add_user("dan", ["auditor"], "token-dan", now=T0)
    with TestClient(create_app(ApiSettings(db_url=str(db)))) as client:
        for method, path in (
            ("POST", "/api/v1/audit/checkpoints"),
            ("GET", "/api/v1/audit/export"),
            ("GET", "/api/v1/audit/verify"),
        ):
            r = client.request(method, path, headers=AUD)
            assert r.status_code == 404
            assert "key" in r.json()["error"]["message"]
