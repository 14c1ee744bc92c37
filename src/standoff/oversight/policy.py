"""Policy decisions: every check answers ``allowed`` with its reasons, and becomes an audit
event.  Nothing here raises for a "no": the caller decides what a refusal stops (the gates in
the pipeline raise :class:`~standoff.core.errors.PolicyDenied` with the reasons).

Checks: airspace conformance of a plan with its margin (exact), the intelligence-only mandate
(no weapon capability anywhere in the aircraft or mission documents), the sortie's time window,
retention, and releasability of a product to its recipient.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from standoff.airspace import Airspace, FlightPath, check_path
from standoff.core.errors import InputError, PolicyDenied
from standoff.domain.marking import Marking
from standoff.domain.mission import MissionPlan
from standoff.oversight.audit import AuditEvent, AuditLog
from standoff.platforms.mandate import MANDATE, refuse_kinetic

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "Decision",
    "check_airspace",
    "check_mandate",
    "check_release",
    "check_retention",
    "check_time_window",
    "check_window",
    "decision_event",
    "record",
    "record_and_require",
    "require",
    "sortie_span",
]

DEFAULT_RETENTION_DAYS = 5 * 365
"""Own-territory data is purged after five years unless configured otherwise."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of one policy check about one subject: ``allowed`` and why.

    ``check`` names the rule (``airspace``, ``mandate``, ``time_window``, ``retention``,
    ``release``, ``approval``, ``mission.approve`` ...), ``subject`` what it was asked about
    (a mission, plan, run or product id).  Build it with keywords.
    """

    allowed: bool
    reasons: tuple[str, ...]
    check: str
    subject: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    """Numbers behind the answer (never coordinates of own-territory data)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "subject": self.subject,
            "allowed": self.allowed,
            "reasons": list(self.reasons),
            "facts": dict(self.facts),
        }


def require(decisions: Iterable[Decision]) -> None:
    """Raise :class:`PolicyDenied` naming every refused check and its reasons."""
    refused = [d for d in decisions if not d.allowed]
    if refused:
        raise PolicyDenied(
            "; ".join(f"{d.check} ({d.subject}): {' '.join(d.reasons)}" for d in refused)
        )


def decision_event(
    decision: Decision,
    who: str,
    at_utc: datetime,
    objects_sha256_hex: Mapping[str, str] | None = None,
) -> AuditEvent:
    """The audit event recording a decision: who asked, ``policy.<check>``, when, the
    digests of the objects it was about, and the decision with its reasons."""
    return AuditEvent(
        who,
        f"policy.{decision.check}",
        at_utc,
        dict(objects_sha256_hex or {}),
        decision.to_dict(),
    )


def record(
    log: AuditLog,
    decision: Decision,
    *,
    who: str,
    at_utc: datetime,
    objects_sha256_hex: Mapping[str, str] | None = None,
) -> Decision:
    """Append ``decision`` to the audit log and return it (allowed or not)."""
    log.append(decision_event(decision, who, at_utc, objects_sha256_hex))
    return decision


def record_and_require(
    log: AuditLog,
    decisions: Sequence[Decision],
    *,
    who: str,
    at_utc: datetime,
    objects_sha256_hex: Mapping[str, str] | None = None,
) -> None:
    """Log every decision (refusals too), then raise :class:`PolicyDenied` if any refused."""
    log.append_batch([decision_event(d, who, at_utc, objects_sha256_hex) for d in decisions])
    require(decisions)


# --------------------------------------------------------------------------- checks


def check_airspace(plan: MissionPlan, airspace: Airspace) -> Decision:
    """The plan's whole nominal path and each orbit's racetrack (closed), checked exactly
    against the operator's forbidden airspace grown by the plan's margin (never sampled)."""
    name = plan.mission_name
    parts = [FlightPath(plan.path_lon_deg, plan.path_lat_deg, source=f"plan {name}")]
    for o in plan.orbits:
        if len(o.lon_deg):
            lon = np.append(o.lon_deg, o.lon_deg[0])
            lat = np.append(o.lat_deg, o.lat_deg[0])
            parts.append(FlightPath(lon, lat, source=f"plan {name} orbit {o.name}"))
    results = [check_path(airspace, fp, plan.operator, plan.margin_m) for fp in parts]
    min_clearance = min(float(r.min_clearance_m) for r in results)
    incursions = [i for r in results for i in r.incursions]
    facts = {
        "operator": plan.operator,
        "margin_m": plan.margin_m,
        "min_clearance_m": round(min_clearance, 1),
        "incursions": len(incursions),
    }
    if all(r.conformant for r in results):
        reasons = (
            f"the whole path and every orbit keep {min_clearance:,.0f} m from airspace "
            f"{plan.operator} may not enter (margin {plan.margin_m:,.0f} m)",
        )
        return Decision(
            allowed=True,
            reasons=reasons,
            check="airspace",
            subject=plan.mission_name,
            facts=facts,
        )
    worst = incursions[0] if incursions else None
    what = next(fp.source for fp, r in zip(parts, results, strict=True) if not r.conformant)
    reasons = (
        f"{what} comes within {min_clearance:,.0f} m of forbidden airspace, inside "
        f"the {plan.margin_m:,.0f} m margin"
        + (f" ({len(incursions)} incursion(s), first into {worst.airspace})" if worst else ""),
    )
    return Decision(
        allowed=False, reasons=reasons, check="airspace", subject=plan.mission_name, facts=facts
    )


