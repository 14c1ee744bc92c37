"""SQLite implementation of the audit log's storage port, and the CLI-facing functions.

WAL journal, ``synchronous=FULL`` (a commit survives power loss), one writer: every append
is one ``BEGIN IMMEDIATE`` transaction that first checks nobody else appended.  Tables (all
prefixed ``audit_`` so they can share a database file with other stores)::

    audit_entries(idx PK, entry BLOB, leaf_sha256 BLOB, entry_sha256 BLOB)
    audit_nodes(level, node_offset, hash, PK(level, node_offset)) WITHOUT ROWID   -- level >= 1
    audit_checkpoints(position PK, tree_size, note)
    audit_meta(key PK, value)                                            -- schema version

Level-0 tree nodes are the entries' leaf hashes; interior perfect-subtree hashes are
written as they complete, so proofs need O(log n) primary-key look-ups.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from standoff.core.errors import InputError, IntegrityError, StorageError
from standoff.oversight.audit import (
    DEFAULT_ORIGIN,
    AuditLog,
    ExportSummary,
    InclusionProofRecord,
    VerifyReport,
    verify_bundle,
    verify_store,
)
from standoff.oversight.checkpoint import Checkpoint, parse_checkpoint
from standoff.oversight.keys import keys_new, load_verifier
from standoff.oversight.merkle import NodeId
from standoff.oversight.storage import StoredCheckpoint, StoredEntry

__all__ = [
    "SCHEMA_VERSION",
    "SqliteAuditStore",
    "audit_export",
    "audit_prove",
    "audit_verify",
    "keys_new",
    "verify_bundle_file",
]

SCHEMA_VERSION = "1"
_PAGE_ROWS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_entries (
    idx INTEGER PRIMARY KEY,
    entry BLOB NOT NULL,
    leaf_sha256 BLOB NOT NULL,
    entry_sha256 BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_nodes (
    level INTEGER NOT NULL,
    node_offset INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, node_offset)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    position INTEGER PRIMARY KEY,
    tree_size INTEGER NOT NULL,
    note TEXT NOT NULL
);
"""


