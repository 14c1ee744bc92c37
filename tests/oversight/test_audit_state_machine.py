"""T2.3: a stateful property test of the audit log on the real SQLite store.

Rules append (single or batch), sign checkpoints, reopen the writer and verify; after each
step every older checkpoint must be consistent with every newer one, and every entry must be
provable against every checkpoint that covers it.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from standoff.oversight.audit import AuditEvent, AuditLog, verify_inclusion_record
from standoff.oversight.checkpoint import Checkpoint
from standoff.oversight.keys import Signer
from standoff.oversight.merkle import leaf_hash, merkle_root, verify_consistency
from standoff.store.sqlite_audit import SqliteAuditStore

SIGNER = Signer("standoff-audit", Ed25519PrivateKey.from_private_bytes(b"\x05" * 32))
T0 = datetime(2026, 11, 24, tzinfo=UTC)

_PRINTABLE = st.characters(
    codec="utf-8", exclude_categories=("Cs", "Cc", "Cf", "Co", "Cn", "Zl", "Zp", "Zs")
)
_text = st.text(_PRINTABLE, min_size=1, max_size=8)
_events = st.builds(
    AuditEvent,
    who=_text,
    action=st.sampled_from(["plan.create", "plan.approve", "flight.launch", "product.share"]),
    at_utc=st.integers(0, 10**6).map(lambda s: T0 + timedelta(seconds=s)),
    objects_sha256_hex=st.dictionaries(
        _text, st.binary(min_size=32, max_size=32).map(bytes.hex), max_size=2
    ),
    details=st.dictionaries(_text, st.integers(-5, 5) | _text | st.booleans(), max_size=3),
)


class AuditLogMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="standoff-audit-sm-"))
        self.store = SqliteAuditStore(self.tmp / "audit.db")
        self.log = AuditLog(self.store)
        self.leaves: list[bytes] = []
        self.checkpoints: list[Checkpoint] = []
        self.clock = T0

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    @rule(event=_events)
    def append_one(self, event: AuditEvent) -> None:
        receipt = self.log.append(event)
        assert receipt.index == len(self.leaves)
        self.leaves.append(bytes.fromhex(receipt.leaf_sha256_hex))

    @rule(events=st.lists(_events, min_size=0, max_size=9))
    def append_batch(self, events: list[AuditEvent]) -> None:
        receipt = self.log.append_batch(events)
        assert receipt.first_index == len(self.leaves)
        assert receipt.count == len(events)
        stored = list(self.store.iter_entries(receipt.first_index))
        assert len(stored) == len(events)
        self.leaves.extend(leaf_hash(e.entry) for e in stored)
        if events:
            assert stored[-1].entry_sha256.hex() == receipt.last_entry_sha256_hex

    @rule(minutes=st.integers(0, 90))
    def checkpoint(self, minutes: int) -> None:
        self.clock += timedelta(minutes=minutes)
        self.checkpoints.append(self.log.checkpoint(SIGNER, self.clock))

    @rule()
    def reopen(self) -> None:
        self.store.close()
        self.store = SqliteAuditStore(self.tmp / "audit.db")
        self.log = AuditLog(self.store)

    @precondition(lambda self: bool(self.checkpoints))
    @rule()
    def verify(self) -> None:
        report = self.log.verify(SIGNER.verifier, trusted=self.checkpoints[-1])
        assert report.entries == len(self.leaves)
        assert report.latest_tree_size == self.checkpoints[-1].tree_size

    @invariant()
    def root_matches_the_rfc_definition(self) -> None:
        assert self.log.root_sha256() == merkle_root(self.leaves)
        for checkpoint in self.checkpoints:
            assert checkpoint.root_sha256 == merkle_root(self.leaves[: checkpoint.tree_size])

    @invariant()
    def older_checkpoints_consistent_with_newer(self) -> None:
        for i, old in enumerate(self.checkpoints):
            for new in self.checkpoints[i:]:
                record = self.log.prove_consistency(old, new)
                verify_consistency(
                    old.tree_size,
                    new.tree_size,
                    [bytes.fromhex(p) for p in record.proof_sha256_hex],
                    old.root_sha256,
                    new.root_sha256,
                )

    @invariant()
    def every_entry_provable_against_every_later_checkpoint(self) -> None:
        for checkpoint in self.checkpoints:
            for index in range(checkpoint.tree_size):
                record = self.log.prove(index, checkpoint=checkpoint)
                assert leaf_hash(record.entry.encode()) == self.leaves[index]
                verify_inclusion_record(record, SIGNER.verifier)


AuditLogMachine.TestCase.settings = settings(max_examples=80, stateful_step_count=12, deadline=None)
TestAuditLogMachine = AuditLogMachine.TestCase
