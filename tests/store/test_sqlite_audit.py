"""The SQLite audit store: durability settings, transactions, one writer, CLI functions."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from standoff.core.errors import InputError, IntegrityError, StorageError
from standoff.oversight.audit import AuditEvent, AuditLog
from standoff.oversight.keys import load_signer
from standoff.store.sqlite_audit import (
    SqliteAuditStore,
    audit_export,
    audit_prove,
    audit_verify,
    keys_new,
    verify_bundle_file,
)

T0 = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def _event(i: int) -> AuditEvent:
    return AuditEvent(
        "analyst",
        "plan.create",
        T0 + timedelta(seconds=i),
        {"plan": hashlib.sha256(str(i).encode()).hexdigest()},
        {"i": i},
    )


def test_pragmas_and_schema(tmp_path: Path) -> None:
    with SqliteAuditStore(tmp_path / "a.db") as store:
        conn = store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert {"audit_entries", "audit_nodes", "audit_checkpoints", "audit_meta"} <= tables


def test_append_is_one_transaction(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with SqliteAuditStore(path) as store:
        log = AuditLog(store)
        log.append_batch(_event(i) for i in range(100))
        # A failing batch (duplicate key inside the store) leaves nothing behind.
        entries = list(store.iter_entries())
        with pytest.raises(StorageError):
            store.append(entries[:1], [], expected_size=100)
        assert store.size() == 100
    with SqliteAuditStore(path) as store:
        assert store.size() == 100
        assert len(list(store.iter_entries())) == 100


def test_reopen_and_continue(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    signer_paths = keys_new(tmp_path / "keys")
    signer = load_signer(signer_paths.private_path)
    with SqliteAuditStore(path) as store:
        log = AuditLog(store)
        log.append_batch(_event(i) for i in range(37))
        log.checkpoint(signer, T0 + timedelta(hours=1))
        root = log.root_sha256()
    with SqliteAuditStore(path) as store:
        log = AuditLog(store)
        assert log.size == 37
        assert log.root_sha256() == root
        for i in range(37, 70):
            log.append(_event(i))
        log.checkpoint(signer, T0 + timedelta(hours=2))
        report = log.verify(signer.verifier)
    assert report.entries == 70
    assert report.checkpoints == 2


def test_one_writer(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with SqliteAuditStore(path) as first_store, SqliteAuditStore(path) as second_store:
        first, second = AuditLog(first_store), AuditLog(second_store)
        first.append(_event(0))
        with pytest.raises(StorageError, match="another writer"):
            second.append(_event(1))
        assert first_store.size() == 1


def test_paging_over_many_entries(tmp_path: Path) -> None:
    with SqliteAuditStore(tmp_path / "a.db") as store:
        log = AuditLog(store)
        log.append_batch(_event(i) for i in range(25_001))
        indices = [e.index for e in store.iter_entries()]
        assert indices == list(range(25_001))
        assert [e.index for e in store.iter_entries(24_999)] == [24_999, 25_000]


def test_not_a_database(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError) as info:
        SqliteAuditStore(bad)
    assert isinstance(info.value.__cause__, sqlite3.Error)
    with pytest.raises(InputError, match="no audit database"):
        SqliteAuditStore(tmp_path / "missing.db", create=False)


def test_schema_version_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    SqliteAuditStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE audit_meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="schema version 99"):
        SqliteAuditStore(path)


def test_cli_functions_end_to_end(tmp_path: Path) -> None:
    keys = keys_new(tmp_path / "keys")
    signer = load_signer(keys.private_path)
    db = tmp_path / "audit.db"
    with SqliteAuditStore(db) as store:
        log = AuditLog(store)
        log.append_batch(_event(i) for i in range(20))
        log.checkpoint(signer, T0 + timedelta(hours=1))
        log.append_batch(_event(i) for i in range(20, 33))
        latest = log.checkpoint(signer, T0 + timedelta(hours=2))
    trusted = tmp_path / "trusted.note"
    trusted.write_text(latest.note())

    report = audit_verify(db, keys.public_path, trusted_checkpoint_path=trusted)
    assert report.entries == 33
    assert report.key_id_hex == keys.key_id_hex
    proof = audit_prove(db, 7)
    assert json.loads(json.dumps(proof.to_json()))["index"] == 7
    summary = audit_export(db, tmp_path / "bundle.json", keys.private_path)
    assert summary.inclusion_proofs == 33
    assert verify_bundle_file(summary.path, keys.public_path).inclusion_proofs_checked == 33
    # The private key never lands in the bundle.
    assert "PRIVATE" not in summary.path.read_text()

    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM audit_entries WHERE idx = 32")
    conn.commit()
    conn.close()
    with pytest.raises(IntegrityError, match="truncated log"):
        audit_verify(db, keys.public_path)
    with pytest.raises(InputError):
        audit_prove(tmp_path / "nothing.db", 0)
