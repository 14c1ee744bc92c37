"""Mission approval: draft -> submitted -> approved -> flown -> closed, with the two-person
rule, and the gate in front of flying and exporting.

Users and their roles come from a local users file now (``users.yaml``)::

    users:
      - {name: alice, roles: [planner]}
      - {name: bob, roles: [approver]}
      - {name: lucia, roles: [partner], partner_country: MEX}

and from the service's store later.  Every transition is checked (role, state, two-person
rule), recorded in the mission store with compare-and-set (two approvers racing cannot both
win), and appended to the audit log with its reason; a refusal raises
:class:`~standoff.core.errors.PolicyDenied` with the reason and is logged too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from standoff.core.errors import InputError, PolicyDenied
from standoff.core.files import load_yaml
from standoff.oversight._utc import format_utc
from standoff.oversight.audit import AuditEvent, AuditLog
from standoff.oversight.policy import (
    Decision,
    check_mandate,
    check_window,
    decision_event,
    sortie_span,
)
from standoff.platforms.catalogue import AIRCRAFT, SENSORS

__all__ = [
    "ROLES",
    "TRANSITIONS",
    "MissionRecordLike",
    "MissionStore",
    "User",
    "Users",
    "act",
    "approval_decision",
    "load_users",
    "mission_id_of",
    "parse_users",
    "plan_sha256_of",
    "require_approved",
    "submit",
]

Role = Literal["planner", "approver", "analyst", "partner", "auditor", "admin"]
ROLES: tuple[str, ...] = ("planner", "approver", "analyst", "partner", "auditor", "admin")

TRANSITIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # action: (from state, to state, roles allowed to take it)
    "submit": ("draft", "submitted", ("planner",)),
    "approve": ("submitted", "approved", ("approver",)),
    "reject": ("submitted", "rejected", ("approver",)),
    "revise": ("rejected", "draft", ("planner",)),
    "fly": ("approved", "flown", ("planner", "admin")),
    "close": ("flown", "closed", ("approver", "admin")),
}


@dataclass(frozen=True, slots=True)
class User:
    name: str
    roles: tuple[str, ...]
    partner_country: str | None = None


class _User(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    roles: list[Role] = Field(min_length=1)
    partner_country: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class _Users(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    users: list[_User] = Field(min_length=1)


class Users:
    """The people who may act, by name."""

    def __init__(self, users: list[User], source: str) -> None:
        self._by_name = {u.name: u for u in users}
        self.source = source

    def get(self, name: str) -> User:
        user = self._by_name.get(name)
        if user is None:
            raise InputError("no such user", source=self.source, field="--as", value=name)
        return user

    def __iter__(self) -> Any:
        return iter(self._by_name.values())


def parse_users(document: Any, *, source: str) -> Users:
    """Validate a users document (unknown fields, unknown roles and duplicates refused)."""
    try:
        model = _Users.model_validate(document)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InputError(err["msg"], source=source, field=where, value=err.get("input")) from exc
    seen: set[str] = set()
    users = []
    for i, u in enumerate(model.users):
        if u.name in seen:
            raise InputError("duplicate user", source=source, field=f"users.{i}.name", value=u.name)
        seen.add(u.name)
        if "partner" in u.roles and not u.partner_country:
            raise InputError(
                "a partner needs partner_country (ISO 3166-1 alpha-3)",
                source=source,
                field=f"users.{i}.partner_country",
            )
        users.append(User(u.name, tuple(sorted(set(u.roles))), u.partner_country))
    return Users(users, source)


def load_users(path: str | Path) -> Users:
    p = Path(path)
    return parse_users(load_yaml(p), source=str(p))


class MissionRecordLike(Protocol):
    @property
    def mission_id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def planner(self) -> str: ...

    @property
    def state(self) -> str: ...

    @property
    def plan_sha256(self) -> str | None: ...


class MissionStore(Protocol):
    """What approvals need from a store (the SQL store provides it)."""

    def create_mission(
        self,
        mission_id: str,
        name: str,
        planner: str,
        *,
        now: datetime,
        plan_sha256: str | None = None,
    ) -> MissionRecordLike: ...

    def mission(self, mission_id: str) -> MissionRecordLike | None: ...

    def transition(
        self,
        mission_id: str,
        from_state: str,
        to_state: str,
        *,
        now: datetime,
        plan_sha256: str | None = None,
    ) -> bool: ...

    def put_plan(
        self, plan_sha256: str, mission_id: str, document: str, *, now: datetime
    ) -> None: ...

    def plan_document(self, plan_sha256: str) -> str | None: ...

    def add_user(
        self,
        name: str,
        roles: Any,
        token: str | None,
        *,
        now: datetime,
        partner_country: str | None = None,
    ) -> Any: ...

    def users(self) -> Any: ...


def plan_sha256_of(plan_document: str) -> str:
    """The hash that names a plan: SHA-256 of its ``plan.json`` text (UTF-8 bytes)."""
    return hashlib.sha256(plan_document.encode("utf-8")).hexdigest()


def mission_id_of(mission_name: str, plan_sha256: str) -> str:
    """A mission's id: its name and the first 12 hex digits of its plan's hash, so a
    re-planned mission is a new mission that needs its own approval."""
    return f"{mission_name}-{plan_sha256[:12]}"


def _platform_documents(plan: Mapping[str, Any]) -> dict[str, Any]:
    """The catalogue specs of the aircraft and sensors a plan names (checked too)."""
    out: dict[str, Any] = {}
    name = plan.get("aircraft_name")
    if isinstance(name, str) and name in AIRCRAFT:
        out[f"aircraft {name}"] = dataclasses.asdict(AIRCRAFT[name])
    sensors = plan.get("sensors")
    for sensor in sensors if isinstance(sensors, list) else []:
        if isinstance(sensor, str) and sensor in SENSORS:
            out[f"sensor {sensor}"] = dataclasses.asdict(SENSORS[sensor])
    return out


def _refuse(log: AuditLog, decision: Decision, who: str, now: datetime, plan: str | None) -> None:
    """Log a refusal (a decision from :func:`_denied`) and raise."""
    assert not decision.allowed
    _gate(log, decision, who, now, plan)


def _gate(
    log: AuditLog,
    decision: Decision,
    who: str,
    now: datetime,
    plan: str | None,
    subject: str | None = None,
) -> None:
    """Log ``decision`` (refusals too) and raise :class:`PolicyDenied`, naming ``subject``
    (default the decision's), on a "no"."""
    log.append(decision_event(decision, who, now, {"plan": plan} if plan else {}))
    if not decision.allowed:
        raise PolicyDenied(f"{subject or decision.subject}: {' '.join(decision.reasons)}")


def mandate_documents(plan_doc: Mapping[str, Any]) -> dict[str, Any]:
    """What the mandate check reads for a plan: the plan and the catalogue specs of the
    aircraft and sensors it names."""
    return {"plan.json": plan_doc, **_platform_documents(plan_doc)}


def _denied(check: str, subject: str, reason: str) -> Decision:
    return Decision(allowed=False, reasons=(reason,), check=check, subject=subject)


def _plan_json(plan_document: str, source: str) -> dict[str, Any]:
    try:
        doc = json.loads(plan_document)
    except ValueError as exc:
        raise InputError(f"the plan is not JSON: {exc}", source=source) from exc
    if not isinstance(doc, dict):
        raise InputError("the plan must be a JSON object", source=source)
    return doc


def submit(
    store: MissionStore,
    log: AuditLog,
    user: User,
    *,
    mission_name: str,
    plan_document: str,
    now: datetime,
    documents: Mapping[str, Any] | None = None,
) -> str:
    """Register a plan (its canonical ``plan.json`` text) as a mission of ``user`` and submit
    it for approval; returns the mission id (:func:`mission_id_of`).

    The intelligence-only mandate is checked on the plan and on any other ``documents``
    given (aircraft or mission configuration, by name): a weapon declared anywhere refuses
    the submission.  The decision is logged either way.  Re-submitting a rejected mission's
    revised plan makes a new mission id (a new plan)."""
    plan_sha = plan_sha256_of(plan_document)
    mission_id = mission_id_of(mission_name, plan_sha)
    if "planner" not in user.roles:
        _refuse(
            log,
            _denied("role", mission_id, f"{user.name} is not a planner"),
            user.name,
            now,
            plan_sha,
        )
    plan_doc = _plan_json(plan_document, f"plan of {mission_name}")
    mandate = check_mandate({**mandate_documents(plan_doc), **(documents or {})}, mission_id)
    _gate(log, mandate, user.name, now, plan_sha)
    if store.mission(mission_id) is None:
        known = {u.name for u in store.users()}
        if user.name not in known:
            store.add_user(  # from the users file: no API token
                user.name, list(user.roles), None, now=now, partner_country=user.partner_country
            )
        store.create_mission(mission_id, mission_name, user.name, now=now, plan_sha256=plan_sha)
        store.put_plan(plan_sha, mission_id, plan_document, now=now)
        log.append(
            AuditEvent(
                user.name, "mission.create", now, {"plan": plan_sha}, {"mission": mission_id}
            )
        )
    act(store, log, user, mission_id, "submit", reason="submitted for approval", now=now)
    return mission_id


def act(
    store: MissionStore,
    log: AuditLog,
    user: User,
    mission_id: str,
    action: str,
    *,
    reason: str,
    now: datetime,
    window: tuple[datetime, datetime] | None = None,
    plan_check: Callable[[str], Decision] | None = None,
) -> str:
    """Take ``action`` on a mission as ``user``; returns the new state.

    Refusals (wrong role, illegal transition, the planner approving or rejecting their own
    mission, an approval or rejection without a reason, a sortie outside the approved
    ``window``) raise :class:`PolicyDenied` with the reason and are logged.  ``window``
    (approve only) is the time window the approver approves the sortie for; the plan's
    sortie must lie inside it.  ``plan_check`` (approve only) judges the stored plan's
    ``plan.json`` text again once the caller may approve (the pipeline passes the airspace
    check); its decision is logged and a "no" refuses the approval."""
    if action not in TRANSITIONS:
        raise InputError(
            f"unknown action; one of {', '.join(TRANSITIONS)}", field="action", value=action
        )
    mission = store.mission(mission_id)
    if mission is None:
        raise InputError("no such mission", field="mission", value=mission_id)
    src, dst, roles = TRANSITIONS[action]
    plan = mission.plan_sha256
    check = f"mission.{action}"
    if not set(roles) & set(user.roles):
        _refuse(
            log,
            _denied(check, mission_id, f"{user.name} lacks the role ({' or '.join(roles)})"),
            user.name,
            now,
            plan,
        )
    if action in ("approve", "reject") and user.name == mission.planner:
        _refuse(
            log,
            _denied(
                check,
                mission_id,
                f"two-person rule: {user.name} planned this mission and cannot {action} it",
            ),
            user.name,
            now,
            plan,
        )
    if action in ("approve", "reject") and not reason.strip():
        _refuse(
            log,
            _denied(check, mission_id, f"an {action} needs a recorded reason"),
            user.name,
            now,
            plan,
        )
    if mission.state != src:
        _refuse(
            log,
            _denied(check, mission_id, f"the mission is {mission.state}, not {src}"),
            user.name,
            now,
            plan,
        )
    details: dict[str, Any] = {"mission": mission_id, "from": src, "to": dst, "reason": reason}
    if window is not None and action != "approve":
        raise InputError("a time window goes with an approval", field="window")
    if action == "approve" and (plan_check is not None or window is not None):
        document = store.plan_document(plan) if plan else None
        if document is None:
            raise InputError("the mission's plan is not stored", field="mission", value=mission_id)
        if plan_check is not None:
            _gate(log, plan_check(document), user.name, now, plan, mission_id)
        if window is not None:
            start, end = sortie_span(_plan_json(document, f"plan of {mission_id}"))
            decision = check_window(mission_id, start, end, window[0], window[1])
            _gate(log, decision, user.name, now, plan)
            details["window"] = [format_utc(window[0]), format_utc(window[1])]
    if not store.transition(mission_id, src, dst, now=now):
        current = store.mission(mission_id)
        state = current.state if current else "unknown"
        _refuse(
            log,
            _denied(check, mission_id, f"the mission is {state}, not {src}"),
            user.name,
            now,
            plan,
        )
    log.append(AuditEvent(user.name, check, now, {"plan": plan} if plan else {}, details))
    return dst


def approval_decision(store: MissionStore, mission_id: str, plan_sha256: str) -> Decision:
    """Whether the plan with hash ``plan_sha256`` may be flown or exported as mission
    ``mission_id``: the mission is approved (or being flown) and the plan is exactly the
    approved one.  Never raises for a "no"."""
    mission = store.mission(mission_id)
    if mission is None:
        return _denied(
            "approval", mission_id, "no such mission; submit the plan for approval first"
        )
    if mission.state not in ("approved", "flown"):
        return _denied(
            "approval",
            mission_id,
            f"the mission is {mission.state}; only an approved plan may be flown or exported "
            "to a ground-control format",
        )
    if mission.plan_sha256 != plan_sha256:
        return _denied(
            "approval",
            mission_id,
            f"this plan (sha256 {plan_sha256[:12]}...) is not the approved one "
            f"({(mission.plan_sha256 or '')[:12]}...); a changed plan needs a new approval",
        )
    return Decision(
        allowed=True,
        reasons=(f"the plan sha256 {plan_sha256[:12]}... is the one approved",),
        check="approval",
        subject=mission_id,
        facts={"state": mission.state},
    )


def require_approved(
    store: MissionStore,
    mission_id: str,
    plan_sha256: str,
    *,
    log: AuditLog | None = None,
    who: str = "standoff",
    now: datetime | None = None,
) -> Decision:
    """The gate in front of flying and exporting (see :func:`approval_decision`): returns
    the allowing decision or raises :class:`PolicyDenied` with the reason.  With ``log``
    (and ``now``), the decision is recorded in the audit log either way."""
    decision = approval_decision(store, mission_id, plan_sha256)
    if log is not None:
        if now is None:
            raise InputError("give the time of the decision", field="now")
        _gate(log, decision, who, now, plan_sha256)
    elif not decision.allowed:
        raise PolicyDenied(f"{mission_id}: {' '.join(decision.reasons)}")
    return decision
