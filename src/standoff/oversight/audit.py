"""The append-only, tamper-evident audit log.

Two layers over the same entries (reliability-and-oversight.md §2.2):

* a **hash chain**: entry ``i`` carries ``prev_entry_sha256_hex`` = SHA-256 of entry
  ``i-1`` (64 zeros for the first), and its own ``seq`` = ``i``;
* an **RFC 9162 Merkle tree** over the entries with **signed checkpoints** (C2SP
  tlog-checkpoint notes, Ed25519), so truncation, rollback, rewrites and forks are
  caught by anyone holding a checkpoint and the public key.

Entries are RFC 8785 canonical JSON of ``who``, ``action``, ``at_utc`` (given by the
caller; nothing here reads a clock), ``objects_sha256_hex`` (digests, never content) and
``details``.  :meth:`AuditLog.verify` re-derives everything from the entry bytes and raises
:class:`~standoff.core.errors.IntegrityError` whose message names the class of tampering
(changed, deleted, reordered, inserted, duplicated, truncated, rewritten, altered
checkpoint, rollback, fork, bad / missing signature, wrong key) and the entry index.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import json.encoder
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from standoff.core.errors import InputError, IntegrityError
from standoff.oversight._utc import format_utc
from standoff.oversight.canonical import (
    JSON_INT_LIMIT,
    check_json,
    dumps_checked,
    encode_fast,
    parse_canonical_json,
)
from standoff.oversight.checkpoint import (
    Checkpoint,
    parse_checkpoint,
    sign_checkpoint,
    verify_checkpoint,
)
from standoff.oversight.keys import Signer, Verifier
from standoff.oversight.merkle import (
    CompactRange,
    NodeId,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from standoff.oversight.storage import AuditStore, MemoryAuditStore, StoredEntry

__all__ = [
    "BUNDLE_FORMAT",
    "DEFAULT_ORIGIN",
    "GENESIS_SHA256",
    "AuditBatchReceipt",
    "AuditEvent",
    "AuditLog",
    "AuditReceipt",
    "ConsistencyProofRecord",
    "ExportSummary",
    "InclusionProofRecord",
    "VerifyReport",
    "verify_bundle",
    "verify_inclusion_record",
    "verify_store",
]

DEFAULT_ORIGIN = "standoff/audit"
GENESIS_SHA256 = bytes(32)
"""``prev_entry_sha256_hex`` of the first entry: 64 zeros."""
BUNDLE_FORMAT = "standoff.audit-bundle/1"
ENTRY_VERSION = 1
_ENTRY_KEYS = frozenset(
    {
        "v",
        "seq",
        "prev_entry_sha256_hex",
        "who",
        "action",
        "at_utc",
        "objects_sha256_hex",
        "details",
    }
)
_NODE_CHECK_BATCH = 4096
_MAX_LABEL_CHARS = 200
_LABELS_OK: set[str] = set()
"""Labels (``who``, ``action``, object names) already checked; bounded."""
_LABELS_CACHE_MAX = 4096
_encode_string: Callable[[str], str] = json.encoder.encode_basestring
"""JSON string literal with the escapes JCS prescribes (UTF-8 kept, not \\u-escaped)."""
# The entry's top-level keys in RFC 8785 order (all ASCII: plain sort).
_ENTRY_TEMPLATE = (
    '{"action":%s,"at_utc":"%s","details":%s,"objects_sha256_hex":%s,'
    '"prev_entry_sha256_hex":"%s","seq":%d,"v":' + str(ENTRY_VERSION) + ',"who":%s}'
)


@dataclass(frozen=True)
class AuditEvent:
    """What happened, as the caller states it; becomes one log entry."""

    who: str
    action: str
    at_utc: datetime
    objects_sha256_hex: Mapping[str, str] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditReceipt:
    index: int
    entry_sha256_hex: str
    leaf_sha256_hex: str


@dataclass(frozen=True)
class AuditBatchReceipt:
    first_index: int
    count: int
    last_entry_sha256_hex: str
    """Chain hash after the batch (of the entry before it if the batch was empty)."""


@dataclass(frozen=True)
class VerifyReport:
    """What :meth:`AuditLog.verify` / :func:`verify_bundle` checked; all of it held."""

    origin: str
    entries: int
    checkpoints: int
    latest_tree_size: int
    latest_root_sha256_hex: str | None
    key_id_hex: str
    unanchored_entries: int
    """Entries after the latest checkpoint: chained, but not yet signed for."""
    inclusion_proofs_checked: int = 0
    consistency_proofs_checked: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "origin": self.origin,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "latest_tree_size": self.latest_tree_size,
            "latest_root_sha256_hex": self.latest_root_sha256_hex,
            "key_id_hex": self.key_id_hex,
            "unanchored_entries": self.unanchored_entries,
            "inclusion_proofs_checked": self.inclusion_proofs_checked,
            "consistency_proofs_checked": self.consistency_proofs_checked,
        }


@dataclass(frozen=True)
class InclusionProofRecord:
    """An entry, its RFC 9162 audit path and the signed checkpoint it is proved against."""

    index: int
    tree_size: int
    entry: str
    """The canonical JSON entry (UTF-8 text)."""
    leaf_sha256_hex: str
    proof_sha256_hex: tuple[str, ...]
    root_sha256_hex: str
    checkpoint_note: str

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "tree_size": self.tree_size,
            "entry": self.entry,
            "leaf_sha256_hex": self.leaf_sha256_hex,
            "proof_sha256_hex": list(self.proof_sha256_hex),
            "root_sha256_hex": self.root_sha256_hex,
            "checkpoint_note": self.checkpoint_note,
        }


@dataclass(frozen=True)
class ConsistencyProofRecord:
    size1: int
    size2: int
    root1_sha256_hex: str
    root2_sha256_hex: str
    proof_sha256_hex: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "size1": self.size1,
            "size2": self.size2,
            "root1_sha256_hex": self.root1_sha256_hex,
            "root2_sha256_hex": self.root2_sha256_hex,
            "proof_sha256_hex": list(self.proof_sha256_hex),
        }


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    entries: int
    checkpoints: int
    inclusion_proofs: int
    consistency_proofs: int
    latest_tree_size: int


# --------------------------------------------------------------------------- entries


def _check_label(value: object, name: str) -> str:
    if type(value) is str and value in _LABELS_OK:
        return value
    if not isinstance(value, str) or not value or len(value) > _MAX_LABEL_CHARS:
        raise InputError(
            f"{name} must be a non-empty string of at most {_MAX_LABEL_CHARS} characters",
            field=name,
            value=value,
        )
    if not value.isprintable():
        raise InputError(f"{name} contains control characters", field=name, value=value)
    if type(value) is str and len(_LABELS_OK) < _LABELS_CACHE_MAX:
        _LABELS_OK.add(value)  # labels repeat (who, action, object names): check each once
    return value


def _is_sha256_hex(value: object) -> bool:
    # A round trip through bytes (C) measured faster than a regex; it refuses upper case,
    # whitespace (fromhex skips it, so the text changes) and any non-hex character.
    if type(value) is not str or len(value) != 64:
        return False
    try:
        return bytes.fromhex(value).hex() == value
    except ValueError:
        return False


def _encode_objects(objects: Mapping[str, str]) -> str:
    """JCS text of checked ``objects_sha256_hex`` (ASCII names, hex digests)."""
    if len(objects) == 1:  # the usual case: one object
        for name, digest in objects.items():
            return '{%s:"%s"}' % (_encode_string(name), digest)  # noqa: UP031
    return encode_fast(objects if type(objects) is dict else dict(objects))


def _entry_bytes(event: AuditEvent, seq: int, prev: bytes) -> bytes:
    """The canonical (RFC 8785) bytes of one entry.

    The hot path writes the fixed top-level keys from a template (they are ASCII and their
    JCS order is known) and encodes only ``details`` and ``objects_sha256_hex`` with the C
    encoder; values that need the reference implementation (floats, non-ASCII keys, other
    mapping types) take the general path.  Both give identical bytes (tested).
    """
    objects = event.objects_sha256_hex
    if not isinstance(objects, Mapping):
        raise InputError(
            "objects_sha256_hex must be a mapping", field="objects_sha256_hex", value=objects
        )
    slow = False
    for name, digest in objects.items():
        _check_label(name, "objects_sha256_hex key")
        if not name.isascii():
            slow = True
        if not _is_sha256_hex(digest):
            raise InputError(
                "object digest must be 64 lowercase hex characters",
                field=f"objects_sha256_hex.{name}",
                value=digest,
            )
    details = event.details
    if type(details) is not dict and not isinstance(details, Mapping):
        raise InputError("details must be a mapping", field="details", value=details)
    if check_json(details, "$.details"):
        slow = True
    who = _check_label(event.who, "who")
    action = _check_label(event.action, "action")
    at_utc = format_utc(event.at_utc)
    if type(seq) is not int or not 0 <= seq <= JSON_INT_LIMIT:
        raise InputError("seq out of range", field="seq", value=seq)
    if slow or type(details) is not dict:
        body = {
            "v": ENTRY_VERSION,
            "seq": seq,
            "prev_entry_sha256_hex": prev.hex(),
            "who": who,
            "action": action,
            "at_utc": at_utc,
            "objects_sha256_hex": objects if type(objects) is dict else dict(objects),
            "details": details if type(details) is dict else dict(details),
        }
        return dumps_checked(body, slow=slow)
    return (
        _ENTRY_TEMPLATE
        % (
            _encode_string(action),
            at_utc,
            encode_fast(details),
            _encode_objects(objects),
            prev.hex(),
            seq,
            _encode_string(who),
        )
    ).encode("utf-8")


def _stored(index: int, entry: bytes) -> StoredEntry:
    return StoredEntry(index, entry, leaf_hash(entry), hashlib.sha256(entry).digest())


def _decode_entry(entry: bytes) -> dict[str, Any] | None:
    """The entry's fields if it is canonical JSON of the right shape, else ``None``."""
    try:
        value = parse_canonical_json(entry)
    except ValueError:
        return None
    if not isinstance(value, dict) or set(value) != _ENTRY_KEYS:
        return None
    if value["v"] != ENTRY_VERSION or type(value["seq"]) is not int or value["seq"] < 0:
        return None
    if not _is_sha256_hex(value["prev_entry_sha256_hex"]):
        return None
    return value