def check_mandate(documents: Mapping[str, Any], subject: str) -> Decision:
    """No weapon capability anywhere in the given documents (aircraft, mission, scenario,
    plan): any key or value declaring one refuses the whole subject."""
    for name, doc in documents.items():
        try:
            refuse_kinetic(doc, source=name)
        except InputError as exc:
            return Decision(
                allowed=False,
                reasons=(f"{name} declares a weapon capability at {exc.field!r}: {MANDATE}",),
                check="mandate",
                subject=subject,
                facts={"document": name, "field": exc.field},
            )
    return Decision(
        allowed=True,
        reasons=(f"no weapon capability declared in {', '.join(sorted(documents))}",),
        check="mandate",
        subject=subject,
    )


def check_window(
    subject: str,
    sortie_start: datetime,
    sortie_end: datetime,
    window_start: datetime,
    window_end: datetime,
) -> Decision:
    """The sortie ``[sortie_start, sortie_end]`` lies inside the approved window."""
    if window_end < window_start:
        raise InputError(
            "the approved window ends before it starts",
            field="window",
            value=f"{window_start.isoformat()} .. {window_end.isoformat()}",
        )
    facts = {
        "sortie_start": sortie_start.isoformat(),
        "sortie_end": sortie_end.isoformat(),
        "window_start": window_start.isoformat(),
        "window_end": window_end.isoformat(),
    }
    span = f"the sortie {sortie_start:%Y-%m-%d %H:%M}Z to {sortie_end:%Y-%m-%d %H:%M}Z"
    if sortie_start >= window_start and sortie_end <= window_end:
        return Decision(
            allowed=True,
            reasons=(f"{span} lies inside the approved window",),
            check="time_window",
            subject=subject,
            facts=facts,
        )
    return Decision(
        allowed=False,
        reasons=(
            f"{span} is outside the approved window {window_start:%Y-%m-%d %H:%M}Z to "
            f"{window_end:%Y-%m-%d %H:%M}Z",
        ),
        check="time_window",
        subject=subject,
        facts=facts,
    )


def check_time_window(plan: MissionPlan, window_start: datetime, window_end: datetime) -> Decision:
    """The sortie (plan start to plan end) lies inside the approved window."""
    start = plan.start_utc
    return check_window(
        plan.mission_name,
        start,
        start + timedelta(seconds=plan.duration_s),
        window_start,
        window_end,
    )


def sortie_span(
    plan_document: Mapping[str, Any], *, source: str = "plan.json"
) -> tuple[datetime, datetime]:
    """Start and end (UTC) of the sortie a ``plan.json`` document describes."""
    try:
        start = datetime.fromisoformat(str(plan_document["start_utc"]).replace("Z", "+00:00"))
        times = plan_document["path_time_s"]
        duration = float(times[-1]) if times else 0.0
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise InputError(
            "the plan has no readable start_utc / path_time_s", source=source, field="start_utc"
        ) from exc
    if start.tzinfo is None:
        raise InputError("start_utc must be UTC", source=source, field="start_utc", value=start)
    return start, start + timedelta(seconds=duration)


def check_retention(
    subject: str, recorded_at: datetime, now: datetime, retention_days: int
) -> Decision:
    """Own-territory data recorded at ``recorded_at`` may be kept until the period ends."""
    if retention_days < 0:
        raise InputError("must not be negative", field="retention_days", value=retention_days)
    until = recorded_at + timedelta(days=retention_days)
    facts = {
        "recorded_at": recorded_at.isoformat(),
        "keep_until": until.isoformat(),
        "retention_days": retention_days,
    }
    if now < until:
        return Decision(
            allowed=True,
            reasons=(f"within the {retention_days}-day retention period (until {until:%Y-%m-%d})",),
            check="retention",
            subject=subject,
            facts=facts,
        )
    return Decision(
        allowed=False,
        reasons=(
            f"past the {retention_days}-day retention period (ended {until:%Y-%m-%d}): purge",
        ),
        check="retention",
        subject=subject,
        facts=facts,
    )


def check_release(marking: Marking, recipient: str, subject: str) -> Decision:
    """A product may go to ``recipient`` only if its marking releases it there (every
    export asks this; the owner always may)."""
    facts = {"marking": marking.banner(), "recipient": recipient.upper()}
    if marking.releasable_to_partner(recipient):
        return Decision(
            allowed=True,
            reasons=(f"marked {marking.banner()}: releasable to {recipient.upper()}",),
            check="release",
            subject=subject,
            facts=facts,
        )
    return Decision(
        allowed=False,
        reasons=(f"marked {marking.banner()}: not releasable to {recipient.upper()}",),
        check="release",
        subject=subject,
        facts=facts,
    )
