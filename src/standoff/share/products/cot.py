"""Cursor-on-Target 2.0 events for tracks and findings (what TAK clients display).

An event (MITRE CoT 2.0): ``uid``, ``type``, ``how``, ``time``/``start``/``stale`` (ISO 8601
UTC with milliseconds and ``Z``), a ``point`` with all five attributes (``lat``, ``lon``,
``hae``, ``ce``, ``le``; 9999999.0 where unknown) and a ``detail`` holding

* ``<contact callsign=.../>`` (the track number or the finding id),
* ``<link point="lat,lon"/>`` vertices for a corridor (drawn as an ATAK polyline ``u-d-f``),
* ``<__standoff marking=... classification=... releasable_to=... .../>``: the marking (and,
  for a finding, its kind, confidence words and probability) as attributes a TAK server
  carries through unchanged (takproto keeps it in ``xmlDetail``), and
* ``<remarks>`` that start with the marking banner, so a person sees it in any client.

Types: tracks are unknown ground movers ``a-u-G``; sites, border approaches and change
alerts are points of interest ``b-m-p-s-p-i``; corridors polylines ``u-d-f``.  ``how``:
``m-g`` (machine-generated) for tracks by default (``m-s`` marks simulated data, ``m-f``
fused), ``h-e`` for analytic findings (an analyst's estimate).

A file of events (``findings.cot.xml``, ``tracks.cot.xml``) holds one event per line, as a
TAK stream carries them; :func:`read_cot_file` splits it back.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import numpy as np

from standoff.core.errors import InputError
from standoff.domain.findings import (
    BorderApproach,
    ChangeAlert,
    Corridor,
    Finding,
    Findings,
    Site,
)
from standoff.domain.marking import Marking
from standoff.share._io import write_text_atomic
from standoff.share.products.inputs import TrackPoints

__all__ = [
    "COT_HOW",
    "COT_TYPE_GRAMMAR",
    "UNKNOWN",
    "cot_event",
    "findings_to_cot",
    "read_cot_file",
    "track_points_to_cot",
    "tracks_to_cot",
    "write_cot_file",
]

UNKNOWN: Final = 9_999_999.0
"""The schema's value for an unknown ``hae``, ``ce`` or ``le``."""
COT_TYPE_GRAMMAR: Final = re.compile(r"^[abtuc](-[A-Za-z0-9]+)+$")
"""Dash-separated atoms: ``a-u-G``, ``b-m-p-s-p-i``, ``u-d-f``."""
COT_HOW: Final = frozenset({"m-g", "m-f", "m-s", "m-p", "m-i", "m-r", "h-e", "h-g-i-g-o", "h-t"})
"""The ``how`` values Standoff writes or accepts (machine: GPS, fused, simulated, passed,
mensurated, relayed; human: estimated, geo-referenced, transcribed)."""

