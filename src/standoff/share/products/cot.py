"""Cursor-on-Target 2.0 events for tracks and findings (what TAK clients display).

An event: ``uid``, ``type`` (``a-u-G`` unknown ground track; ``b-m-p-s-p-i`` a point of
interest for a finding), ``how`` (``m-g`` machine-generated for tracks, ``h-e`` human-
estimated for analytic findings), ``time``/``start``/``stale`` ISO 8601 UTC, a ``point`` (lat,
lon, hae, ce, le: 9999999 where unknown, as the schema says) and a ``detail`` with remarks
that carry the marking.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from standoff.domain.findings import Findings
from standoff.domain.marking import Marking
from standoff.share.products.encoders import finding_geometry

__all__ = ["cot_event", "findings_to_cot", "tracks_to_cot"]

_UNKNOWN = 9_999_999.0


def _t(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def cot_event(
    uid: str,
    cot_type: str,
    how: str,
    time: datetime,
    lat_deg: float,
    lon_deg: float,
    *,
    stale_s: float = 120.0,
    ce_m: float = _UNKNOWN,
    remarks: str = "",
    callsign: str | None = None,
) -> bytes:
    """One CoT event as UTF-8 XML."""
    if time.tzinfo is None:
        raise ValueError("CoT times must be timezone-aware UTC")
    stale = time + timedelta(seconds=stale_s)
    contact = f"<contact callsign={quoteattr(callsign)}/>" if callsign else ""
    xml = (
        f'<event version="2.0" uid={quoteattr(uid)} type={quoteattr(cot_type)} '
        f'how={quoteattr(how)} time="{_t(time)}" start="{_t(time)}" stale="{_t(stale)}">'
        f'<point lat="{lat_deg:.7f}" lon="{lon_deg:.7f}" hae="{_UNKNOWN:.1f}" '
        f'ce="{ce_m:.1f}" le="{_UNKNOWN:.1f}"/>'
        f"<detail>{contact}<remarks>{escape(remarks)}</remarks></detail></event>"
    )
    return xml.encode("utf-8")


def tracks_to_cot(
    rows: Iterable[tuple[datetime, int, float, float]],
    marking: Marking,
    *,
    source: str = "standoff",
    stale_s: float = 60.0,
) -> list[bytes]:
    """One event per (time, track_id, lat, lon) row: unknown ground tracks."""
    return [
        cot_event(
            f"{source}.track.{track_id}",
            "a-u-G",
            "m-g",
            time,
            lat,
            lon,
            stale_s=stale_s,
            remarks=f"{marking.banner()} track {track_id}",
            callsign=f"T{track_id}",
        )
        for time, track_id, lat, lon in rows
    ]


def findings_to_cot(
    findings: Findings, marking: Marking, *, source: str = "standoff"
) -> list[bytes]:
    """One point-of-interest event per finding with a place (a corridor at its first
    point); stale after the findings' time span plus a day."""
    out = []
    for f in findings.all():
        geom = finding_geometry(f, findings)
        if geom is None:
            continue
        lon, lat = geom["coordinates"] if geom["type"] == "Point" else geom["coordinates"][0]
        stale = (findings.end_utc - f.evidence.last_utc).total_seconds() + 86_400.0
        out.append(
            cot_event(
                f"{source}.finding.{f.id}",
                "b-m-p-s-p-i",
                "h-e",
                f.evidence.last_utc,
                lat,
                lon,
                stale_s=max(stale, 3600.0),
                remarks=f"{f.marking.banner()} {f.id}: {f.confidence}; product {marking.banner()}",
                callsign=f.id,
            )
        )
    return out
