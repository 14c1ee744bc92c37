"""Minimisation of data that may be about the operator's own people.

A detection inside the operator's own territory, or a track *wholly* inside it, is marked as
possibly about the operator's own persons.  Such rows are masked from products and partner
exports unless an approver releases them with a reason; a release is an audit event that
names the released ids and counts, never a coordinate, and the log is where exports read
releases back from.  Past the retention period they are purged (see the pipeline's
``run_retention``).  Everything here is vectorised over arrays.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from standoff.airspace import Airspace
from standoff.core.errors import InputError, PolicyDenied
from standoff.domain.findings import Findings
from standoff.oversight.approval import User
from standoff.oversight.audit import AuditEvent, AuditLog

__all__ = [
    "Minimised",
    "mark_own_territory",
    "own_territory_points",
    "own_territory_tracks",
    "release",
    "released_ids",
]

BoolArray = npt.NDArray[np.bool_]
RELEASE_ACTION = "minimisation.release"


def own_territory_points(
    airspace: Airspace, operator: str, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike
) -> BoolArray:
    """True where a point lies in the operator's own national territory (land or
    territorial sea); international airspace and foreign territory are not own territory."""
    owner = np.asarray(airspace.owner_at(lon_deg, lat_deg))
    return np.asarray(owner == operator, dtype=bool)


def own_territory_tracks(
    airspace: Airspace,
    operator: str,
    track_id: npt.ArrayLike,
    lon_deg: npt.ArrayLike,
    lat_deg: npt.ArrayLike,
) -> BoolArray:
    """Per row: True when the row's track lies wholly in own territory (all of its rows)."""
    ids = np.asarray(track_id)
    inside = own_territory_points(airspace, operator, lon_deg, lat_deg)
    uniq, inverse = np.unique(ids, return_inverse=True)
    outside_rows = np.bincount(inverse.reshape(-1), weights=~inside, minlength=len(uniq))
    return np.asarray(outside_rows[inverse.reshape(-1)] == 0, dtype=bool)


@dataclass(frozen=True, slots=True)
class Minimised:
    """Which rows a recipient may see: ``keep`` per row, and the counts behind it."""

    keep: BoolArray
    own_territory: int
    released: int

    @property
    def masked(self) -> int:
        return self.own_territory - self.released


def mask_rows(own: BoolArray, ids: npt.ArrayLike, released: Iterable[str]) -> Minimised:
    """Keep every row that is not own territory, and own-territory rows whose id an approver
    released."""
    ids_text = np.asarray(ids).astype(str)
    rel = np.isin(ids_text, np.asarray(sorted(set(released)), dtype=str)) & own
    keep = ~own | rel
    return Minimised(keep, int(own.sum()), int(rel.sum()))


def release(
    log: AuditLog,
    user: User,
    *,
    run: str,
    kind: str,
    ids: Iterable[str],
    reason: str,
    now: datetime,
) -> int:
    """An approver releases own-territory ``ids`` (track, detection or finding ids) of ``run``
    for products and partner exports; returns how many.  Logged with ids and counts only."""
    if "approver" not in user.roles:
        raise PolicyDenied(f"{user.name} is not an approver: only an approver may release")
    if kind not in ("track", "detection", "finding"):
        raise InputError("kind must be track, detection or finding", field="kind", value=kind)
    if not reason.strip():
        raise PolicyDenied("a release needs a recorded reason")
    chosen = sorted({str(i) for i in ids})
    if not chosen:
        raise InputError("nothing to release", field="ids")
    log.append(
        AuditEvent(
            user.name,
            RELEASE_ACTION,
            now,
            {},
            {"run": run, "kind": kind, "ids": chosen, "count": len(chosen), "reason": reason},
        )
    )
    return len(chosen)


def released_ids(log: AuditLog, *, run: str, kind: str) -> frozenset[str]:
    """Every id of ``run`` an approver released (read back from the audit log)."""
    out: set[str] = set()
    for stored in log.entries():
        doc = json.loads(stored.entry)
        if doc.get("action") != RELEASE_ACTION:
            continue
        details = doc.get("details", {})
        if details.get("run") == run and details.get("kind") == kind:
            out.update(str(i) for i in details.get("ids", []))
    return frozenset(out)


def mark_own_territory(findings: Findings, airspace: Airspace, operator: str) -> Findings:
    """The findings with ``own_territory`` set where a finding lies wholly in the operator's
    own territory: a site or approach by its position, a corridor by every vertex, an alert
    by its subject."""
    import dataclasses

    def own(lon: list[float], lat: list[float]) -> bool:
        return bool(own_territory_points(airspace, operator, lon, lat).all())

    sites = tuple(
        dataclasses.replace(s, own_territory=own([s.lon_deg], [s.lat_deg])) for s in findings.sites
    )
    corridors = tuple(
        dataclasses.replace(
            c,
            own_territory=own([p[0] for p in c.path_lonlat_deg], [p[1] for p in c.path_lonlat_deg]),
        )
        for c in findings.corridors
    )
    approaches = tuple(
        dataclasses.replace(a, own_territory=own([a.lon_deg], [a.lat_deg]))
        for a in findings.approaches
    )
    owned = (
        {f.id for f in sites if f.own_territory}
        | {f.id for f in corridors if f.own_territory}
        | {f.id for f in approaches if f.own_territory}
    )
    alerts = tuple(
        dataclasses.replace(a, own_territory=a.subject_id in owned) for a in findings.alerts
    )
    return dataclasses.replace(
        findings, sites=sites, corridors=corridors, approaches=approaches, alerts=alerts
    )
