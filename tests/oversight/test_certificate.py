"""Conformance certificates: signed, offline-verifiable, honest about incursions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from standoff.cli import main
from standoff.core.errors import IntegrityError
from standoff.core.files import sha256_file
from standoff.oversight.certificate import (
    TrackMismatch,
    verify_certificate,
    verify_certificate_document,
)
from standoff.oversight.keys import load_verifier
from standoff.pipeline import _write_path_geojson, _write_track_csv, demo_border_paths


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cert")
    assert main(["keys", "new", "--out", str(root / "keys")]) == 0
    paths = demo_border_paths()
    (root / "good").mkdir()
    (root / "bad").mkdir()
    _write_path_geojson(paths["planned"], root / "good" / "flight.geojson", "planned")
    _write_track_csv(paths["flown"], root / "bad" / "flight.csv")
    return root


def _certify(root: Path, run: str, *extra: str) -> int:
    key = str(root / "keys" / "standoff-audit.key.pem")
    return main(
        [
            "certify",
            str(root / run),
            "--key",
            key,
            "--operator",
            "USA",
            "--margin-m",
            "3000",
            *extra,
        ]
    )


def test_a_track_with_an_incursion_gets_a_certificate_that_says_so(setup: Path) -> None:
    assert _certify(setup, "bad") == 0
    cert = json.loads((setup / "bad" / "certificate.json").read_text())["certificate"]
    assert cert["status"] == "non_conformant"
    assert cert["incursions"][0]["airspace"] == "MEX"
    assert cert["incursions"][0]["max_depth_m"] > 1000
    assert cert["unknown_gaps"]
    assert cert["time_span"]["start"].startswith("2026-03-20T02:00:00")
    assert len(cert["flown_track"]["sha256"]) == 64


def test_certificates_verify_offline_and_one_changed_byte_fails(
    setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    track = setup / "good" / "flight.geojson"
    assert _certify(setup, "good", "--track", str(track)) == 0
    pub = str(setup / "keys" / "standoff-audit.pub.pem")
    cert_path = setup / "good" / "certificate.json"
    assert json.loads(cert_path.read_text())["certificate"]["status"] == "conformant"
    assert main(["verify", str(cert_path), "--key", pub, "--track", str(track)]) == 0
    raw = cert_path.read_bytes()
    at = raw.index(b'"min_clearance_m": ') + len(b'"min_clearance_m": ')
    tampered = setup / "good" / "tampered.json"
    tampered.write_bytes(raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1 :])
    assert main(["verify", str(tampered), "--key", pub]) == 1
    assert "INVALID" in capsys.readouterr().err
    # The right certificate, the wrong track.
    other = setup / "bad" / "flight.csv"
    assert main(["verify", str(cert_path), "--key", pub, "--track", str(other)]) == 1
    # The wrong key.
    assert main(["keys", "new", "--out", str(setup / "other-keys")]) == 0
    assert (
        main(
            [
                "verify",
                str(cert_path),
                "--key",
                str(setup / "other-keys" / "standoff-audit.pub.pem"),
            ]
        )
        == 1
    )


def test_certify_needs_a_track_and_an_operator(
    setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = str(setup / "keys" / "standoff-audit.key.pem")
    assert main(["certify", str(setup / "nowhere"), "--key", key]) == 2
    assert main(["certify", str(setup / "bad"), "--key", key]) == 2
    assert "--operator" in capsys.readouterr().err


def test_one_verifier_for_files_and_documents(setup: Path) -> None:
    """The file check (CLI) and the document check (API) are one function: the same
    verdicts, the file's naming the file (or the track) that failed."""
    track = setup / "bad" / "flight.csv"
    assert _certify(setup, "bad", "--track", str(track)) == 0
    cert_path = setup / "bad" / "certificate.json"
    verifier = load_verifier(setup / "keys" / "standoff-audit.pub.pem")
    doc = json.loads(cert_path.read_text())
    by_file = verify_certificate(cert_path, verifier, track_path=track)
    by_doc = verify_certificate_document(doc, verifier, track_sha256=sha256_file(track))
    assert by_file == by_doc
    assert by_doc.status == "non_conformant"
    assert by_doc.track_checked
    with pytest.raises(TrackMismatch):
        verify_certificate_document(doc, verifier, track_sha256="0" * 64)
    other = setup / "good" / "flight.geojson"
    with pytest.raises(IntegrityError, match=str(other)):
        verify_certificate(cert_path, verifier, track_path=other)
    doc["certificate"]["status"] = "conformant"  # a forged verdict
    with pytest.raises(IntegrityError, match="signature does not match"):
        verify_certificate_document(doc, verifier)
    for broken in ({}, {"certificate": [], "signature": {}}, {"certificate": {}, "signature": 1}):
        with pytest.raises(IntegrityError, match="malformed"):
            verify_certificate_document(broken, verifier)
