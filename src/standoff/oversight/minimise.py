"""Minimisation of data that may be about the operator's own people.

A detection inside the operator's own territory, or a track *wholly* inside it, is marked as
possibly about the operator's own persons.  Such rows are masked from products and partner
exports unless an approver releases them with a reason; a release is an audit event that
names the released ids and counts, never a coordinate, and the log is where exports read
releases back from.  Past the retention period they are purged
(:mod:`standoff.oversight.retention` decides, :func:`standoff.store.runs.apply_retention`
rewrites files and rows).  Everything here is vectorised over arrays.

For tables (pandas): :func:`minimise_table` marks each row of a detection or track table
(column ``own_territory``) and returns the view a product or partner may see;
:func:`minimise` does both tables of a run at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from standoff.airspace import Airspace
from standoff.core.errors import InputError, PolicyDenied
from standoff.domain.findings import Findings
from standoff.oversight.approval import User
from standoff.oversight.audit import AuditEvent, AuditLog

__all__ = [
    "OWN_TERRITORY_COLUMN",
    "MaskedTable",
    "Minimised",
    "MinimisedRun",
    "OwnerLookup",
    "mark_own_territory",
    "minimise",
    "minimise_table",
    "own_territory_points",
    "own_territory_tracks",
    "record_minimisation",
    "release",
    "released_ids",
]

BoolArray = npt.NDArray[np.bool_]
RELEASE_ACTION = "minimisation.release"
MASK_ACTION = "minimisation.mask"
OWN_TERRITORY_COLUMN = "own_territory"
"""The mask column: True where a row may be about the operator's own persons."""


class OwnerLookup(Protocol):
    """What minimisation needs of the airspace (:class:`~standoff.airspace.Airspace`)."""

    def owner_at(self, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike) -> Any: ...


def own_territory_points(
    airspace: Airspace | OwnerLookup, operator: str, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike
) -> BoolArray:
    """True where a point lies in the operator's own national territory (land or
    territorial sea); international airspace and foreign territory are not own territory."""
    owner = np.asarray(airspace.owner_at(lon_deg, lat_deg))
    return np.asarray(owner == operator, dtype=bool)


def own_territory_tracks(
    airspace: Airspace | OwnerLookup,
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


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class MaskedTable:
    """One minimised table: what a recipient may see, and the mask behind it."""

    view: pd.DataFrame
    """Rows a product or partner may see: not own territory, or released by an approver
    (same columns as the input, no mask column)."""
    marked: pd.DataFrame
    """Every input row with the mask column ``own_territory`` (for the owner's own use)."""
    released: pd.Series
    """Per input row: own territory but released by an approver."""

    @property
    def mask(self) -> pd.Series:
        """Per input row: True where the row may be about the operator's own persons."""
        return self.marked[OWN_TERRITORY_COLUMN]

    @property
    def own_territory_rows(self) -> int:
        return int(self.mask.sum())

    @property
    def released_rows(self) -> int:
        return int(self.released.sum())

    @property
    def masked_rows(self) -> int:
        return self.own_territory_rows - self.released_rows

    def counts(self) -> dict[str, int]:
        """Row counts (what an audit entry may say about minimisation; no coordinates)."""
        return {
            "rows": len(self.marked),
            "own_territory_rows": self.own_territory_rows,
            "released_rows": self.released_rows,
            "masked_rows": self.masked_rows,
            "shown_rows": len(self.view),
        }


@dataclass(frozen=True)
class MinimisedRun:
    detections: MaskedTable | None
    tracks: MaskedTable | None


def _columns(table: pd.DataFrame, *names: str) -> None:
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise InputError(
            "the table lacks the column(s) minimisation needs",
            field=",".join(missing),
            value=list(map(str, table.columns))[:12],
        )


def minimise_table(
    table: pd.DataFrame,
    airspace: Airspace | OwnerLookup,
    operator: str,
    *,
    kind: Literal["detections", "tracks"],
    released_ids: Iterable[str] = (),
    lon_col: str = "lon",
    lat_col: str = "lat",
    id_col: str | None = None,
) -> MaskedTable:
    """Mark and mask one table, vectorised.

    ``detections``: a row is own territory when its point is in the operator's territory.
    ``tracks`` (one row per track point, ``track_id``): a row is own territory when its
    *whole* track is (every point owned by the operator).  Own-territory rows are masked
    unless their id (``det_id`` / ``track_id``, or ``id_col``) is in ``released_ids``
    (read them with :func:`released_ids`, so that only audited releases count).
    """
    if kind not in ("detections", "tracks"):
        raise InputError("kind must be detections or tracks", field="kind", value=kind)
    ident = id_col or ("det_id" if kind == "detections" else "track_id")
    _columns(table, lon_col, lat_col, ident)
    lon = table[lon_col].to_numpy(dtype=float)
    lat = table[lat_col].to_numpy(dtype=float)
    if kind == "tracks":
        own = own_territory_tracks(airspace, operator, table[ident].to_numpy(), lon, lat)
    elif len(table):
        own = own_territory_points(airspace, operator, lon, lat)
    else:
        own = np.zeros(0, dtype=bool)
    kept = mask_rows(own, table[ident].to_numpy(), released_ids)
    marked = table.assign(**{OWN_TERRITORY_COLUMN: own})
    released = pd.Series(own & kept.keep, index=table.index, name="released")
    return MaskedTable(view=table.loc[kept.keep], marked=marked, released=released)


def minimise(
    detections: pd.DataFrame | None,
    tracks: pd.DataFrame | None,
    airspace: Airspace | OwnerLookup,
    operator: str,
    *,
    released_detections: Iterable[str] = (),
    released_tracks: Iterable[str] = (),
) -> MinimisedRun:
    """Both tables of a run (either may be None); see :func:`minimise_table`."""
    return MinimisedRun(
        None
        if detections is None
        else minimise_table(
            detections, airspace, operator, kind="detections", released_ids=released_detections
        ),
        None
        if tracks is None
        else minimise_table(
            tracks, airspace, operator, kind="tracks", released_ids=released_tracks
        ),
    )


def record_minimisation(
    log: AuditLog,
    who: str,
    *,
    run: str,
    recipient: str,
    minimised: MinimisedRun,
    now: datetime,
) -> None:
    """Log that a run's tables were minimised for ``recipient``: counts only (never ids of
    masked rows, never coordinates)."""
    details: dict[str, Any] = {"run": run, "recipient": recipient.upper()}
    if minimised.detections is not None:
        details["detections"] = minimised.detections.counts()
    if minimised.tracks is not None:
        details["tracks"] = minimised.tracks.counts()
    log.append(AuditEvent(who, MASK_ACTION, now, {}, details))
