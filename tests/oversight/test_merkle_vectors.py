"""T2.1: RFC 6962 known answers and the transparency-dev/merkle proof vectors."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from standoff.core.errors import IntegrityError
from standoff.oversight.merkle import (
    EMPTY_ROOT_SHA256,
    CompactRange,
    MemoryNodeStore,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).parent / "vectors"
INCLUSION = sorted(VECTORS.glob("inclusion/*/*.json"))
CONSISTENCY = sorted(VECTORS.glob("consistency/*/*.json"))

RFC6962_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
RFC6962_ROOT_HEX = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _check_inclusion(v: dict[str, Any]) -> None:
    verify_inclusion(
        _b64(v["leafHash"]),
        v["leafIdx"],
        v["treeSize"],
        [_b64(p) for p in v["proof"] or []],
        _b64(v["root"]),
    )


def _check_consistency(v: dict[str, Any]) -> None:
    verify_consistency(
        v["size1"],
        v["size2"],
        [_b64(p) for p in v["proof"] or []],
        _b64(v["root1"]),
        _b64(v["root2"]),
    )


def _tree(leaves: list[bytes]) -> tuple[CompactRange, MemoryNodeStore]:
    compact, store = CompactRange(), MemoryNodeStore()
    for leaf in leaves:
        store.put(compact.append(leaf_hash(leaf)))
    return compact, store


# --------------------------------------------------------------------------- known answers


def test_rfc6962_eight_leaf_root() -> None:
    root = merkle_root([leaf_hash(x) for x in RFC6962_LEAVES])
    assert root.hex() == RFC6962_ROOT_HEX


def test_empty_tree_root() -> None:
    assert EMPTY_ROOT_SHA256.hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert merkle_root([]) == EMPTY_ROOT_SHA256
    assert CompactRange().root() == EMPTY_ROOT_SHA256


def test_single_leaf_root() -> None:
    root = merkle_root([leaf_hash(b"")])
    assert root.hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"


def test_domain_separation() -> None:
    # A two-leaf root is not the leaf hash of the concatenated leaf hashes.
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert node_hash(a, b) != leaf_hash(a + b)


# --------------------------------------------------------------------------- vectors


def test_vectors_are_vendored() -> None:
    assert len(INCLUSION) >= 20
    assert len(CONSISTENCY) >= 20
    assert (VECTORS / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert "transparency-dev/merkle" in (VECTORS / "PROVENANCE.md").read_text()
    kinds = [_load(p)["wantErr"] for p in INCLUSION + CONSISTENCY]
    assert kinds.count(False) == 10
    assert kinds.count(True) >= 35


@pytest.mark.parametrize("path", INCLUSION, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_inclusion_vector(path: Path) -> None:
    v = _load(path)
    if v["wantErr"]:
        with pytest.raises(IntegrityError):
            _check_inclusion(v)
    else:
        _check_inclusion(v)


@pytest.mark.parametrize("path", CONSISTENCY, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_consistency_vector(path: Path) -> None:
    v = _load(path)
    if v["wantErr"]:
        with pytest.raises(IntegrityError):
            _check_consistency(v)
    else:
        _check_consistency(v)


def _flip(h: str, bit: int) -> str:
    raw = bytearray(_b64(h))
    raw[0] ^= 1 << bit
    return base64.b64encode(bytes(raw)).decode()


def _inclusion_mutations(v: dict[str, Any]) -> list[dict[str, Any]]:
    """The upstream mutation list (proof/verify_test.go) applied to a happy path."""
    proof = list(v["proof"] or [])
    out = [
        {**v, "leafIdx": v["leafIdx"] + 1},
        {**v, "leafIdx": v["leafIdx"] - 1},
        {**v, "leafIdx": v["leafIdx"] ^ 2},
        {**v, "treeSize": v["treeSize"] * 2},
        {**v, "treeSize": v["treeSize"] // 2},
        {**v, "leafHash": base64.b64encode(b"WrongLeaf").decode()},
        {**v, "root": base64.b64encode(EMPTY_ROOT_SHA256).decode()},
        {**v, "root": base64.b64encode(bytes(range(32))).decode()},
        {**v, "proof": ["", *proof]},
        {**v, "proof": [*proof, ""]},
        {**v, "proof": [v["root"], *proof]},
        {**v, "proof": [*proof, v["root"]]},
    ]
    for i in range(len(proof)):
        out.append({**v, "proof": [*proof[:i], _flip(proof[i], 3), *proof[i + 1 :]]})
        out.append({**v, "proof": proof[:i] + proof[i + 1 :]})
    return out


def _consistency_mutations(v: dict[str, Any]) -> list[dict[str, Any]]:
    proof = list(v["proof"] or [])
    out = [
        {**v, "size1": v["size1"] + 1},
        {**v, "size1": v["size1"] ^ 2},
        {**v, "size2": v["size2"] * 2},
        {**v, "size2": v["size2"] // 2},
        {**v, "root1": base64.b64encode(b"WrongRoot").decode()},
        {**v, "root2": base64.b64encode(b"WrongRoot").decode()},
        {**v, "proof": [*proof, ""]},
        {**v, "proof": ["", *proof]},
        {**v, "proof": [*proof, v["root2"]]},
    ]
    if v["root1"] != v["root2"]:
        out.append({**v, "root1": v["root2"], "root2": v["root1"]})
    if v["size1"] > 1:
        out.append({**v, "size1": v["size1"] - 1})
    for i in range(len(proof)):
        out.append({**v, "proof": [*proof[:i], _flip(proof[i], 4), *proof[i + 1 :]]})
    return out


@pytest.mark.parametrize(
    "path", [p for p in INCLUSION if p.stem == "happy-path"], ids=lambda p: p.parent.name
)
def test_inclusion_mutations_of_every_happy_path(path: Path) -> None:
    v = _load(path)
    mutations = _inclusion_mutations(v)
    for mutated in mutations:
        with pytest.raises(IntegrityError):
            _check_inclusion(mutated)


@pytest.mark.parametrize(
    "path", [p for p in CONSISTENCY if p.stem == "happy-path"], ids=lambda p: p.parent.name
)
def test_consistency_mutations_of_every_happy_path(path: Path) -> None:
    v = _load(path)
    for mutated in _consistency_mutations(v):
        if mutated["size1"] == mutated["size2"] == 1 and not mutated["proof"]:
            continue  # size1 + 1 etc. can land on a trivially valid case
        with pytest.raises(IntegrityError):
            _check_consistency(mutated)


def test_our_proofs_reproduce_the_vectors() -> None:
    """Our generator, over the RFC 6962 tree, emits exactly the vendored happy paths."""
    _, store = _tree(RFC6962_LEAVES)
    for path in INCLUSION:
        v = _load(path)
        if v["wantErr"] or v["treeSize"] > 8:
            continue
        got = inclusion_proof(v["leafIdx"], v["treeSize"], store)
        assert got == [_b64(p) for p in v["proof"] or []], path
    for path in CONSISTENCY:
        v = _load(path)
        if v["wantErr"]:
            continue
        got = consistency_proof(v["size1"], v["size2"], store)
        assert got == [_b64(p) for p in v["proof"] or []], path


# --------------------------------------------------------------------------- exhaustive


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, literally recursive: the oracle."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT_SHA256
    if n == 1:
        return leaf_hash(leaves[0])
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n <= 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_path(m - k, leaves[k:]), _mth(leaves[:k])]


def _subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [_mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), _mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), _mth(leaves[:k])]


def test_every_proof_up_to_33_leaves_matches_the_rfc_definition() -> None:
    leaves = [i.to_bytes(2, "big") for i in range(33)]
    compact, store = _tree(leaves)
    assert compact.root() == _mth(leaves)
    for n in range(1, len(leaves) + 1):
        root = _mth(leaves[:n])
        for m in range(n):
            proof = inclusion_proof(m, n, store)
            assert proof == _path(m, leaves[:n])
            verify_inclusion(leaf_hash(leaves[m]), m, n, proof, root)
            with pytest.raises(IntegrityError):
                verify_inclusion(leaf_hash(leaves[m] + b"x"), m, n, proof, root)
        for m in range(n + 1):
            proof = consistency_proof(m, n, store)
            if 0 < m < n:
                assert proof == _subproof(m, leaves[:n], True)
            verify_consistency(m, n, proof, _mth(leaves[:m]), root)
            if 0 < m < n:
                with pytest.raises(IntegrityError):
                    verify_consistency(m, n, proof, _mth(leaves[: m - 1]), root)


class _CountingStore(MemoryNodeStore):
    def __init__(self) -> None:
        super().__init__()
        self.looked_up = 0

    def get_nodes(self, ids):  # type: ignore[no-untyped-def]
        self.looked_up += len(ids)
        return super().get_nodes(ids)


def test_proofs_need_logarithmic_lookups() -> None:
    store = _CountingStore()
    compact = CompactRange()
    n = 5_000
    appended_nodes = 0
    for i in range(n):
        new = compact.append(leaf_hash(i.to_bytes(4, "big")))
        appended_nodes += len(new)
        store.put(new)
    assert appended_nodes < 2 * n  # O(1) amortised nodes per append
    for index in (0, 1, 2_047, 4_095, 4_096, n - 1):
        store.looked_up = 0
        proof = inclusion_proof(index, n, store)
        assert store.looked_up <= 2 * n.bit_length()
        verify_inclusion(leaf_hash(index.to_bytes(4, "big")), index, n, proof, compact.root())
    store.looked_up = 0
    proof = consistency_proof(1_234, n, store)
    assert store.looked_up <= 3 * n.bit_length()
    restored = CompactRange.restore(n, store)
    assert restored.root() == compact.root()


def test_verifiers_reject_malformed_input() -> None:
    h = leaf_hash(b"x")
    with pytest.raises(IntegrityError):
        verify_inclusion(h[:31], 0, 1, [], h)
    with pytest.raises(IntegrityError):
        verify_inclusion(h, 0, 0, [], h)
    with pytest.raises(IntegrityError):
        verify_inclusion(h, -1, 1, [], h)
    with pytest.raises(IntegrityError):
        verify_consistency(2, 1, [], h, h)
    with pytest.raises(IntegrityError):
        verify_consistency(1, 1, [h], h, h)
    with pytest.raises(IntegrityError):
        verify_consistency(1, 1, [], h, leaf_hash(b"y"))
    with pytest.raises(IntegrityError):
        verify_consistency(0, 3, [h], EMPTY_ROOT_SHA256, h)
    verify_consistency(0, 3, [], EMPTY_ROOT_SHA256, h)
    with pytest.raises(IntegrityError, match="missing tree node"):
        inclusion_proof(0, 2, MemoryNodeStore())