_KIND_TYPE: Final = {
    Site: "b-m-p-s-p-i",
    BorderApproach: "b-m-p-s-p-i",
    ChangeAlert: "b-m-p-s-p-i",
    Corridor: "u-d-f",
}
_KIND: Final = {
    Site: "site",
    Corridor: "corridor",
    BorderApproach: "border_approach",
    ChangeAlert: "change_alert",
}


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
    hae_m: float = UNKNOWN,
    ce_m: float = UNKNOWN,
    le_m: float = UNKNOWN,
    remarks: str = "",
    callsign: str | None = None,
    marking: Marking | None = None,
    standoff: Mapping[str, str] | None = None,
    links_latlon_deg: Iterable[tuple[float, float]] = (),
    course_deg: float | None = None,
    speed_mps: float | None = None,
) -> bytes:
    """One CoT event as UTF-8 XML (no XML declaration).  ``marking`` goes into the
    ``__standoff`` detail and leads the remarks; ``standoff`` adds attributes to it."""
    if not uid:
        raise InputError("a CoT event needs a uid", field="uid", value=uid)
    if not COT_TYPE_GRAMMAR.match(cot_type):
        raise InputError("not a CoT type (e.g. a-u-G)", field="type", value=cot_type)
    if how not in COT_HOW:
        raise InputError(f"unknown CoT how; one of {sorted(COT_HOW)}", field="how", value=how)
    if time.tzinfo is None:
        raise InputError("CoT times must be timezone-aware UTC", field="time", value=time)
    if not stale_s > 0:
        raise InputError("stale must come after time", field="stale_s", value=stale_s)
    if not (-90.0 <= lat_deg <= 90.0 and -180.0 <= lon_deg <= 180.0):
        raise InputError("position out of range", field="point", value=(lat_deg, lon_deg))
    stale = time + timedelta(seconds=stale_s)
    event = ET.Element(
        "event",
        {
            "version": "2.0",
            "uid": uid,
            "type": cot_type,
            "how": how,
            "time": _t(time),
            "start": _t(time),
            "stale": _t(stale),
        },
    )
    ET.SubElement(
        event,
        "point",
        {
            "lat": f"{lat_deg:.7f}",
            "lon": f"{lon_deg:.7f}",
            "hae": f"{hae_m:.1f}",
            "ce": f"{ce_m:.1f}",
            "le": f"{le_m:.1f}",
        },
    )
    detail = ET.SubElement(event, "detail")
    if callsign:
        ET.SubElement(detail, "contact", {"callsign": callsign})
    for lat, lon in links_latlon_deg:
        ET.SubElement(detail, "link", {"point": f"{lat:.7f},{lon:.7f}"})
    if course_deg is not None and speed_mps is not None:
        ET.SubElement(detail, "track", {"course": f"{course_deg:.1f}", "speed": f"{speed_mps:.2f}"})
    attrs: dict[str, str] = {}
    if marking is not None:
        attrs = {
            "marking": marking.banner(),
            "classification": marking.classification,
            "releasable_to": ",".join(marking.releasable_to),
        }
    attrs.update(standoff or {})
    if attrs:
        ET.SubElement(detail, "__standoff", attrs)
    text = " ".join(p for p in ((marking.banner() if marking else ""), remarks) if p)
    ET.SubElement(detail, "remarks").text = text
    out: bytes = ET.tostring(event, encoding="utf-8", xml_declaration=False)
    return out


def tracks_to_cot(
    rows: Iterable[tuple[datetime, int, float, float]],
    marking: Marking,
    *,
    source: str = "standoff",
    stale_s: float = 60.0,
    how: str = "m-f",
    ce_m: float = UNKNOWN,
) -> list[bytes]:
    """One event per ``(time, track_id, lat, lon)`` row: unknown ground tracks (``a-u-G``),
    ``how="m-f"`` (machine, fused: tracker output).  Pass ``how="m-s"`` for simulated data."""
    return [
        cot_event(
            f"{source}.track.{track_id}",
            "a-u-G",
            how,
            time,
            lat,
            lon,
            stale_s=stale_s,
            ce_m=ce_m,
            remarks=f"track {track_id}",
            callsign=f"T{track_id}",
            marking=marking,
            standoff={"kind": "track", "track_id": str(track_id)},
        )
        for time, track_id, lat, lon in rows
    ]


def track_points_to_cot(
    points: TrackPoints,
    marking: Marking,
    *,
    source: str = "standoff",
    stale_s: float = 60.0,
    how: str = "m-f",
    latest_only: bool = True,
) -> list[bytes]:
    """Events for track reports (the last report of each track by default) with course and
    speed from each track's previous report (geodesic, degrees true and m/s)."""
    from pyproj import Geod

    n = len(points)
    course = np.full(n, np.nan)
    speed = np.full(n, np.nan)
    if n > 1:
        order = np.lexsort((points.time_utc.astype(np.int64), points.track_id))
        ids = points.track_id[order]
        same = ids[1:] == ids[:-1]
        lon, lat = points.lon_deg[order], points.lat_deg[order]
        az, _, dist = Geod(ellps="WGS84").inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
        dt_s = np.diff(points.time_utc[order].astype("datetime64[us]").astype(np.int64)) / 1e6
        ok = same & (dt_s > 0)
        course[order[1:][ok]] = np.mod(np.asarray(az)[ok], 360.0)
        speed[order[1:][ok]] = np.asarray(dist)[ok] / dt_s[ok]
    keep = np.arange(n)
    if latest_only and n:
        order = np.lexsort((points.time_utc.astype(np.int64), points.track_id))
        ids = points.track_id[order]
        keep = order[np.r_[ids[1:] != ids[:-1], True]]
    out = []
    for k in keep.tolist():
        when = points.time_utc[k].astype("datetime64[us]").item().replace(tzinfo=UTC)
        tid = int(points.track_id[k])
        has_motion = bool(np.isfinite(course[k]) and np.isfinite(speed[k]))
        out.append(
            cot_event(
                f"{source}.track.{tid}",
                "a-u-G",
                how,
                when,
                float(points.lat_deg[k]),
                float(points.lon_deg[k]),
                stale_s=stale_s,
                remarks=f"track {tid}",
                callsign=f"T{tid}",
                marking=marking,
                standoff={"kind": "track", "track_id": str(tid)},
                course_deg=float(course[k]) if has_motion else None,
                speed_mps=float(speed[k]) if has_motion else None,
            )
        )
    return out


