"""RFC 9162 (RFC 6962) Merkle tree hashing, proofs and their verification.

Hashing (RFC 9162 §2.1.1): ``leaf = SHA-256(0x00 || entry)``,
``node = SHA-256(0x01 || left || right)``, the empty tree hashes to ``SHA-256("")``.

Storage model: every *perfect* subtree is stored once, as it completes, under its
:class:`NodeId` ``(level, offset)`` -- the hash of leaves
``[offset * 2**level, (offset + 1) * 2**level)``.  Level 0 holds the leaf hashes.  A
:class:`CompactRange` (the right edge of the tree: one perfect subtree root per set bit of
the size) makes appending O(1) amortised (on average one parent per leaf) and gives the
current root in O(log n) with no look-ups.  Any range that appears in an RFC proof starts
at a multiple of a power of two at least as large as the range, so its hash is the
right-fold of at most log2(n) stored perfect subtrees; proofs therefore need O(log n)
stored node look-ups, never a recompute of the tree.

Verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency), with the
edge cases of transparency-dev/merkle (``size1 == 0`` or ``size1 == size2`` need an empty
proof).  Every failure raises :class:`~standoff.core.errors.IntegrityError`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, Protocol

from standoff.core.errors import IntegrityError

__all__ = [
    "EMPTY_ROOT_SHA256",
    "HASH_SIZE_BYTES",
    "CompactRange",
    "MemoryNodeStore",
    "NodeId",
    "NodeReader",
    "consistency_proof",
    "consistency_proof_plan",
    "inclusion_proof",
    "inclusion_proof_plan",
    "leaf_hash",
    "merkle_root",
    "node_hash",
    "range_node_ids",
    "root_at",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE_BYTES = 32
EMPTY_ROOT_SHA256 = hashlib.sha256(b"").digest()
"""Root of the empty tree (RFC 9162 §2.1.1): ``e3b0c442...b855``."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class NodeId(NamedTuple):
    """A perfect subtree: the hash of leaves ``[offset * 2**level, (offset + 1) * 2**level)``."""

    level: int
    offset: int


class NodeReader(Protocol):
    """Where stored node hashes come from (a database, a dict, a bundle)."""

    def get_nodes(self, ids: Sequence[NodeId]) -> list[bytes | None]:
        """The hash of each requested node, ``None`` where it is not stored."""
        ...


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 leaf hash: ``SHA-256(0x00 || entry)``."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def merkle_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over a list of leaf hashes, computed from scratch (reference, O(n))."""
    if not leaf_hashes:
        return EMPTY_ROOT_SHA256
    compact = CompactRange()
    for h in leaf_hashes:
        compact.append(h)
    return compact.root()


class CompactRange:
    """The right edge of a growing tree: the roots of its perfect subtrees.

    ``append`` returns the nodes that became complete (the leaf itself and any parents),
    which is exactly what a store must persist.  The state is small (at most 64 hashes).
    """

    __slots__ = ("_frontier", "_size")

    def __init__(self) -> None:
        self._size = 0
        # _frontier[level] is the root of the right-edge perfect subtree of height
        # ``level``; present iff bit ``level`` of the size is set.
        self._frontier: dict[int, bytes] = {}

    @property
    def size(self) -> int:
        return self._size

    @staticmethod
    def frontier_ids(size: int) -> list[NodeId]:
        """Stored nodes that make up the compact range of a tree of ``size`` leaves."""
        ids: list[NodeId] = []
        for level in range(size.bit_length()):
            if size >> level & 1:
                ids.append(NodeId(level, (size >> level) - 1))
        return ids

    @classmethod
    def restore(cls, size: int, reader: NodeReader) -> CompactRange:
        """Rebuild the compact range of a stored tree from O(log n) node look-ups."""
        if size < 0:
            raise ValueError("size must be >= 0")
        ids = cls.frontier_ids(size)
        hashes = reader.get_nodes(ids)
        compact = cls()
        for node, h in zip(ids, hashes, strict=True):
            if h is None:
                raise IntegrityError(
                    f"missing tree node {tuple(node)} needed for size {size}: store truncated"
                )
            compact._frontier[node.level] = h
        compact._size = size
        return compact

    def copy(self) -> CompactRange:
        clone = CompactRange()
        clone._size = self._size
        clone._frontier = dict(self._frontier)
        return clone

    def append(self, leaf: bytes) -> list[tuple[NodeId, bytes]]:
        """Add one leaf hash; return the newly completed nodes (leaf first)."""
        index = self._size
        new_nodes = [(NodeId(0, index), leaf)]
        h = leaf
        level = 0
        frontier = self._frontier
        while index >> level & 1:
            h = node_hash(frontier.pop(level), h)
            level += 1
            new_nodes.append((NodeId(level, index >> level), h))
        frontier[level] = h
        self._size = index + 1
        return new_nodes

    def extend(self, leaves: Iterable[bytes]) -> list[tuple[NodeId, bytes]]:
        """Add many leaf hashes; return only the completed *interior* nodes (level >= 1)."""
        interior: list[tuple[NodeId, bytes]] = []
        frontier = self._frontier
        index = self._size
        sha256 = hashlib.sha256
        for leaf in leaves:
            h = leaf
            level = 0
            while index >> level & 1:
                h = sha256(_NODE_PREFIX + frontier.pop(level) + h).digest()
                level += 1
                interior.append((NodeId(level, index >> level), h))
            frontier[level] = h
            index += 1
            self._size = index
        return interior

    def root(self) -> bytes:
        """MTH of the current tree, folding the right edge from the smallest subtree up."""
        if self._size == 0:
            return EMPTY_ROOT_SHA256
        acc: bytes | None = None
        for level in sorted(self._frontier):
            h = self._frontier[level]
            acc = h if acc is None else node_hash(h, acc)
        assert acc is not None
        return acc


