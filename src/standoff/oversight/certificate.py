"""Conformance certificates: a signed, offline-verifiable statement of what a flown track did.

After a sortie (simulated, or a real track imported as CSV or GeoJSON), the flown path is
checked exactly against the airspace (:func:`standoff.airspace.check_path`) and the result is
written as canonical JSON (RFC 8785) with an Ed25519 signature over it: mission id, plan hash,
flown-track hash, time span, minimum clearance, every incursion (or none), unknown gaps, the
airspace data's hash and the software version.  Anyone with the public key can verify it
offline, and with the track file can check that the certificate speaks of that track.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standoff.airspace import Airspace, PathCheck, check_path
from standoff.airspace.io import NamedPath, read_paths
from standoff.core.errors import InputError, IntegrityError
from standoff.core.files import sha256_file
from standoff.oversight._utc import format_utc
from standoff.oversight.canonical import canonical_json
from standoff.oversight.keys import Signer, Verifier

__all__ = [
    "CERTIFICATE_SCHEMA",
    "CertificateCheck",
    "TrackMismatch",
    "certify_track",
    "verify_certificate",
    "verify_certificate_document",
]

CERTIFICATE_SCHEMA = "standoff.certificate/1"


@dataclass(frozen=True)
class CertificateCheck:
    """What :func:`verify_certificate` established (it raises if anything failed)."""

    mission: str
    status: str
    key_id_hex: str
    track_checked: bool


def _span(start: datetime | None, end: datetime | None) -> dict[str, Any]:
    if start is None or end is None:
        return {"start": None, "end": None}
    return {"start": format_utc(start, field="start"), "end": format_utc(end, field="end")}


def _ends(named: NamedPath) -> tuple[datetime | None, datetime | None]:
    p = named.path
    if p.time_s is None:
        return None, None
    return p.at_utc(float(p.time_s[0])), p.at_utc(float(p.time_s[-1]))


def _combined(checks: list[PathCheck]) -> PathCheck:
    """One check of several sorties: every incursion and gap, the least clearance."""
    c0 = checks[0]
    return replace(
        c0,
        fixes=sum(c.fixes for c in checks),
        length_m=sum(c.length_m for c in checks),
        min_clearance_m=min(c.min_clearance_m for c in checks),
        incursions=tuple(i for c in checks for i in c.incursions),
        gaps=tuple(g for c in checks for g in c.gaps),
        extra={"sorties": len(checks)},
    )


def certify_track(
    airspace: Airspace,
    track_path: Path,
    *,
    operator: str,
    margin_m: float,
    signer: Signer,
    issued_at: datetime,
    software_version: str,
    mission: str = "",
    plan_path: Path | None = None,
    max_gap_s: float = 30.0,
) -> tuple[dict[str, Any], PathCheck]:
    """Check ``track_path`` and return the signed certificate document and the check.

    A CSV track of several sorties (a ``sortie`` column) is checked sortie by sortie: the
    aircraft was on the ground between them, which is no gap in what is known.  The
    certificate then speaks of all of them (the worst status, the least clearance, every
    incursion and gap) and lists each sortie's own result."""
    paths = read_paths(track_path)
    sortied = track_path.suffix.lower() == ".csv" and len(paths) > 1
    if len(paths) != 1 and not sortied:
        raise InputError("a flown track must hold exactly one path", source=str(track_path))
    checks = [
        (p, check_path(airspace, p.path, operator, margin_m, max_gap_s=max_gap_s)) for p in paths
    ]
    check = checks[0][1] if len(checks) == 1 else _combined([c for _, c in checks])
    start, end = _ends(paths[0])[0], _ends(paths[-1])[1]
    body: dict[str, Any] = {
        "schema": CERTIFICATE_SCHEMA,
        "mission": mission,
        "operator": check.operator,
        "margin_m": check.margin_m,
        "plan_sha256": sha256_file(plan_path) if plan_path is not None else None,
        "flown_track": {
            "file": track_path.name,
            "sha256": sha256_file(track_path),
            "fixes": check.fixes,
        },
        "time_span": _span(start, end),
        "status": check.status,
        "conformant": check.conformant,
        "min_clearance_m": round(check.min_clearance_m, 2),
        "incursions": [i.to_dict() for i in check.incursions],
        "unknown_gaps": [g.to_dict() for g in check.gaps],
        "airspace_sha256": check.airspace_sha256,
        "check": {
            "tolerance_m": check.tolerance_m,
            "resolution_m": check.resolution_m,
            "max_gap_s": check.max_gap_s,
            "edges": "geodesic segments between fixes, checked exactly",
        },
        "software": {"standoff": software_version},
        **(
            {
                "sorties": [
                    {
                        "name": p.name,
                        "time_span": _span(*_ends(p)),
                        "status": c.status,
                        "min_clearance_m": round(c.min_clearance_m, 2),
                        "fixes": c.fixes,
                        "incursions": len(c.incursions),
                        "unknown_gaps": len(c.gaps),
                    }
                    for p, c in checks
                ]
            }
            if sortied
            else {}
        ),
        "issued_at": format_utc(issued_at.astimezone(UTC), field="issued_at"),
        "key_id": signer.verifier.key_id_hex,
    }
    body = json.loads(json.dumps(body, default=str))  # plain JSON types only
    signature = signer.sign(canonical_json(body))
    document = {
        "certificate": body,
        "signature": {"alg": "Ed25519", "value": base64.b64encode(signature).decode()},
    }
    return document, check


