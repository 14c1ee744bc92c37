"""Checkpoints (signed notes) and Ed25519 keys: T2.5 and the "one byte changed" test."""

from __future__ import annotations

import contextlib
import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from standoff.core.errors import InputError, IntegrityError
from standoff.oversight.checkpoint import parse_checkpoint, sign_checkpoint, verify_checkpoint
from standoff.oversight.keys import Signer, keys_new, load_signer, load_verifier
from standoff.oversight.merkle import leaf_hash

AT = datetime(2026, 11, 24, 21, 15, 32, 123456, tzinfo=UTC)

# RFC 8032 §7.1 TEST 1-3: (secret key, public key, message, signature), all hex.
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39"
        "701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f36"
        "13d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f7"
        "60984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.fixture
def signer() -> Signer:
    return Signer(
        "standoff-test",
        Ed25519PrivateKey.from_private_bytes(bytes.fromhex(RFC8032[0][0])),
    )


@pytest.mark.parametrize(("sk", "pk", "msg", "sig"), RFC8032)
def test_rfc8032_ed25519_vectors(sk: str, pk: str, msg: str, sig: str) -> None:
    signer = Signer("rfc8032", Ed25519PrivateKey.from_private_bytes(bytes.fromhex(sk)))
    assert signer.verifier.public_key_pem  # loads
    raw_pk = signer.private_key.public_key().public_bytes_raw()
    assert raw_pk.hex() == pk
    assert signer.sign(bytes.fromhex(msg)).hex() == sig
    assert signer.verifier.verify(bytes.fromhex(sig), bytes.fromhex(msg))
    assert not signer.verifier.verify(bytes.fromhex(sig), bytes.fromhex(msg) + b"\x00")


def test_checkpoint_round_trip(signer: Signer) -> None:
    cp = sign_checkpoint("standoff/audit", 8, leaf_hash(b"root"), AT, signer)
    note = cp.note()
    assert note.startswith("standoff/audit\n8\n")
    assert "\ntime 2026-11-24T21:15:32.123456Z\n\n\u2014 standoff-test " in note
    parsed = parse_checkpoint(note)
    assert parsed == cp
    verify_checkpoint(parsed, signer.verifier, label="cp")


def test_one_byte_changed_fails_everywhere(signer: Signer) -> None:
    """Certificate-style: change any single byte of a signed checkpoint and it fails."""
    cp = sign_checkpoint("standoff/audit", 1_000_003, leaf_hash(b"root"), AT, signer)
    data = cp.note().encode("utf-8")
    failures = 0
    for i in range(len(data)):
        for delta in (1, 0x20):
            mutated = bytearray(data)
            mutated[i] ^= delta
            try:
                text = bytes(mutated).decode("utf-8")
            except UnicodeDecodeError:
                failures += 1  # not even text: rejected before parsing
                continue
            with pytest.raises(IntegrityError):
                verify_checkpoint(parse_checkpoint(text), signer.verifier, label="mutated")
            failures += 1
    assert failures == 2 * len(data)


def test_signature_classes(signer: Signer) -> None:
    cp = sign_checkpoint("standoff/audit", 3, leaf_hash(b"r"), AT, signer)
    stripped = parse_checkpoint(cp.body() + "\n")
    with pytest.raises(IntegrityError, match="missing signature"):
        verify_checkpoint(stripped, signer.verifier, label="cp")
    other = Signer.generate("standoff-test")
    with pytest.raises(IntegrityError, match="wrong key"):
        verify_checkpoint(cp, other.verifier, label="cp")
    forged = sign_checkpoint("standoff/audit", 3, leaf_hash(b"r"), AT, other)
    with pytest.raises(IntegrityError, match="wrong key"):
        verify_checkpoint(forged, signer.verifier, label="cp")
    altered = parse_checkpoint(cp.note().replace("\n3\n", "\n4\n", 1))
    with pytest.raises(IntegrityError, match="bad signature"):
        verify_checkpoint(altered, signer.verifier, label="cp")


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_parser_fuzz_never_crashes(text: str) -> None:
    with contextlib.suppress(IntegrityError):
        parse_checkpoint(text)


@settings(max_examples=200)
@given(st.binary(min_size=1, max_size=8), st.integers(min_value=0, max_value=400))
def test_parser_fuzz_mutated_notes(junk: bytes, at: int) -> None:
    signer = Signer("fuzz", Ed25519PrivateKey.from_private_bytes(bytes(32)))
    note = sign_checkpoint("o", 5, leaf_hash(b"x"), AT, signer).note()
    text = note[: at % len(note)] + junk.decode("latin-1") + note[at % len(note) :]
    try:
        verify_checkpoint(parse_checkpoint(text), signer.verifier, label="fuzz")
    except IntegrityError:
        return
    pytest.fail("an inserted byte went unnoticed")


def test_non_utc_time_rejected(signer: Signer) -> None:
    with pytest.raises(InputError):
        sign_checkpoint("o", 1, leaf_hash(b"x"), datetime(2026, 1, 1), signer)
    with pytest.raises(InputError):
        sign_checkpoint(
            "o",
            1,
            leaf_hash(b"x"),
            datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2))),
            signer,
        )


def test_keys_new_files(tmp_path: Path) -> None:
    paths = keys_new(tmp_path / "keys")
    mode = stat.S_IMODE(os.stat(paths.private_path).st_mode)
    assert mode == 0o600
    assert paths.public_path.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    signer = load_signer(paths.private_path)
    verifier = load_verifier(paths.public_path)
    assert verifier.key_id_hex == signer.verifier.key_id_hex == paths.key_id_hex
    assert load_verifier(paths.private_path).key_id_hex == paths.key_id_hex
    with pytest.raises(InputError, match="refusing to overwrite"):
        keys_new(tmp_path / "keys")


def test_private_key_never_shown(tmp_path: Path) -> None:
    paths = keys_new(tmp_path)
    pem = paths.private_path.read_text()
    body = "".join(pem.splitlines()[1:-1])
    signer = load_signer(paths.private_path)
    assert body not in repr(signer)
    assert body not in str(signer)
    assert "PRIVATE" not in repr(signer)
    broken = tmp_path / "broken.pem"
    broken.write_text(pem.replace(body[10:30], "A" * 20))
    with pytest.raises(InputError) as info:
        load_signer(broken)
    assert body[:20] not in str(info.value)
    with pytest.raises(InputError):
        load_verifier(tmp_path / "missing.pem")
