"""T2.2: the tamper matrix on the real SQLite store.

For every log size n in SIZES, every position and every class of tampering, an attacker with
write access to the database file edits it with plain SQL; verification must fail with an
IntegrityError whose message names the class (and the index).  The untouched log, verified
with and without a trusted checkpoint, must never raise.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from standoff.core.errors import IntegrityError
from standoff.oversight.audit import AuditEvent, AuditLog, verify_store
from standoff.oversight.canonical import canonical_json
from standoff.oversight.checkpoint import Checkpoint, parse_checkpoint, sign_checkpoint
from standoff.oversight.keys import Signer
from standoff.oversight.merkle import CompactRange, leaf_hash
from standoff.store.sqlite_audit import SqliteAuditStore

SIZES = (1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 63, 64)
T0 = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
SIGNER = Signer("standoff-audit", Ed25519PrivateKey.from_private_bytes(b"\x07" * 32))
MALLORY = Signer("standoff-audit", Ed25519PrivateKey.from_private_bytes(b"\x66" * 32))
VERIFIER = SIGNER.verifier

Row = tuple[int, bytes, bytes, bytes]


def _event(i: int) -> AuditEvent:
    return AuditEvent(
        who=f"analyst-{i % 3}",
        action=("plan.create", "plan.approve", "product.release")[i % 3],
        at_utc=T0 + timedelta(seconds=i),
        objects_sha256_hex={"object": hashlib.sha256(str(i).encode()).hexdigest()},
        details={"i": i, "note": f"event {i}"},
    )


@cache
def _template(n: int, directory: str) -> bytes:
    """A pristine log of n entries with checkpoints at n // 2 and n, as file bytes."""
    path = Path(directory) / f"template-{n}.db"
    with SqliteAuditStore(path) as store:
        log = AuditLog(store)
        log.append_batch(_event(i) for i in range(n // 2))
        log.checkpoint(SIGNER, T0 + timedelta(hours=1))
        log.append_batch(_event(i) for i in range(n // 2, n))
        log.checkpoint(SIGNER, T0 + timedelta(hours=2))
    return path.read_bytes()


@pytest.fixture(scope="module")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("templates"))


def _fresh(n: int, template_dir: str, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.db"
    path.write_bytes(_template(n, template_dir))
    return path


def _verify(path: Path, trusted: Checkpoint | None = None) -> None:
    with SqliteAuditStore(path, create=False) as store:
        verify_store(store, VERIFIER, trusted=trusted)


def _sql(path: Path, fn: Callable[[sqlite3.Connection], None]) -> None:
    conn = sqlite3.connect(path)
    try:
        fn(conn)
        conn.commit()
    finally:
        conn.close()


def _rows(conn: sqlite3.Connection) -> list[Row]:
    return list(
        conn.execute("SELECT idx, entry, leaf_sha256, entry_sha256 FROM audit_entries ORDER BY idx")
    )


def _rewrite(conn: sqlite3.Connection, rows: list[Row]) -> None:
    """Replace all entries, renumbering them 0..len-1 (an attacker hiding gaps)."""
    conn.execute("DELETE FROM audit_entries")
    conn.executemany(
        "INSERT INTO audit_entries VALUES (?, ?, ?, ?)",
        [(i, e, leaf, chain) for i, (_, e, leaf, chain) in enumerate(rows)],
    )


def _row(entry: bytes) -> Row:
    return (-1, entry, leaf_hash(entry), hashlib.sha256(entry).digest())


def _forge(seq: int, prev: bytes, tag: str = "forged") -> Row:
    body = {
        "v": 1,
        "seq": seq,
        "prev_entry_sha256_hex": prev.hex(),
        "who": "mallory",
        "action": "product.share",
        "at_utc": "2026-11-24T07:00:00.000000Z",
        "objects_sha256_hex": {},
        "details": {"tag": tag},
    }
    return _row(canonical_json(body))


def _rebuild_nodes(conn: sqlite3.Connection) -> None:
    """A thorough attacker also rewrites the stored tree to match the new entries."""
    compact = CompactRange()
    nodes = []
    for _, _, leaf, _ in _rows(conn):
        nodes.extend(n for n in compact.append(leaf) if n[0].level > 0)
    conn.execute("DELETE FROM audit_nodes")
    conn.executemany(
        "INSERT INTO audit_nodes VALUES (?, ?, ?)", [(n.level, n.offset, h) for n, h in nodes]
    )


def _notes(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT note FROM audit_checkpoints ORDER BY position")]


def _set_note(conn: sqlite3.Connection, position: int, note: str) -> None:
    conn.execute("UPDATE audit_checkpoints SET note = ? WHERE position = ?", (note, position))


def _add_note(conn: sqlite3.Connection, note: str) -> None:
    size = parse_checkpoint(note).tree_size
    conn.execute(
        "INSERT INTO audit_checkpoints (position, tree_size, note) VALUES ("
        "(SELECT MAX(position) + 1 FROM audit_checkpoints), ?, ?)",
        (size, note),
    )


# --------------------------------------------------------------------------- entry classes
# Each returns (tamper function, regex the error message must match).

Tamper = tuple[Callable[[sqlite3.Connection], None], str]


def _changed(n: int, i: int) -> Tamper:
    def fn(conn: sqlite3.Connection) -> None:
        entry = bytearray(_rows(conn)[i][1])
        entry[len(entry) // 2] ^= 0x01
        conn.execute("UPDATE audit_entries SET entry = ? WHERE idx = ?", (bytes(entry), i))

    return fn, rf"^changed entry at index {i}:"


def _changed_rehashed(n: int, i: int) -> Tamper:
    def fn(conn: sqlite3.Connection) -> None:
        entry = _rows(conn)[i][1].replace(b'"note":"event', b'"note":"EVENT')
        _, e, leaf, chain = _row(entry)
        conn.execute(
            "UPDATE audit_entries SET entry = ?, leaf_sha256 = ?, entry_sha256 = ? WHERE idx = ?",
            (e, leaf, chain, i),
        )

    if i < n - 1:
        return fn, rf"^broken hash chain at index {i + 1}:"
    return fn, r"^rewritten log: the first \d+ entries"


def _deleted_gap(n: int, i: int) -> Tamper:
    def fn(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM audit_entries WHERE idx = ?", (i,))

    if i < n - 1:
        return fn, rf"^deleted entry: index {i} is missing"
    return fn, r"^truncated log"


def _deleted_renumbered(n: int, i: int) -> Tamper:
    def fn(conn: sqlite3.Connection) -> None:
        rows = _rows(conn)
        _rewrite(conn, rows[:i] + rows[i + 1 :])

    if i < n - 1:
        return fn, rf"^deleted entries before index {i}:"
    return fn, r"^truncated log"


def _reordered(n: int, i: int) -> Tamper:
    def fn(conn: sqlite3.Connection) -> None:
        rows = _rows(conn)
        rows[i], rows[i + 1] = rows[i + 1], rows[i]
        _rewrite(conn, rows)

    return fn, rf"^reordered entries at index {i} and {i + 1}"


def _duplicated(n: int, i: int) -> Tamper:
    def fn(conn: sqlite3.Connection) -> None:
        rows = _rows(conn)
        _rewrite(conn, [*rows[: i + 1], rows[i], *rows[i + 1 :]])

    return fn, rf"^duplicated entry at index {i + 1}: a copy of entry {i}"


def _inserted(n: int, i: int) -> Tamper:
    def fn(conn: sqlite3.Connection) -> None:
        rows = _rows(conn)
        prev = rows[i - 1][3] if i else bytes(32)
        _rewrite(conn, [*rows[:i], _forge(i, prev), *rows[i:]])

    return fn, rf"^inserted entry: entries at index {i} and {i + 1} both claim seq {i}"


def _truncated(n: int, k: int) -> Tamper:
    def fn(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM audit_entries WHERE idx >= ?", (k,))

    return fn, r"^truncated log: .* commits to \d+ entries but the log has " + str(k)


def _replaced_tail(n: int, k: int) -> Tamper:
    def fn(conn: sqlite3.Connection) -> None:
        rows = _rows(conn)[:k]
        prev = rows[-1][3] if rows else bytes(32)
        for seq in range(k, n):
            forged = _forge(seq, prev, tag=f"replacement {seq}")
            rows.append(forged)
            prev = forged[3]
        _rewrite(conn, rows)
        _rebuild_nodes(conn)

    return fn, r"^rewritten log: the first \d+ entries no longer match"


POSITION_CLASSES: dict[str, tuple[Callable[[int, int], Tamper], Callable[[int], range]]] = {
    "changed (bit flip)": (_changed, range),
    "changed and rehashed": (_changed_rehashed, range),
    "deleted (gap)": (_deleted_gap, range),
    "deleted (renumbered)": (_deleted_renumbered, range),
    "reordered (swap with next)": (_reordered, lambda n: range(n - 1)),
    "duplicated": (_duplicated, range),
    "inserted (forged)": (_inserted, range),
    "truncated to k": (_truncated, range),
    "tail replaced from k": (_replaced_tail, range),
}


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("cls", list(POSITION_CLASSES))
def test_entry_tampering_is_detected_and_named(
    n: int, cls: str, template_dir: str, tmp_path: Path
) -> None:
    make, positions = POSITION_CLASSES[cls]
    checked = 0
    for i in positions(n):
        path = _fresh(n, template_dir, tmp_path, f"case-{i}")
        tamper, pattern = make(n, i)
        _sql(path, tamper)
        with pytest.raises(IntegrityError) as info:
            _verify(path)
        assert re.search(pattern, str(info.value)), (cls, n, i, str(info.value))
        checked += 1
    assert checked == len(positions(n))


# --------------------------------------------------------------------------- checkpoint classes


def _latest(conn: sqlite3.Connection) -> tuple[int, str]:
    notes = _notes(conn)
    return len(notes) - 1, notes[-1]


def _cp_size_note(conn: sqlite3.Connection) -> None:
    pos, note = _latest(conn)
    cp = parse_checkpoint(note)
    _set_note(conn, pos, note.replace(f"\n{cp.tree_size}\n", f"\n{cp.tree_size + 1}\n", 1))
    conn.execute(
        "UPDATE audit_checkpoints SET tree_size = tree_size + 1 WHERE position = ?", (pos,)
    )


def _cp_size_column(conn: sqlite3.Connection) -> None:
    pos, _ = _latest(conn)
    conn.execute(
        "UPDATE audit_checkpoints SET tree_size = tree_size - 1 WHERE position = ?", (pos,)
    )


def _cp_root(conn: sqlite3.Connection) -> None:
    pos, note = _latest(conn)
    cp = parse_checkpoint(note)
    old = base64.b64encode(cp.root_sha256).decode()
    new = base64.b64encode(leaf_hash(b"other root")).decode()
    _set_note(conn, pos, note.replace(old, new))


def _cp_replay_older(conn: sqlite3.Connection) -> None:
    _add_note(conn, _notes(conn)[0])


def _cp_resigned_wrong_key(conn: sqlite3.Connection) -> None:
    for pos, note in enumerate(_notes(conn)):
        cp = parse_checkpoint(note)
        forged = sign_checkpoint(cp.origin, cp.tree_size, cp.root_sha256, cp.at_utc, MALLORY)
        _set_note(conn, pos, forged.note())


def _cp_stripped(conn: sqlite3.Connection) -> None:
    pos, note = _latest(conn)
    _set_note(conn, pos, note.split("\n\n")[0] + "\n\n")


def _cp_bad_signature(conn: sqlite3.Connection) -> None:
    pos, note = _latest(conn)
    body, sig_line = note.split("\n\n")
    prefix, blob = sig_line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 0x01
    _set_note(conn, pos, f"{body}\n\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n")


def _cp_fork(conn: sqlite3.Connection) -> None:
    _, note = _latest(conn)
    cp = parse_checkpoint(note)
    other = sign_checkpoint(
        cp.origin, cp.tree_size, leaf_hash(b"fork"), cp.at_utc + timedelta(minutes=1), SIGNER
    )
    _add_note(conn, other.note())


CHECKPOINT_CLASSES: dict[str, Tamper] = {
    "checkpoint tree_size altered (note)": (_cp_size_note, r"^bad signature on checkpoint #1"),
    "checkpoint tree_size altered (column)": (_cp_size_column, r"^altered checkpoint: "),
    "checkpoint root altered": (_cp_root, r"^bad signature on checkpoint #1"),
    "rollback (older checkpoint replayed)": (_cp_replay_older, r"^rollback: checkpoint #2"),
    "re-signed with wrong key": (_cp_resigned_wrong_key, r"^wrong key: checkpoint #0"),
    "signature stripped": (_cp_stripped, r"^missing signature on checkpoint #1"),
    "bad signature (bit flip)": (_cp_bad_signature, r"^bad signature on checkpoint #1"),
    "fork (two roots at one size)": (_cp_fork, r"^fork \(equivocation\): two different roots"),
}


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("cls", list(CHECKPOINT_CLASSES))
def test_checkpoint_tampering_is_detected_and_named(
    n: int, cls: str, template_dir: str, tmp_path: Path
) -> None:
    tamper, pattern = CHECKPOINT_CLASSES[cls]
    path = _fresh(n, template_dir, tmp_path, "cp")
    _sql(path, tamper)
    with pytest.raises(IntegrityError) as info:
        _verify(path)
    assert re.search(pattern, str(info.value)), (cls, n, str(info.value))


def _trusted_latest(path: Path) -> Checkpoint:
    with SqliteAuditStore(path, create=False) as store:
        cp = AuditLog(store).latest_checkpoint()
    assert cp is not None
    return cp


@pytest.mark.parametrize("n", SIZES)
def test_rollback_against_a_trusted_checkpoint(n: int, template_dir: str, tmp_path: Path) -> None:
    """Truncate to the older checkpoint and drop the newer one: only an anchor tells."""
    path = _fresh(n, template_dir, tmp_path, "rb")
    trusted = _trusted_latest(path)

    def fn(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM audit_entries WHERE idx >= ?", (n // 2,))
        conn.execute("DELETE FROM audit_checkpoints WHERE position = 1")

    _sql(path, fn)
    with pytest.raises(IntegrityError, match=r"^rollback: the log's latest checkpoint"):
        _verify(path, trusted=trusted)


@pytest.mark.parametrize("n", SIZES)
def test_fork_against_a_trusted_checkpoint(n: int, template_dir: str, tmp_path: Path) -> None:
    path = _fresh(n, template_dir, tmp_path, "fork")
    real = _trusted_latest(path)
    seen_elsewhere = sign_checkpoint(
        real.origin, real.tree_size, leaf_hash(b"split view"), real.at_utc, SIGNER
    )
    with pytest.raises(IntegrityError, match=r"^fork \(equivocation\)"):
        _verify(path, trusted=seen_elsewhere)


@pytest.mark.parametrize("n", [n for n in SIZES if n > 1])
def test_corrupted_tree_node_is_detected(n: int, template_dir: str, tmp_path: Path) -> None:
    path = _fresh(n, template_dir, tmp_path, "node")
    _sql(
        path,
        lambda conn: conn.execute(
            "UPDATE audit_nodes SET hash = ? WHERE (level, node_offset) = "
            "(SELECT level, node_offset FROM audit_nodes ORDER BY level DESC LIMIT 1)",
            (leaf_hash(b"bad node"),),
        ),
    )
    with pytest.raises(IntegrityError, match=r"^corrupted tree node"):
        _verify(path)


@pytest.mark.parametrize("n", SIZES)
def test_no_false_alarm_on_the_untouched_log(n: int, template_dir: str, tmp_path: Path) -> None:
    path = _fresh(n, template_dir, tmp_path, "clean")
    _verify(path)
    with SqliteAuditStore(path, create=False) as store:
        log = AuditLog(store)
        checkpoints = log.checkpoints()
        report = log.verify(VERIFIER, trusted=checkpoints[-1])
        assert report.entries == n
        assert report.unanchored_entries == 0
        log.verify(VERIFIER, trusted=checkpoints[0])
        for index in range(n):
            proof = log.prove(index)
            assert proof.tree_size == n


def test_matrix_size() -> None:
    """The figure for the report: how many tampered logs the matrix builds."""
    per_position = sum(
        len(positions(n)) for _, positions in POSITION_CLASSES.values() for n in SIZES
    )
    per_log = len(SIZES) * (len(CHECKPOINT_CLASSES) + 2) + len([n for n in SIZES if n > 1])
    assert per_position + per_log > 1_500