class TrackMismatch(IntegrityError):
    """The certificate is valid but certifies another track."""


def verify_certificate_document(
    doc: Any, verifier: Verifier, *, track_sha256: str | None = None
) -> CertificateCheck:
    """Verify a certificate document (the parsed ``certificate.json``): its Ed25519 signature
    with ``verifier`` and, given ``track_sha256``, that it certifies that track.  Raise
    :class:`IntegrityError` (:class:`TrackMismatch` for another track) saying what failed."""
    try:
        body = doc["certificate"]
        sig = doc["signature"]
        if not isinstance(body, dict) or not isinstance(sig, dict):
            raise TypeError("certificate and signature must be objects")
        if sig.get("alg") != "Ed25519" or body.get("schema") != CERTIFICATE_SCHEMA:
            raise IntegrityError(f"not a {CERTIFICATE_SCHEMA} Ed25519 certificate")
        signature = base64.b64decode(str(sig["value"]), validate=True)
        message = canonical_json(body)  # its errors are InputErrors, so ValueErrors
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"malformed certificate ({exc})") from exc
    if not verifier.verify(signature, message):
        raise IntegrityError("the signature does not match the certificate or the key")
    if track_sha256 is not None:
        certified = str((body.get("flown_track") or {}).get("sha256", ""))
        if certified != track_sha256:
            raise TrackMismatch(f"sha256 {track_sha256} is not the certified track's {certified}")
    return CertificateCheck(
        str(body.get("mission", "")),
        str(body.get("status", "")),
        verifier.key_id_hex,
        track_sha256 is not None,
    )


def verify_certificate(
    certificate_path: Path, verifier: Verifier, *, track_path: Path | None = None
) -> CertificateCheck:
    """Verify a ``certificate.json`` file (and, with ``track_path``, that it is about that
    track); raise :class:`IntegrityError` naming the file and what failed."""
    try:
        doc = json.loads(certificate_path.read_bytes())
    except FileNotFoundError as exc:
        raise InputError("file not found", source=str(certificate_path)) from exc
    except ValueError as exc:
        raise IntegrityError(f"{certificate_path}: malformed certificate ({exc})") from exc
    track_sha = None if track_path is None else sha256_file(track_path)
    try:
        return verify_certificate_document(doc, verifier, track_sha256=track_sha)
    except TrackMismatch as exc:
        raise IntegrityError(f"{track_path}: {exc}") from exc
    except IntegrityError as exc:
        raise IntegrityError(f"{certificate_path}: {exc}") from exc
