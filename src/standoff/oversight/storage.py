"""The audit log's storage port: what a store must do, and an in-memory store.

The log logic (:mod:`standoff.oversight.audit`) talks only to :class:`AuditStore`; the
SQLite implementation lives in :mod:`standoff.store.sqlite_audit` (``store`` may import
``oversight``, never the reverse).  A store is dumb on purpose: it keeps bytes and hashes in
order and hands them back; every check is re-derived by the log.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from standoff.core.errors import StorageError
from standoff.oversight.merkle import NodeId

__all__ = ["AuditStore", "MemoryAuditStore", "StoredCheckpoint", "StoredEntry"]


class StoredEntry(NamedTuple):
    """One log entry as stored: canonical JSON bytes and their two hashes.

    A named tuple (not a dataclass): the append path builds one per entry, and a store can
    hand the tuple ``(index, entry, leaf_sha256, entry_sha256)`` straight to its driver.
    """

    index: int  # type: ignore[assignment]  # shadows tuple.index on purpose: the field name is the API
    entry: bytes
    leaf_sha256: bytes
    """RFC 9162 leaf hash, SHA-256(0x00 || entry)."""
    entry_sha256: bytes
    """Chain hash, SHA-256(entry); the next entry carries it as ``prev_entry_sha256_hex``."""


@dataclass(frozen=True)
class StoredCheckpoint:
    position: int
    """Order in which checkpoints were stored (0 = first)."""
    tree_size: int
    note: str
    """The signed note exactly as produced (see :mod:`standoff.oversight.checkpoint`)."""


class AuditStore(Protocol):
    """Append-only storage of entries, perfect-subtree hashes and checkpoint notes."""

    def size(self) -> int:
        """One more than the highest stored entry index (0 when empty)."""
        ...

    def append(
        self,
        entries: Sequence[StoredEntry],
        nodes: Sequence[tuple[NodeId, bytes]],
        *,
        expected_size: int,
    ) -> None:
        """Store entries and interior nodes (level >= 1) atomically.

        Raises :class:`StorageError` if the store does not hold exactly
        ``expected_size`` entries first (another writer got in).
        """
        ...

    def iter_entries(self, start: int = 0) -> Iterator[StoredEntry]:
        """Entries with index >= ``start`` in index order (gaps are the caller's problem)."""
        ...

    def entry_at(self, index: int) -> StoredEntry | None: ...

    def get_nodes(self, ids: Sequence[NodeId]) -> list[bytes | None]:
        """Node hashes; level 0 are the entries' leaf hashes."""
        ...

    def add_checkpoint(self, tree_size: int, note: str) -> None: ...

    def checkpoints(self) -> list[StoredCheckpoint]:
        """All checkpoints in the order they were stored."""
        ...


class MemoryAuditStore:
    """An :class:`AuditStore` in a few dicts: offline bundles, tests, small tools."""

    def __init__(self) -> None:
        self._entries: dict[int, StoredEntry] = {}
        self._nodes: dict[NodeId, bytes] = {}
        self._checkpoints: list[StoredCheckpoint] = []

    def size(self) -> int:
        return max(self._entries) + 1 if self._entries else 0

    def append(
        self,
        entries: Sequence[StoredEntry],
        nodes: Sequence[tuple[NodeId, bytes]],
        *,
        expected_size: int,
    ) -> None:
        if self.size() != expected_size:
            raise StorageError(
                f"store holds {self.size()} entries, writer expected {expected_size}"
            )
        for i, entry in enumerate(entries):
            if entry.index != expected_size + i:
                raise StorageError(f"entry index {entry.index} out of sequence")
        self._entries.update((e.index, e) for e in entries)
        self._nodes.update((node, h) for node, h in nodes if node.level > 0)

    def iter_entries(self, start: int = 0) -> Iterator[StoredEntry]:
        for index in sorted(i for i in self._entries if i >= start):
            yield self._entries[index]

    def entry_at(self, index: int) -> StoredEntry | None:
        return self._entries.get(index)

    def get_nodes(self, ids: Sequence[NodeId]) -> list[bytes | None]:
        out: list[bytes | None] = []
        for node in ids:
            if node.level == 0:
                entry = self._entries.get(node.offset)
                out.append(entry.leaf_sha256 if entry else None)
            else:
                out.append(self._nodes.get(node))
        return out

    def add_checkpoint(self, tree_size: int, note: str) -> None:
        self._checkpoints.append(StoredCheckpoint(len(self._checkpoints), tree_size, note))

    def checkpoints(self) -> list[StoredCheckpoint]:
        return list(self._checkpoints)