def _blob(value: object, idx: object) -> bytes:
    """A stored BLOB as bytes. Text put there by someone editing the database is read as
    UTF-8, so the verifier sees the altered bytes and names the tampering."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    raise IntegrityError(
        f"entry {idx}: a stored value is {type(value).__name__}, not bytes: altered"
    )


class SqliteAuditStore:
    """An :class:`~standoff.oversight.storage.AuditStore` in one SQLite file.

    Open it, hand it to :class:`~standoff.oversight.audit.AuditLog`, close it (or use it as
    a context manager).  Not thread-safe: one writer, one thread.
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self._path = str(path)
        if not create and not Path(self._path).is_file():
            raise InputError("no audit database here", source=self._path)
        try:
            self._conn = sqlite3.connect(self._path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open audit database {self._path}: {exc}") from exc
        try:
            self._conn.execute("PRAGMA busy_timeout = 5000")
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal" and self._path != ":memory:":
                raise StorageError(f"audit database {self._path} refused WAL mode ({mode})")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.executescript(_SCHEMA)
            row = self._conn.execute(
                "SELECT value FROM audit_meta WHERE key = 'schema_version'"
            ).fetchone()
            if row is None:
                self._conn.execute(
                    "INSERT INTO audit_meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,)
                )
            elif row[0] != SCHEMA_VERSION:
                raise StorageError(
                    f"audit schema version {row[0]} in {self._path}, this "
                    f"code needs {SCHEMA_VERSION}"
                )
        except sqlite3.Error as exc:
            self._conn.close()
            raise StorageError(f"cannot prepare audit database {self._path}: {exc}") from exc
        except StorageError:
            self._conn.close()
            raise

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SqliteAuditStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"audit database {self._path}: {exc}") from exc

    # -- the port ----------------------------------------------------------------------

    def size(self) -> int:
        row = self._query("SELECT MAX(idx) FROM audit_entries")[0]
        return 0 if row[0] is None else int(row[0]) + 1

    def append(
        self,
        entries: Sequence[StoredEntry],
        nodes: Sequence[tuple[NodeId, bytes]],
        *,
        expected_size: int,
    ) -> None:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT MAX(idx) FROM audit_entries").fetchone()
                actual = 0 if row[0] is None else int(row[0]) + 1
                if actual != expected_size:
                    raise StorageError(
                        f"audit database {self._path} holds {actual} entries, the writer "
                        f"expected {expected_size}: another writer appended; reopen the log"
                    )
                # StoredEntry is the tuple (idx, entry, leaf_sha256, entry_sha256).
                conn.executemany(
                    "INSERT INTO audit_entries (idx, entry, leaf_sha256, entry_sha256) "
                    "VALUES (?, ?, ?, ?)",
                    entries,
                )
                conn.executemany(
                    "INSERT INTO audit_nodes (level, node_offset, hash) VALUES (?, ?, ?)",
                    [(n[0], n[1], h) for n, h in nodes if n[0] > 0],
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageError(f"audit append to {self._path} failed: {exc}") from exc

    def iter_entries(self, start: int = 0) -> Iterator[StoredEntry]:
        next_idx = start
        while True:
            rows = self._query(
                "SELECT idx, entry, leaf_sha256, entry_sha256 FROM audit_entries "
                "WHERE idx >= ? ORDER BY idx LIMIT ?",
                (next_idx, _PAGE_ROWS),
            )
            for idx, entry, leaf, chain in rows:
                yield StoredEntry(int(idx), _blob(entry, idx), _blob(leaf, idx), _blob(chain, idx))
            if len(rows) < _PAGE_ROWS:
                return
            next_idx = int(rows[-1][0]) + 1

    def entry_at(self, index: int) -> StoredEntry | None:
        rows = self._query(
            "SELECT idx, entry, leaf_sha256, entry_sha256 FROM audit_entries WHERE idx = ?",
            (index,),
        )
        if not rows:
            return None
        idx, entry, leaf, chain = rows[0]
        return StoredEntry(int(idx), _blob(entry, idx), _blob(leaf, idx), _blob(chain, idx))

    def get_nodes(self, ids: Sequence[NodeId]) -> list[bytes | None]:
        # A proof needs ~2 log2(n) nodes: one primary-key look-up each (a single batched
        # query measured slower: the row-value join costs more than the B-tree descents).
        out: list[bytes | None] = []
        try:
            cur = self._conn.cursor()
            for node in ids:
                if node.level == 0:
                    row = cur.execute(
                        "SELECT leaf_sha256 FROM audit_entries WHERE idx = ?", (node.offset,)
                    ).fetchone()
                else:
                    row = cur.execute(
                        "SELECT hash FROM audit_nodes WHERE level = ? AND node_offset = ?",
                        (node.level, node.offset),
                    ).fetchone()
                out.append(None if row is None else bytes(row[0]))
        except sqlite3.Error as exc:
            raise StorageError(f"audit database {self._path}: {exc}") from exc
        return out

    def add_checkpoint(self, tree_size: int, note: str) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    "INSERT INTO audit_checkpoints (position, tree_size, note) VALUES ("
                    "(SELECT COALESCE(MAX(position) + 1, 0) FROM audit_checkpoints), ?, ?)",
                    (tree_size, note),
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageError(f"storing a checkpoint in {self._path} failed: {exc}") from exc

    def checkpoints(self) -> list[StoredCheckpoint]:
        rows = self._query(
            "SELECT position, tree_size, note FROM audit_checkpoints ORDER BY position"
        )
        return [StoredCheckpoint(int(p), int(s), str(n)) for p, s, n in rows]


# --------------------------------------------------------------------------- CLI functions


@dataclass(frozen=True)
class _Opened:
    store: SqliteAuditStore
    log: AuditLog


def _open(db_path: str | Path, origin: str) -> _Opened:
    store = SqliteAuditStore(db_path, create=False)
    try:
        return _Opened(store, AuditLog(store, origin=origin))
    except BaseException:
        store.close()
        raise


def _read_trusted(path: str | Path | None) -> Checkpoint | None:
    if path is None:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("cannot read the trusted checkpoint", source=str(path)) from exc
    return parse_checkpoint(text)


def audit_verify(
    db_path: str | Path,
    public_key_path: str | Path,
    *,
    trusted_checkpoint_path: str | Path | None = None,
    origin: str = DEFAULT_ORIGIN,
) -> VerifyReport:
    """Verify the whole log in ``db_path``; :class:`IntegrityError` names any tampering."""
    verifier = load_verifier(public_key_path)
    trusted = _read_trusted(trusted_checkpoint_path)
    # No writer here: a tampered store must reach the verifier, not fail to open a log.
    with SqliteAuditStore(db_path, create=False) as store:
        return verify_store(store, verifier, origin=origin, trusted=trusted)


def audit_prove(
    db_path: str | Path, index: int, *, origin: str = DEFAULT_ORIGIN
) -> InclusionProofRecord:
    """Inclusion proof of entry ``index`` against the latest checkpoint (``.to_json()``)."""
    opened = _open(db_path, origin)
    try:
        return opened.log.prove(index)
    finally:
        opened.store.close()


def audit_export(
    db_path: str | Path,
    out_path: str | Path,
    key_path: str | Path,
    *,
    indices: Sequence[int] | None = None,
    origin: str = DEFAULT_ORIGIN,
) -> ExportSummary:
    """Write the offline bundle; ``key_path`` may be the public or the private key PEM."""
    verifier = load_verifier(key_path)
    opened = _open(db_path, origin)
    try:
        return opened.log.export(out_path, verifier, indices=indices)
    finally:
        opened.store.close()


def verify_bundle_file(bundle_path: str | Path, public_key_path: str | Path) -> VerifyReport:
    """Verify an exported bundle offline with only the bundle and the public key."""
    return verify_bundle(bundle_path, load_verifier(public_key_path))
