"""The audit log over the in-memory store: entries, proofs, bundles, input validation."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from standoff.core.errors import InputError, IntegrityError, StorageError
from standoff.oversight.audit import (
    AuditEvent,
    AuditLog,
    InclusionProofRecord,
    verify_bundle,
    verify_inclusion_record,
)
from standoff.oversight.canonical import parse_canonical_json
from standoff.oversight.keys import Signer
from standoff.oversight.merkle import verify_consistency
from standoff.oversight.storage import MemoryAuditStore

T0 = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
SIGNER = Signer("standoff-audit", Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))


def _event(i: int, **overrides: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "who": "analyst-1",
        "action": "product.release",
        "at_utc": T0 + timedelta(seconds=i),
        "objects_sha256_hex": {"product": hashlib.sha256(str(i).encode()).hexdigest()},
        "details": {"i": i, "releasable_to": ["AUS", "CAN"], "range_m": 1234.5},
    }
    fields.update(overrides)
    return AuditEvent(**fields)


@pytest.fixture
def log() -> AuditLog:
    audit = AuditLog(MemoryAuditStore())
    audit.append_batch(_event(i) for i in range(5))
    audit.checkpoint(SIGNER, T0 + timedelta(hours=1))
    audit.append_batch(_event(i) for i in range(5, 12))
    audit.checkpoint(SIGNER, T0 + timedelta(hours=2))
    return audit


def test_entry_content_is_canonical_and_chained(log: AuditLog) -> None:
    record = log.prove(0)
    first = parse_canonical_json(record.entry.encode())
    assert first["seq"] == 0
    assert first["prev_entry_sha256_hex"] == "0" * 64
    assert first["at_utc"] == "2026-11-24T06:00:00.000000Z"
    assert first["who"] == "analyst-1"
    assert first["action"] == "product.release"
    second = parse_canonical_json(log.prove(1).entry.encode())
    assert second["prev_entry_sha256_hex"] == hashlib.sha256(record.entry.encode()).hexdigest()


def test_report(log: AuditLog) -> None:
    report = log.verify(SIGNER.verifier)
    assert (report.entries, report.checkpoints, report.latest_tree_size) == (12, 2, 12)
    assert report.latest_root_sha256_hex == log.root_sha256().hex()
    assert report.unanchored_entries == 0
    log.append(_event(99))
    assert log.verify(SIGNER.verifier).unanchored_entries == 1
    json.dumps(report.to_json())


def test_every_entry_provable_and_proofs_are_json(log: AuditLog) -> None:
    for index in range(12):
        record = log.prove(index)
        verify_inclusion_record(record, SIGNER.verifier)
        text = json.dumps(record.to_json())
        again = InclusionProofRecord(
            **{
                **json.loads(text),
                "proof_sha256_hex": tuple(json.loads(text)["proof_sha256_hex"]),
            }
        )
        verify_inclusion_record(again, SIGNER.verifier)


def test_tampered_proof_record_fails(log: AuditLog) -> None:
    record = log.prove(3)
    changed = InclusionProofRecord(
        **{**record.__dict__, "entry": record.entry.replace("analyst-1", "analyst-2")}
    )
    with pytest.raises(IntegrityError, match="changed entry"):
        verify_inclusion_record(changed, SIGNER.verifier)
    other = Signer.generate()
    with pytest.raises(IntegrityError, match="wrong key"):
        verify_inclusion_record(record, other.verifier)


def test_consistency_between_checkpoints(log: AuditLog) -> None:
    old, new = log.checkpoints()
    proof = log.prove_consistency(old, new)
    verify_consistency(
        proof.size1,
        proof.size2,
        [bytes.fromhex(p) for p in proof.proof_sha256_hex],
        old.root_sha256,
        new.root_sha256,
    )


def test_prove_needs_a_covering_checkpoint() -> None:
    audit = AuditLog(MemoryAuditStore())
    audit.append(_event(0))
    with pytest.raises(InputError, match="no checkpoint"):
        audit.prove(0)
    audit.checkpoint(SIGNER, T0)
    audit.append(_event(1))
    with pytest.raises(InputError):
        audit.prove(1)
    with pytest.raises(InputError):
        audit.prove(-1)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"at_utc": datetime(2026, 1, 1)}, "at_utc"),
        ({"at_utc": datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=1)))}, "at_utc"),
        ({"who": ""}, "who"),
        ({"action": "a\nb"}, "action"),
        ({"objects_sha256_hex": {"p": "ABCD"}}, "objects_sha256_hex.p"),
        ({"details": {"x": float("nan")}}, "$.details.x"),
        ({"details": {"x": object()}}, "$.details.x"),
    ],
)
def test_bad_events_rejected_and_nothing_written(override: dict[str, Any], field: str) -> None:
    audit = AuditLog(MemoryAuditStore())
    with pytest.raises(InputError) as info:
        audit.append_batch([_event(0), _event(1, **override)])
    assert info.value.field == field
    assert audit.size == 0
    audit.append(_event(0))
    assert audit.verify(SIGNER.verifier).entries == 1


def test_second_writer_is_refused() -> None:
    store = MemoryAuditStore()
    first, second = AuditLog(store), AuditLog(store)
    first.append(_event(0))
    with pytest.raises(StorageError, match="expected 0"):
        second.append(_event(1))


def test_reopen_continues_the_chain(log: AuditLog) -> None:
    store = log._store
    reopened = AuditLog(store)
    assert reopened.size == 12
    assert reopened.root_sha256() == log.root_sha256()
    reopened.append(_event(12))
    reopened.checkpoint(SIGNER, T0 + timedelta(hours=3))
    assert reopened.verify(SIGNER.verifier).entries == 13


def test_bundle_round_trip(log: AuditLog, tmp_path: Path) -> None:
    summary = log.export(tmp_path / "bundle.json", SIGNER.verifier)
    assert (summary.entries, summary.inclusion_proofs, summary.consistency_proofs) == (12, 12, 1)
    report = verify_bundle(summary.path, SIGNER.verifier)
    assert report.inclusion_proofs_checked == 12
    assert report.consistency_proofs_checked == 1
    partial = log.export(tmp_path / "partial.json", SIGNER.verifier, indices=[0, 11])
    assert verify_bundle(partial.path, SIGNER.verifier).inclusion_proofs_checked == 2


def _edit_bundle(path: Path, fn: Any) -> Path:
    data = json.loads(path.read_text())
    fn(data)
    out = path.with_name("edited.json")
    out.write_text(json.dumps(data))
    return out


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (
            lambda b: b["entries"].__setitem__(3, b["entries"][3].replace("AUS", "USA")),
            "broken hash chain at index 4",
        ),
        (lambda b: b["entries"].pop(), "truncated log"),
        (lambda b: b["entries"].insert(2, b["entries"][1]), "duplicated entry at index 2"),
        (lambda b: b["checkpoints"].pop(0), "consistency proof sizes match no checkpoint"),
        (lambda b: b["consistency_proofs"].pop(0), "incomplete bundle"),
        (lambda b: b["checkpoints"].append(b["checkpoints"][0]), "rollback"),
        (lambda b: b["inclusion_proofs"][5]["proof_sha256_hex"].pop(), "inclusion"),
        (lambda b: b["consistency_proofs"][0]["proof_sha256_hex"].reverse(), "consistency"),
        (lambda b: b.__setitem__("format", "other"), "malformed bundle"),
        (
            lambda b: b.__setitem__("public_key_pem", Signer.generate().verifier.public_key_pem),
            "wrong key",
        ),
        (lambda b: b.__setitem__("public_key_pem", "garbage"), "no readable public key"),
    ],
)
def test_tampered_bundle_rejected(log: AuditLog, tmp_path: Path, edit: Any, pattern: str) -> None:
    path = log.export(tmp_path / "bundle.json", SIGNER.verifier).path
    with pytest.raises(IntegrityError, match=pattern):
        verify_bundle(_edit_bundle(path, edit), SIGNER.verifier)


def test_bundle_with_wrong_key_and_garbage(log: AuditLog, tmp_path: Path) -> None:
    path = log.export(tmp_path / "bundle.json", SIGNER.verifier).path
    with pytest.raises(IntegrityError, match="wrong key"):
        verify_bundle(path, Signer.generate().verifier)
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\xff{")
    with pytest.raises(IntegrityError, match="malformed bundle"):
        verify_bundle(garbage, SIGNER.verifier)
    with pytest.raises(InputError):
        verify_bundle(tmp_path / "missing.json", SIGNER.verifier)


def test_checkpoint_time_must_not_go_back(log: AuditLog) -> None:
    with pytest.raises(InputError, match="goes backwards"):
        log.checkpoint(SIGNER, T0)
    with pytest.raises(InputError):
        log.checkpoint(SIGNER, datetime(2030, 1, 1))
    log.checkpoint(SIGNER, T0 + timedelta(hours=2))  # same instant is fine
    assert len(log.checkpoints()) == 3
