"""Ed25519 signing keys for audit checkpoints: PEM files, key ids, never printed.

Private keys are PKCS#8 PEM files written with mode 0600 and never overwritten; public keys
are SubjectPublicKeyInfo PEM.  The key id follows the C2SP signed-note convention:
``SHA-256(name || 0x0A || 0x01 || raw public key)[:4]`` (0x01 = Ed25519), so a verifier
can tell "signed by another key" from "signature does not verify".
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from standoff.core.errors import InputError

__all__ = [
    "DEFAULT_KEY_NAME",
    "KeyPaths",
    "Signer",
    "Verifier",
    "key_id",
    "keys_new",
    "load_signer",
    "load_verifier",
    "public_key_pem",
]

DEFAULT_KEY_NAME = "standoff-audit"
_ED25519_SIG_TYPE = b"\x01"


def _check_key_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise InputError(
            "key name must be non-empty, without spaces or '+'", field="name", value=name
        )


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """4-byte key hint of the C2SP signed-note format."""
    digest = hashlib.sha256(
        name.encode("utf-8") + b"\n" + _ED25519_SIG_TYPE + _raw_public(public_key)
    ).digest()
    return digest[:4]


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 public key."""

    name: str
    public_key: Ed25519PublicKey = field(repr=False)

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @property
    def key_id_hex(self) -> str:
        return self.key_id.hex()

    @property
    def public_key_pem(self) -> str:
        return public_key_pem(self.public_key)

    @property
    def public_key_raw(self) -> bytes:
        return _raw_public(self.public_key)

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    @classmethod
    def from_pem(
        cls, pem: str | bytes, *, name: str = DEFAULT_KEY_NAME, source: str = "public key"
    ) -> Verifier:
        """Accept a public key PEM, or a private key PEM (its public half is used)."""
        _check_key_name(name)
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        key: object
        try:
            if b"PRIVATE KEY" in data:
                key = serialization.load_pem_private_key(data, password=None).public_key()
            else:
                key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            # Never echo the PEM itself: it may be a private key.
            raise InputError("not a readable PEM key", source=source) from exc
        if not isinstance(key, Ed25519PublicKey):
            raise InputError("not an Ed25519 key", source=source)
        return cls(name, key)


@dataclass(frozen=True)
class Signer:
    """A named Ed25519 private key; its repr never shows the key."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def generate(cls, name: str = DEFAULT_KEY_NAME) -> Signer:
        _check_key_name(name)
        return cls(name, Ed25519PrivateKey.generate())

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.private_key.public_key())

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    def private_key_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


@dataclass(frozen=True)
class KeyPaths:
    private_path: Path
    public_path: Path
    key_id_hex: str


def keys_new(out_dir: str | Path, name: str = DEFAULT_KEY_NAME) -> KeyPaths:
    """Create ``<name>.key.pem`` (0600) and ``<name>.pub.pem`` in ``out_dir``; never overwrite."""
    signer = Signer.generate(name)
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / f"{name}.key.pem"
    public_path = directory / f"{name}.pub.pem"
    for path in (private_path, public_path):
        if path.exists():
            raise InputError("key file exists; refusing to overwrite", source=str(path))
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(signer.private_key_pem())
    public_path.write_text(signer.verifier.public_key_pem, encoding="ascii")
    return KeyPaths(private_path, public_path, signer.verifier.key_id_hex)


def _read(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read key file: {exc.strerror}", source=str(path)) from exc


def load_signer(path: str | Path, name: str = DEFAULT_KEY_NAME) -> Signer:
    """Load an unencrypted PKCS#8 Ed25519 private key PEM."""
    _check_key_name(name)
    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InputError("not a readable unencrypted private key PEM", source=str(path)) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError("not an Ed25519 private key", source=str(path))
    return Signer(name, key)


def load_verifier(path: str | Path, name: str = DEFAULT_KEY_NAME) -> Verifier:
    """Load a public key PEM (or the public half of a private key PEM)."""
    return Verifier.from_pem(_read(path), name=name, source=str(path))
