"""Policy decisions: every check answers ``allowed`` with its reasons, and becomes an audit
event.  Nothing here raises for a "no": the caller decides what a refusal stops (the gates in
the pipeline raise :class:`~standoff.core.errors.PolicyDenied` with the reasons).

Checks: airspace conformance of a plan with its margin (exact), the intelligence-only mandate
(no weapon capability anywhere in the aircraft or mission documents), the sortie's time window,
retention, and releasability of a product to its recipient.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from standoff.airspace import Airspace, FlightPath, check_path
from standoff.core.errors import InputError, PolicyDenied
from standoff.domain.marking import Marking
from standoff.domain.mission import MissionPlan
from standoff.oversight.audit import AuditEvent
from standoff.platforms.mandate import MANDATE, refuse_kinetic

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "Decision",
    "check_airspace",
    "check_mandate",
    "check_release",
    "check_retention",
    "check_time_window",
    "decision_event",
    "require",
]

DEFAULT_RETENTION_DAYS = 5 * 365
"""Own-territory data is purged after five years unless configured otherwise."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of one policy check about one subject."""

    check: str
    subject: str
    allowed: bool
    reasons: tuple[str, ...]
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
    """The audit event recording a decision."""
    return AuditEvent(
        who,
        f"policy.{decision.check}",
        at_utc,
        dict(objects_sha256_hex or {}),
        decision.to_dict(),
    )


def check_airspace(plan: MissionPlan, airspace: Airspace) -> Decision:
    """The plan's whole nominal path, checked exactly against the operator's forbidden
    airspace grown by the plan's margin."""
    result = check_path(
        airspace,
        FlightPath(plan.path_lon_deg, plan.path_lat_deg, source=f"plan {plan.mission_name}"),
        plan.operator,
        plan.margin_m,
    )
    facts = {
        "operator": plan.operator,
        "margin_m": plan.margin_m,
        "min_clearance_m": round(float(result.min_clearance_m), 1),
        "incursions": len(result.incursions),
    }
    if result.conformant:
        reasons = (
            f"the whole path keeps {result.min_clearance_m:,.0f} m from airspace "
            f"{plan.operator} may not enter (margin {plan.margin_m:,.0f} m)",
        )
        return Decision("airspace", plan.mission_name, True, reasons, facts)
    worst = result.incursions[0] if result.incursions else None
    reasons = (
        f"the path comes within {result.min_clearance_m:,.0f} m of forbidden airspace, inside "
        f"the {plan.margin_m:,.0f} m margin"
        + (
            f" ({len(result.incursions)} incursion(s), first into {worst.airspace})"
            if worst
            else ""
        ),
    )
    return Decision("airspace", plan.mission_name, False, reasons, facts)


def check_mandate(documents: Mapping[str, Any], subject: str) -> Decision:
    """No weapon capability anywhere in the given documents (aircraft, mission, scenario)."""
    for name, doc in documents.items():
        try:
            refuse_kinetic(doc, source=name)
        except InputError as exc:
            return Decision(
                "mandate",
                subject,
                False,
                (f"{name} declares a weapon capability at {exc.field!r}: {MANDATE}",),
                {"document": name, "field": exc.field},
            )
    return Decision(
        "mandate",
        subject,
        True,
        (f"no weapon capability declared in {', '.join(sorted(documents))}",),
    )


def check_time_window(plan: MissionPlan, window_start: datetime, window_end: datetime) -> Decision:
    """The sortie (plan start to plan end) lies inside the approved window."""
    start = plan.start_utc
    end = start + timedelta(seconds=plan.duration_s)
    facts = {"sortie_start": start.isoformat(), "sortie_end": end.isoformat()}
    if start >= window_start and end <= window_end:
        return Decision(
            "time_window",
            plan.mission_name,
            True,
            (
                f"the sortie {start:%Y-%m-%d %H:%M}Z to {end:%Y-%m-%d %H:%M}Z lies inside "
                "the window",
            ),
            facts,
        )
    return Decision(
        "time_window",
        plan.mission_name,
        False,
        (
            f"the sortie {start:%Y-%m-%d %H:%M}Z to {end:%Y-%m-%d %H:%M}Z is outside the "
            f"approved window {window_start:%Y-%m-%d %H:%M}Z to {window_end:%Y-%m-%d %H:%M}Z",
        ),
        facts,
    )


def check_retention(
    subject: str, recorded_at: datetime, now: datetime, retention_days: int
) -> Decision:
    """Own-territory data recorded at ``recorded_at`` may be kept until the period ends."""
    if retention_days < 0:
        raise InputError("must not be negative", field="retention_days", value=retention_days)
    until = recorded_at + timedelta(days=retention_days)
    facts = {"recorded_at": recorded_at.isoformat(), "keep_until": until.isoformat()}
    if now < until:
        return Decision(
            "retention",
            subject,
            True,
            (f"within the {retention_days}-day retention period (until {until:%Y-%m-%d})",),
            facts,
        )
    return Decision(
        "retention",
        subject,
        False,
        (f"past the {retention_days}-day retention period (ended {until:%Y-%m-%d}): purge",),
        facts,
    )


def check_release(marking: Marking, recipient: str, subject: str) -> Decision:
    """A product may go to ``recipient`` only if its marking releases it there."""
    if marking.releasable_to_partner(recipient):
        return Decision(
            "release",
            subject,
            True,
            (f"marked {marking.banner()}: releasable to {recipient.upper()}",),
            {"marking": marking.banner(), "recipient": recipient.upper()},
        )
    return Decision(
        "release",
        subject,
        False,
        (f"marked {marking.banner()}: not releasable to {recipient.upper()}",),
        {"marking": marking.banner(), "recipient": recipient.upper()},
    )