def _finding_place(f: Finding, findings: Findings) -> tuple[float, float] | None:
    """(lat, lon) where a TAK client should show the finding, or None."""
    if isinstance(f, Site | BorderApproach):
        return f.lat_deg, f.lon_deg
    if isinstance(f, Corridor):
        lon, lat = f.path_lonlat_deg[len(f.path_lonlat_deg) // 2]
        return lat, lon
    subject = next((g for g in findings.all() if g.id == f.subject_id), None)
    return None if subject is None or subject is f else _finding_place(subject, findings)


def _summary(f: Finding) -> str:
    if isinstance(f, Site):
        return f"suspected site, {f.visit_count} visits, mean dwell {f.mean_dwell_s / 60:.0f} min"
    if isinstance(f, Corridor):
        seen = (
            f", {f.observed_share:.0%} of its line seen, the rest inferred along roads"
            if f.observed_share is not None and f.observed_share < 0.995
            else ""
        )
        return (
            f"corridor, {f.traversal_count} traversals at {f.typical_speed_mps * 3.6:.0f} km/h"
            f"{seen}"
        )
    if isinstance(f, BorderApproach):
        return (
            f"border approach ({f.kind.replace('_', ' ')}) {f.border_distance_m:.0f} m from the "
            f"border at {_t(f.time_utc)}, nearest port {f.nearest_port}"
        )
    return (
        f"change alert on {f.subject_id} ({f.activity}): {f.direction} from "
        f"{f.baseline_rate_per_day:.1f} to "
        f"{f.observed_rate_per_day:.1f} per day"
    )


def findings_to_cot(
    findings: Findings,
    marking: Marking,
    *,
    source: str = "standoff",
    stale_s: float = 7 * 86_400.0,
) -> list[bytes]:
    """One event per finding with a place (an alert at its subject's place), timed at the end
    of the analysed period and stale ``stale_s`` later (a week by default).  Each event
    carries its finding's own marking; ``marking`` (the product's) is named beside it."""
    out = []
    for f in findings.all():
        place = _finding_place(f, findings)
        if place is None:
            continue
        links = [(lat, lon) for lon, lat in f.path_lonlat_deg] if isinstance(f, Corridor) else []
        out.append(
            cot_event(
                f"{source}.finding.{f.id}",
                _KIND_TYPE[type(f)],
                "h-e",
                findings.end_utc,
                place[0],
                place[1],
                stale_s=stale_s,
                ce_m=f.radius_m if isinstance(f, Site) else UNKNOWN,
                remarks=(
                    f"{f.id}: {_summary(f)}; {f.confidence}; evidence "
                    f"{f.evidence.detection_count} detections, {len(f.evidence.track_ids)} "
                    f"tracks, {_t(f.evidence.first_utc)} to {_t(f.evidence.last_utc)}"
                ),
                callsign=f.id,
                marking=f.marking,
                standoff={
                    "kind": _KIND[type(f)],
                    "finding": f.id,
                    "run": findings.run_id,
                    "confidence": f.confidence.words,
                    "probability": f"{f.confidence.probability:.4f}",
                    "product_marking": marking.banner(),
                },
                links_latlon_deg=links,
            )
        )
    return out


def write_cot_file(events: Iterable[bytes], path: str | Path) -> Path:
    """Write events one per line (UTF-8)."""
    return write_text_atomic(path, "".join(e.decode("utf-8") + "\n" for e in events))


def read_cot_file(path: str | Path) -> list[bytes]:
    """The events of a file written by :func:`write_cot_file`."""
    text = Path(path).read_text(encoding="utf-8")
    return [line.encode("utf-8") for line in text.splitlines() if line.strip()]