def range_node_ids(start: int, end: int) -> list[NodeId]:
    """Perfect subtrees covering ``[start, end)`` left to right (greedy, aligned)."""
    if not 0 <= start < end:
        raise ValueError(f"bad range [{start}, {end})")
    width = end - start
    if width & (width - 1) == 0 and start % width == 0:  # one perfect subtree (most ranges)
        level = width.bit_length() - 1
        return [NodeId(level, start >> level)]
    ids: list[NodeId] = []
    while start < end:
        remaining = end - start
        level = remaining.bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        ids.append(NodeId(level, start >> level))
        start += 1 << level
    return ids


def _fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its perfect subtrees (sizes decreasing left to right)."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_proof_plan(index: int, size: int) -> list[list[NodeId]]:
    """RFC 9162 PATH(index, D[0:size]) as node ranges, bottom-up (proof order)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} outside a tree of size {size}")
    items: list[list[NodeId]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if index < lo + k:
            items.append(range_node_ids(lo + k, hi))
            hi = lo + k
        else:
            items.append(range_node_ids(lo, lo + k))
            lo += k
    items.reverse()
    return items


def consistency_proof_plan(size1: int, size2: int) -> list[list[NodeId]]:
    """RFC 9162 PROOF(size1, D[0:size2]) as node ranges (empty if trivial)."""
    if not 0 <= size1 <= size2:
        raise ValueError(f"need 0 <= size1 <= size2, got {size1}, {size2}")
    if size1 in (0, size2):
        return []
    items: list[list[NodeId]] = []
    m, lo, hi, complete = size1, 0, size2, True
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                items.append(range_node_ids(lo, hi))
            break
        k = _largest_power_of_two_below(n)
        if m <= k:
            items.append(range_node_ids(lo + k, hi))
            hi = lo + k
        else:
            items.append(range_node_ids(lo, lo + k))
            lo += k
            m -= k
            complete = False
    items.reverse()
    return items


def _resolve(plan: Sequence[Sequence[NodeId]], reader: NodeReader) -> list[bytes]:
    wanted = [node for item in plan for node in item]
    if not wanted:
        return []
    hashes = reader.get_nodes(wanted)
    found: dict[NodeId, bytes] = {}
    for node, h in zip(wanted, hashes, strict=True):
        if h is None:
            raise IntegrityError(f"missing tree node {tuple(node)}: store truncated or corrupted")
        found[node] = h
    return [_fold([found[node] for node in item]) for item in plan]


def inclusion_proof(index: int, size: int, reader: NodeReader) -> list[bytes]:
    """Audit path for leaf ``index`` in the tree of the first ``size`` leaves."""
    return _resolve(inclusion_proof_plan(index, size), reader)


def consistency_proof(size1: int, size2: int, reader: NodeReader) -> list[bytes]:
    """Consistency proof from the tree of ``size1`` leaves to that of ``size2``."""
    return _resolve(consistency_proof_plan(size1, size2), reader)


def root_at(size: int, reader: NodeReader) -> bytes:
    """MTH of the first ``size`` leaves of a stored tree, from O(log n) look-ups."""
    if size == 0:
        return EMPTY_ROOT_SHA256
    return _resolve([range_node_ids(0, size)], reader)[0]


class MemoryNodeStore:
    """A dict-backed :class:`NodeReader` (tests, bundles, small trees)."""

    def __init__(self, nodes: Mapping[NodeId, bytes] | None = None) -> None:
        self._nodes: dict[NodeId, bytes] = dict(nodes or {})

    def put(self, nodes: Iterable[tuple[NodeId, bytes]]) -> None:
        self._nodes.update(nodes)

    def get_nodes(self, ids: Sequence[NodeId]) -> list[bytes | None]:
        return [self._nodes.get(node) for node in ids]


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE_BYTES:
        raise IntegrityError(f"{what} is {len(value)} bytes, want {HASH_SIZE_BYTES}")


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: raise :class:`IntegrityError` unless the proof holds."""
    _check_hash(leaf, "leaf hash")
    _check_hash(root, "root hash")
    if not 0 <= index < size:
        raise IntegrityError(f"inclusion: leaf index {index} outside a tree of size {size}")
    for i, p in enumerate(proof):
        _check_hash(p, f"inclusion proof element {i}")
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise IntegrityError("inclusion: proof longer than the path for this size")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise IntegrityError("inclusion: proof shorter than the path for this size")
    if r != root:
        raise IntegrityError(
            f"inclusion: computed root {r.hex()} does not match expected root {root.hex()}"
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """RFC 9162 §2.1.4.2: raise :class:`IntegrityError` unless the proof holds."""
    _check_hash(root1, "first root")
    _check_hash(root2, "second root")
    for i, p in enumerate(proof):
        _check_hash(p, f"consistency proof element {i}")
    if not 0 <= size1 <= size2:
        raise IntegrityError(f"consistency: need 0 <= size1 <= size2, got {size1}, {size2}")
    if size1 == size2:
        if proof:
            raise IntegrityError("consistency: size1 == size2 but the proof is not empty")
        if root1 != root2:
            raise IntegrityError(f"consistency: two different roots at size {size1} (fork)")
        return
    if size1 == 0:
        if proof:
            raise IntegrityError("consistency: size1 == 0 needs an empty proof")
        return
    if not proof:
        raise IntegrityError("consistency: empty proof")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise IntegrityError("consistency: proof longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise IntegrityError("consistency: proof shorter than needed")
    if fr != root1:
        raise IntegrityError(f"consistency: proof does not lead to the first root ({size1})")
    if sr != root2:
        raise IntegrityError(f"consistency: proof does not lead to the second root ({size2})")
