"""Signed checkpoints (signed tree heads) in the C2SP tlog-checkpoint / signed-note format.

A checkpoint note is::

    <origin>
    <tree size, decimal>
    <base64 of the 32-byte RFC 9162 root>
    time <UTC, 2026-11-24T21:15:32.000000Z>

    \u2014 <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>

The signature covers the body (the four lines, each ending in a newline).  The parser is
strict: anything that is not exactly this shape, in its one canonical spelling, is rejected
with :class:`~standoff.core.errors.IntegrityError`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from standoff.core.errors import IntegrityError
from standoff.oversight._utc import format_utc, parse_utc
from standoff.oversight.keys import Signer, Verifier, key_id
from standoff.oversight.merkle import HASH_SIZE_BYTES

__all__ = [
    "Checkpoint",
    "NoteSignature",
    "parse_checkpoint",
    "sign_checkpoint",
    "verify_checkpoint",
]

_SIG_PREFIX = "\u2014 "
_TIME_PREFIX = "time "
_ED25519_SIG_BYTES = 64
_MAX_NOTE_CHARS = 4096


@dataclass(frozen=True)
class NoteSignature:
    key_name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{_SIG_PREFIX}{self.key_name} {blob}\n"


@dataclass(frozen=True)
class Checkpoint:
    """A signed commitment to the first ``tree_size`` entries of a log."""

    origin: str
    tree_size: int
    root_sha256: bytes
    at_utc: datetime
    signatures: tuple[NoteSignature, ...] = ()

    @property
    def root_sha256_hex(self) -> str:
        return self.root_sha256.hex()

    def body(self) -> str:
        root_b64 = base64.b64encode(self.root_sha256).decode("ascii")
        return (
            f"{self.origin}\n{self.tree_size}\n{root_b64}\n"
            f"{_TIME_PREFIX}{format_utc(self.at_utc)}\n"
        )

    def note(self) -> str:
        return self.body() + "\n" + "".join(sig.line() for sig in self.signatures)


def sign_checkpoint(
    origin: str, tree_size: int, root_sha256: bytes, at_utc: datetime, signer: Signer
) -> Checkpoint:
    if not origin or "\n" in origin or origin != origin.strip():
        raise IntegrityError(f"bad checkpoint origin {origin!r}")
    if len(root_sha256) != HASH_SIZE_BYTES or tree_size < 0:
        raise IntegrityError("checkpoint needs a 32-byte root and a size >= 0")
    unsigned = Checkpoint(origin, tree_size, root_sha256, at_utc)
    signature = signer.sign(unsigned.body().encode("utf-8"))
    sig = NoteSignature(signer.name, signer.verifier.key_id, signature)
    return Checkpoint(origin, tree_size, root_sha256, at_utc, (sig,))


def _malformed(why: str) -> IntegrityError:
    return IntegrityError(f"malformed checkpoint (altered?): {why}")


def parse_checkpoint(note: str) -> Checkpoint:
    """Parse a checkpoint note strictly; :class:`IntegrityError` if it is malformed."""
    if not isinstance(note, str) or len(note) > _MAX_NOTE_CHARS:
        raise _malformed("not a note of reasonable length")
    head, sep, tail = note.partition("\n\n")
    if not sep:
        raise _malformed("no blank line between body and signatures")
    lines = head.split("\n")
    if len(lines) != 4:
        raise _malformed(f"body has {len(lines)} lines, want 4")
    origin, size_text, root_text, time_line = lines
    if not origin or origin != origin.strip() or not origin.isprintable():
        raise _malformed("bad origin line")
    if not size_text.isascii() or not size_text.isdigit() or str(int(size_text)) != size_text:
        raise _malformed("tree size is not a canonical decimal")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _malformed("root is not base64") from exc
    if len(root) != HASH_SIZE_BYTES or base64.b64encode(root).decode("ascii") != root_text:
        raise _malformed("root is not a canonical base64 SHA-256")
    if not time_line.startswith(_TIME_PREFIX):
        raise _malformed("missing time line")
    try:
        at_utc = parse_utc(time_line[len(_TIME_PREFIX) :])
    except ValueError as exc:
        raise _malformed("time is not canonical UTC") from exc
    signatures: list[NoteSignature] = []
    if tail:
        if not tail.endswith("\n"):
            raise _malformed("signature block does not end in a newline")
        for line in tail[:-1].split("\n"):
            signatures.append(_parse_signature_line(line))
    checkpoint = Checkpoint(origin, int(size_text), root, at_utc, tuple(signatures))
    if checkpoint.note() != note:
        raise _malformed("note does not round-trip")
    return checkpoint


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(_SIG_PREFIX):
        raise _malformed("signature line does not start with an em dash")
    parts = line[len(_SIG_PREFIX) :].split(" ")
    if len(parts) != 2 or not parts[0]:
        raise _malformed("signature line is not '<name> <base64>'")
    name, blob_text = parts
    try:
        blob = base64.b64decode(blob_text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _malformed("signature is not base64") from exc
    if len(blob) != 4 + _ED25519_SIG_BYTES or base64.b64encode(blob).decode() != blob_text:
        raise _malformed("signature has the wrong length or spelling")
    return NoteSignature(name, blob[:4], blob[4:])


def verify_checkpoint(checkpoint: Checkpoint, verifier: Verifier, *, label: str) -> None:
    """Check the checkpoint carries a valid signature by ``verifier``'s key.

    Raises :class:`IntegrityError` naming the class: *missing signature*, *wrong key*
    (signed only by other keys) or *bad signature* (body altered after signing).
    """
    if not checkpoint.signatures:
        raise IntegrityError(f"missing signature on {label} (size {checkpoint.tree_size})")
    mine = [s for s in checkpoint.signatures if s.key_id == key_id(s.key_name, verifier.public_key)]
    if not mine:
        others = ", ".join(sorted({s.key_id.hex() for s in checkpoint.signatures}))
        raise IntegrityError(
            f"wrong key: {label} is signed by key id {others}, not by the expected key "
            f"{verifier.key_id_hex}"
        )
    body = checkpoint.body().encode("utf-8")
    if not any(verifier.verify(s.signature, body) for s in mine):
        raise IntegrityError(
            f"bad signature on {label} (size {checkpoint.tree_size}): tree size, root or time "
            "altered after signing"
        )
