"""Oversight: the tamper-evident audit log, its Merkle tree, checkpoints and keys."""

from standoff.oversight.audit import (
    AuditEvent,
    AuditLog,
    AuditReceipt,
    InclusionProofRecord,
    VerifyReport,
    verify_bundle,
)
from standoff.oversight.keys import Signer, Verifier, keys_new, load_signer, load_verifier
from standoff.oversight.storage import AuditStore, MemoryAuditStore

__all__ = [
    "AuditEvent",
    "AuditLog",
    "AuditReceipt",
    "AuditStore",
    "InclusionProofRecord",
    "MemoryAuditStore",
    "Signer",
    "Verifier",
    "VerifyReport",
    "keys_new",
    "load_signer",
    "load_verifier",
    "verify_bundle",
]