# --------------------------------------------------------------------------- the log


class AuditLog:
    """The single writer and the verifier of one audit log held in an :class:`AuditStore`.

    Open one ``AuditLog`` per store and write through it only: it keeps the right edge of
    the Merkle tree and the last chain hash in memory, and the store refuses an append if
    somebody else appended in between.
    """

    def __init__(self, store: AuditStore, *, origin: str = DEFAULT_ORIGIN) -> None:
        self._store = store
        self._origin = origin
        size = store.size()
        self._compact = CompactRange.restore(size, store)
        last = store.entry_at(size - 1) if size else None
        if size and last is None:
            raise IntegrityError(f"deleted entry: the last entry (index {size - 1}) is missing")
        self._prev = last.entry_sha256 if last is not None else GENESIS_SHA256
        self._last_leaf = last.leaf_sha256 if last is not None else b""

    @property
    def origin(self) -> str:
        return self._origin

    def entries(self, start: int = 0) -> Iterator[StoredEntry]:
        """The stored entries from ``start`` on, in order (read them; verify with
        :meth:`verify`)."""
        return self._store.iter_entries(start)

    @property
    def size(self) -> int:
        return self._compact.size

    def root_sha256(self) -> bytes:
        """Merkle root over all entries written so far."""
        return self._compact.root()

    def append(self, event: AuditEvent) -> AuditReceipt:
        """Append one event in its own transaction (durable when this returns)."""
        self.append_batch([event])
        return AuditReceipt(self.size - 1, self._prev.hex(), self._last_leaf.hex())

    def append_batch(self, events: Iterable[AuditEvent]) -> AuditBatchReceipt:
        """Append events in one transaction; all or nothing.

        Entry ``k`` of the batch gets index ``first_index + k``.
        """
        start = index = self._compact.size
        prev = self._prev
        sha256 = hashlib.sha256
        entry_bytes = _entry_bytes
        entries: list[StoredEntry] = []
        add = entries.append
        for event in events:
            entry = entry_bytes(event, index, prev)
            chain = sha256(entry).digest()
            add(StoredEntry(index, entry, sha256(b"\x00" + entry).digest(), chain))
            prev = chain
            index += 1
        if not entries:
            return AuditBatchReceipt(start, 0, prev.hex())
        compact = self._compact.copy()
        nodes = compact.extend([e.leaf_sha256 for e in entries])
        self._store.append(entries, nodes, expected_size=start)
        self._compact = compact
        self._prev = prev
        self._last_leaf = entries[-1].leaf_sha256
        return AuditBatchReceipt(start, len(entries), prev.hex())

    def checkpoint(self, signer: Signer, at_utc: datetime) -> Checkpoint:
        """Sign and store a checkpoint over every entry written so far.

        ``at_utc`` comes from the caller's clock and must not go back in time: verifiers
        read a checkpoint older than its predecessor as a replayed (rolled back) one.
        """
        format_utc(at_utc)  # aware UTC or InputError, before comparing
        latest = self.latest_checkpoint()
        if latest is not None and at_utc < latest.at_utc:
            raise InputError(
                f"checkpoint time goes backwards (latest is {format_utc(latest.at_utc)})",
                field="at_utc",
                value=at_utc,
            )
        checkpoint = sign_checkpoint(
            self._origin, self._compact.size, self._compact.root(), at_utc, signer
        )
        self._store.add_checkpoint(checkpoint.tree_size, checkpoint.note())
        return checkpoint

    def checkpoints(self) -> list[Checkpoint]:
        """Stored checkpoints, parsed (not verified: use :meth:`verify`)."""
        return [parse_checkpoint(c.note) for c in self._store.checkpoints()]

    def latest_checkpoint(self) -> Checkpoint | None:
        stored = self._store.checkpoints()
        return parse_checkpoint(stored[-1].note) if stored else None

    def prove(self, index: int, *, checkpoint: Checkpoint | None = None) -> InclusionProofRecord:
        """Inclusion proof of entry ``index`` against ``checkpoint`` (default: the latest)."""
        target = checkpoint if checkpoint is not None else self.latest_checkpoint()
        if target is None:
            raise InputError(
                "no checkpoint yet: sign one before asking for proofs", field="index", value=index
            )
        if not isinstance(index, int) or not 0 <= index < target.tree_size:
            raise InputError(
                f"entry index must be in [0, {target.tree_size}) (the latest checkpoint's size)",
                field="index",
                value=index,
            )
        stored = self._store.entry_at(index)
        if stored is None:
            raise IntegrityError(f"deleted entry: index {index} is missing from the store")
        proof = inclusion_proof(index, target.tree_size, self._store)
        return InclusionProofRecord(
            index=index,
            tree_size=target.tree_size,
            entry=stored.entry.decode("utf-8"),
            leaf_sha256_hex=stored.leaf_sha256.hex(),
            proof_sha256_hex=tuple(p.hex() for p in proof),
            root_sha256_hex=target.root_sha256_hex,
            checkpoint_note=target.note(),
        )

    def prove_consistency(self, old: Checkpoint, new: Checkpoint) -> ConsistencyProofRecord:
        """Proof that ``new``'s tree extends ``old``'s (append-only between them)."""
        if not 0 <= old.tree_size <= new.tree_size <= self.size:
            raise InputError(
                "need old.tree_size <= new.tree_size <= log size",
                field="tree_size",
                value=(old.tree_size, new.tree_size),
            )
        proof = consistency_proof(old.tree_size, new.tree_size, self._store)
        return ConsistencyProofRecord(
            old.tree_size,
            new.tree_size,
            old.root_sha256_hex,
            new.root_sha256_hex,
            tuple(p.hex() for p in proof),
        )

    def verify(self, verifier: Verifier, *, trusted: Checkpoint | None = None) -> VerifyReport:
        """Re-derive every hash, the chain, the tree and every checkpoint; raise on tampering.

        ``trusted`` is the newest checkpoint the caller saw before (an auditor's or
        partner's copy); without it, a log truncated together with its newest checkpoints
        cannot be told from an honest shorter log.
        """
        return verify_store(self._store, verifier, origin=self._origin, trusted=trusted)

    def export(
        self,
        path: str | Path,
        verifier: Verifier,
        *,
        indices: Sequence[int] | None = None,
    ) -> ExportSummary:
        """Write an offline bundle: entries, checkpoints, public key and proofs.

        Inclusion proofs are against the latest checkpoint, for ``indices`` (default: every
        entry it covers); consistency proofs link each checkpoint to the next.
        """
        stored_cps = self._store.checkpoints()
        checkpoints = [parse_checkpoint(c.note) for c in stored_cps]
        latest = checkpoints[-1] if checkpoints else None
        covered = latest.tree_size if latest is not None else 0
        wanted = range(covered) if indices is None else indices
        inclusion = []
        for index in wanted:
            record = self.prove(index, checkpoint=latest)
            inclusion.append(
                {
                    "index": record.index,
                    "tree_size": record.tree_size,
                    "proof_sha256_hex": list(record.proof_sha256_hex),
                }
            )
        consistency = []
        for old, new in itertools.pairwise(checkpoints):
            if old.tree_size <= new.tree_size:
                record_c = self.prove_consistency(old, new)
                consistency.append(
                    {
                        "size1": record_c.size1,
                        "size2": record_c.size2,
                        "proof_sha256_hex": list(record_c.proof_sha256_hex),
                    }
                )
        bundle = {
            "format": BUNDLE_FORMAT,
            "origin": self._origin,
            "public_key_pem": verifier.public_key_pem,
            "key_id_hex": verifier.key_id_hex,
            "entries": [e.entry.decode("utf-8") for e in self._store.iter_entries()],
            "checkpoints": [c.note for c in stored_cps],
            "inclusion_proofs": inclusion,
            "consistency_proofs": consistency,
        }
        out = Path(path)
        tmp = out.with_name(out.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(bundle, handle, ensure_ascii=False, indent=1)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(out)
        return ExportSummary(
            out, len(bundle["entries"]), len(checkpoints), len(inclusion), len(consistency), covered
        )


# --------------------------------------------------------------------------- verification


def _classify_seq(store: AuditStore, position: int, seq: int, entry: bytes) -> IntegrityError:
    """Name the tampering when the entry at ``position`` carries sequence number ``seq``."""
    if seq < position:
        other = store.entry_at(seq)
        if other is not None and other.entry == entry:
            return IntegrityError(f"duplicated entry at index {position}: a copy of entry {seq}")
        return IntegrityError(
            f"inserted entry: entries at index {seq} and {position} both claim seq {seq}; "
            "one of them was forged into the log"
        )
    following = store.entry_at(position + 1)
    fields = _decode_entry(following.entry) if following is not None else None
    if fields is not None and fields["seq"] == position:
        return IntegrityError(
            f"reordered entries at index {position} and {position + 1}: seq {seq} comes "
            f"before seq {position}"
        )
    return IntegrityError(
        f"deleted entries before index {position}: seq {position}..{seq - 1} are missing "
        "(or were moved later in the log)"
    )


def verify_store(
    store: AuditStore,
    verifier: Verifier,
    *,
    origin: str = DEFAULT_ORIGIN,
    trusted: Checkpoint | None = None,
) -> VerifyReport:
    """Verify a stored log without opening a writer (see :meth:`AuditLog.verify`)."""
    # 1. every stored checkpoint: well formed, ours, validly signed, untouched metadata.
    checkpoints: list[Checkpoint] = []
    for stored in store.checkpoints():
        label = f"checkpoint #{stored.position}"
        checkpoint = parse_checkpoint(stored.note)
        verify_checkpoint(checkpoint, verifier, label=label)
        if checkpoint.origin != origin:
            raise IntegrityError(
                f"foreign checkpoint: {label} is for log {checkpoint.origin!r}, not {origin!r}"
            )
        if stored.tree_size != checkpoint.tree_size:
            raise IntegrityError(
                f"altered checkpoint: {label} is stored with tree_size {stored.tree_size} but "
                f"its signed note says {checkpoint.tree_size}"
            )
        checkpoints.append(checkpoint)
    if trusted is not None:
        verify_checkpoint(trusted, verifier, label="the trusted checkpoint")
        if trusted.origin != origin:
            raise IntegrityError(
                f"foreign checkpoint: the trusted checkpoint is for log {trusted.origin!r}, "
                f"not {origin!r}"
            )

    # 2. the sequence of checkpoints: no fork, no rollback.
    roots_by_size: dict[int, bytes] = {}
    labelled = [(f"checkpoint #{k}", c) for k, c in enumerate(checkpoints)]
    if trusted is not None:
        labelled.append(("the trusted checkpoint", trusted))
    for label, checkpoint in labelled:
        seen = roots_by_size.setdefault(checkpoint.tree_size, checkpoint.root_sha256)
        if seen != checkpoint.root_sha256:
            raise IntegrityError(
                f"fork (equivocation): two different roots at size {checkpoint.tree_size} "
                f"({seen.hex()} and {checkpoint.root_sha256_hex}, the latter in {label})"
            )
    for k in range(1, len(checkpoints)):
        before, after = checkpoints[k - 1], checkpoints[k]
        if after.tree_size < before.tree_size or after.at_utc < before.at_utc:
            raise IntegrityError(
                f"rollback: checkpoint #{k} (size {after.tree_size}, {format_utc(after.at_utc)})"
                f" follows checkpoint #{k - 1} (size {before.tree_size}, "
                f"{format_utc(before.at_utc)}): an older checkpoint was replayed"
            )
    latest = checkpoints[-1] if checkpoints else None
    if trusted is not None and (latest is None or latest.tree_size < trusted.tree_size):
        have = latest.tree_size if latest is not None else 0
        raise IntegrityError(
            f"rollback: the log's latest checkpoint (size {have}) is older than the trusted "
            f"checkpoint (size {trusted.tree_size})"
        )

    # 3. one pass over the entries: index, hashes, shape, seq, chain, roots at checkpoints.
    compact = CompactRange()
    prev = GENESIS_SHA256
    first_bad_node: str | None = None
    pending_nodes: list[tuple[NodeId, bytes]] = []

    first_bad_root: str | None = None

    def check_root() -> str | None:
        # Recorded, raised after the pass: a later, more specific finding (a broken chain
        # right after a changed entry) names the tampering better.
        size = compact.size
        expected = roots_by_size.get(size)
        if expected is not None and compact.root() != expected:
            return (
                f"rewritten log: the first {size} entries no longer match the signed root "
                f"at size {size} (entries changed, inserted, removed or replaced after "
                "signing)"
            )
        return None

    def flush_nodes() -> str | None:
        stored_hashes = store.get_nodes([n for n, _ in pending_nodes])
        for (node, h), got in zip(pending_nodes, stored_hashes, strict=True):
            if got != h:
                return (
                    f"corrupted tree node {tuple(node)}: the stored hash does not match the "
                    "one re-derived from the entries"
                )
        return None

    first_bad_root = check_root()
    for position, stored_entry in enumerate(store.iter_entries()):
        if stored_entry.index != position:
            raise IntegrityError(
                f"deleted entry: index {position} is missing (the next stored index is "
                f"{stored_entry.index})"
            )
        entry = stored_entry.entry
        leaf = leaf_hash(entry)
        entry_sha = hashlib.sha256(entry).digest()
        if leaf != stored_entry.leaf_sha256 or entry_sha != stored_entry.entry_sha256:
            raise IntegrityError(
                f"changed entry at index {position}: its bytes do not match the stored hashes"
            )
        fields = _decode_entry(entry)
        if fields is None:
            raise IntegrityError(f"changed entry at index {position}: not a canonical audit entry")
        if fields["seq"] != position:
            raise _classify_seq(store, position, fields["seq"], entry)
        if fields["prev_entry_sha256_hex"] != prev.hex():
            raise IntegrityError(
                f"broken hash chain at index {position}: entry {position - 1} was changed, or "
                "entries were inserted or removed before it"
            )
        prev = entry_sha
        new_nodes = compact.append(leaf)
        pending_nodes.extend(n for n in new_nodes if n[0].level > 0)
        if len(pending_nodes) >= _NODE_CHECK_BATCH:
            first_bad_node = first_bad_node or flush_nodes()
            pending_nodes = []
        first_bad_root = first_bad_root or check_root()
    if pending_nodes:
        first_bad_node = first_bad_node or flush_nodes()

    if first_bad_root is not None:
        raise IntegrityError(first_bad_root)
    # 4. checkpoints beyond the end of the log: it was truncated.
    size = compact.size
    for label, checkpoint in labelled:
        if checkpoint.tree_size > size:
            raise IntegrityError(
                f"truncated log: {label} commits to {checkpoint.tree_size} entries but the log "
                f"has {size} (entries from index {size} on were removed)"
            )
    if store.size() != size:
        raise IntegrityError(
            f"deleted entry: the store reports size {store.size()} but "
            f"holds {size} contiguous entries"
        )
    # 5. stored interior nodes (they serve proofs) must match the entries.
    if first_bad_node is not None:
        raise IntegrityError(first_bad_node)
    return VerifyReport(
        origin=origin,
        entries=size,
        checkpoints=len(checkpoints),
        latest_tree_size=latest.tree_size if latest is not None else 0,
        latest_root_sha256_hex=latest.root_sha256_hex if latest is not None else None,
        key_id_hex=verifier.key_id_hex,
        unanchored_entries=size - (latest.tree_size if latest is not None else 0),
    )


def verify_inclusion_record(record: InclusionProofRecord, verifier: Verifier) -> None:
    """Check one exported proof offline: signed checkpoint, root, leaf and path."""
    checkpoint = parse_checkpoint(record.checkpoint_note)
    verify_checkpoint(checkpoint, verifier, label="the proof's checkpoint")
    if (
        checkpoint.tree_size != record.tree_size
        or checkpoint.root_sha256_hex != record.root_sha256_hex
    ):
        raise IntegrityError("proof record does not match its signed checkpoint")
    leaf = leaf_hash(record.entry.encode("utf-8"))
    if leaf.hex() != record.leaf_sha256_hex:
        raise IntegrityError(f"changed entry at index {record.index}: leaf hash mismatch")
    verify_inclusion(
        leaf,
        record.index,
        record.tree_size,
        [_unhex(p) for p in record.proof_sha256_hex],
        checkpoint.root_sha256,
    )


def _unhex(text: object) -> bytes:
    if not isinstance(text, str):
        raise IntegrityError("malformed bundle: hash is not a string")
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise IntegrityError("malformed bundle: hash is not hex") from exc


def _bundle_list(bundle: Mapping[str, Any], key: str) -> list[Any]:
    value = bundle.get(key)
    if not isinstance(value, list):
        raise IntegrityError(f"malformed bundle: {key!r} is not a list")
    return value


def verify_bundle(path: str | Path, verifier: Verifier) -> VerifyReport:
    """Verify an exported bundle with nothing but the bundle and the public key."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read bundle: {exc.strerror}", source=str(path)) from exc
    try:
        bundle = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise IntegrityError(f"malformed bundle {path}: not JSON") from exc
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise IntegrityError(f"malformed bundle {path}: not a {BUNDLE_FORMAT} file")
    origin = bundle.get("origin")
    if not isinstance(origin, str):
        raise IntegrityError("malformed bundle: no origin")
    shipped_pem = bundle.get("public_key_pem")
    try:
        shipped = Verifier.from_pem(
            shipped_pem if isinstance(shipped_pem, str) else "",
            name=verifier.name,
            source="bundle public key",
        )
    except InputError as exc:
        raise IntegrityError("malformed bundle: no readable public key") from exc
    if shipped.public_key_raw != verifier.public_key_raw:
        raise IntegrityError(
            f"wrong key: the bundle was exported for key id {shipped.key_id_hex}, the verifier "
            f"holds {verifier.key_id_hex}"
        )

    store = MemoryAuditStore()
    compact = CompactRange()
    entries: list[StoredEntry] = []
    nodes: list[tuple[NodeId, bytes]] = []
    for index, text in enumerate(_bundle_list(bundle, "entries")):
        if not isinstance(text, str):
            raise IntegrityError(f"malformed bundle: entry {index} is not a string")
        stored = _stored(index, text.encode("utf-8"))
        entries.append(stored)
        nodes.extend(n for n in compact.append(stored.leaf_sha256) if n[0].level > 0)
    store.append(entries, nodes, expected_size=0)
    notes = _bundle_list(bundle, "checkpoints")
    for note in notes:
        if not isinstance(note, str):
            raise IntegrityError("malformed bundle: checkpoint is not a string")
        store.add_checkpoint(parse_checkpoint(note).tree_size, note)
    report = verify_store(store, verifier, origin=origin)

    checkpoints = [parse_checkpoint(n) for n in notes]
    latest = checkpoints[-1] if checkpoints else None
    n_inclusion = 0
    for item in _bundle_list(bundle, "inclusion_proofs"):
        if not isinstance(item, dict) or latest is None:
            raise IntegrityError("malformed bundle: inclusion proof without a checkpoint")
        proof_index, size = item.get("index"), item.get("tree_size")
        if (
            type(proof_index) is not int
            or size != latest.tree_size
            or not 0 <= proof_index < len(entries)
        ):
            raise IntegrityError("malformed bundle: inclusion proof index or size")
        verify_inclusion(
            entries[proof_index].leaf_sha256,
            proof_index,
            latest.tree_size,
            [_unhex(p) for p in _bundle_list(item, "proof_sha256_hex")],
            latest.root_sha256,
        )
        n_inclusion += 1
    n_consistency = 0
    by_size = {c.tree_size: c.root_sha256 for c in checkpoints}
    for item in _bundle_list(bundle, "consistency_proofs"):
        if not isinstance(item, dict):
            raise IntegrityError("malformed bundle: consistency proof")
        size1, size2 = item.get("size1"), item.get("size2")
        if (
            type(size1) is not int
            or type(size2) is not int
            or size1 not in by_size
            or size2 not in by_size
        ):
            raise IntegrityError("malformed bundle: consistency proof sizes match no checkpoint")
        verify_consistency(
            size1,
            size2,
            [_unhex(p) for p in _bundle_list(item, "proof_sha256_hex")],
            by_size[size1],
            by_size[size2],
        )
        n_consistency += 1
    if len(checkpoints) > 1 and n_consistency < len(checkpoints) - 1:
        raise IntegrityError(
            "incomplete bundle: a consistency proof between checkpoints is missing"
        )
    return VerifyReport(
        origin=report.origin,
        entries=report.entries,
        checkpoints=report.checkpoints,
        latest_tree_size=report.latest_tree_size,
        latest_root_sha256_hex=report.latest_root_sha256_hex,
        key_id_hex=report.key_id_hex,
        unanchored_entries=report.unanchored_entries,
        inclusion_proofs_checked=n_inclusion,
        consistency_proofs_checked=n_consistency,
    )
