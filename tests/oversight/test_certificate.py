"""Conformance certificates: signed, offline-verifiable, honest about incursions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from standoff.airspace import FlightPath
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


def _sorties_csv(target: Path, tracks: list[tuple[int, FlightPath, float]]) -> None:
    """A flight.csv of sorties: (sortie, timed path, seconds added to its times)."""
    rows = ["sortie,time,lat,lon"]
    for n, path, shift in tracks:
        assert path.time_s is not None
        assert path.epoch is not None
        for t, lat, lon in zip(path.time_s, path.lat_deg, path.lon_deg, strict=True):
            stamp = (path.epoch + timedelta(seconds=float(t) + shift)).isoformat()
            rows.append(f"{n},{stamp.replace('+00:00', 'Z')},{lat:.7f},{lon:.7f}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_sorties_are_certified_one_by_one(setup: Path) -> None:
    """The ground time between sorties is no unknown gap; an incursion on the second
    sortie is reported with the second sortie's times."""
    from standoff.pipeline import DEMO_SPEED_MPS, KFHU_LON_LAT, _geodesic_track

    wp = [KFHU_LON_LAT, (-110.70, 31.45), (-111.30, 31.53), (-110.70, 31.45), KFHU_LON_LAT]
    lon, lat, t = _geodesic_track(wp, DEMO_SPEED_MPS, 1.0)
    good = FlightPath(lon, lat, t, epoch=datetime(2026, 3, 20, 2, tzinfo=UTC))
    _sorties_csv(setup / "nights" / "flight.csv", [(1, good, 0.0), (2, good, 86400.0)])
    assert _certify(setup, "nights") == 0
    cert = json.loads((setup / "nights" / "certificate.json").read_text())["certificate"]
    assert cert["status"] == "conformant"
    assert cert["unknown_gaps"] == []
    assert [s["status"] for s in cert["sorties"]] == ["conformant", "conformant"]
    assert cert["sorties"][1]["time_span"]["start"].startswith("2026-03-21T02:00:00")
    assert cert["time_span"]["end"].startswith("2026-03-21")
    assert cert["flown_track"]["fixes"] == 2 * len(t)
    # The same track without its sortie column reads as one path with a day-long gap.
    plain = setup / "plain" / "flight.csv"
    plain.parent.mkdir()
    plain.write_text(
        "\n".join(
            ln.split(",", 1)[1] for ln in (setup / "nights" / "flight.csv").read_text().splitlines()
        )
        + "\n",
        encoding="utf-8",
    )
    assert _certify(setup, "plain") == 0
    cert = json.loads((plain.parent / "certificate.json").read_text())["certificate"]
    assert cert["status"] == "unknown"
    assert "sorties" not in cert
    # A second sortie that drifts into Mexico.
    flown = demo_border_paths()["flown"]
    _sorties_csv(setup / "drift" / "flight.csv", [(1, good, 0.0), (2, flown, 86400.0)])
    assert _certify(setup, "drift") == 0
    cert = json.loads((setup / "drift" / "certificate.json").read_text())["certificate"]
    assert cert["status"] == "non_conformant"
    assert [s["status"] for s in cert["sorties"]] == ["conformant", "non_conformant"]
    assert cert["sorties"][1]["incursions"] >= 1
    assert cert["incursions"][0]["entry"]["time"].startswith("2026-03-21")
