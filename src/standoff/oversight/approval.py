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

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from standoff.core.errors import InputError, PolicyDenied
from standoff.core.files import load_yaml
from standoff.oversight.audit import AuditEvent, AuditLog
from standoff.oversight.policy import Decision, decision_event

__all__ = [
    "ROLES",
    "TRANSITIONS",
    "MissionRecordLike",
    "MissionStore",
    "User",
    "Users",
    "act",
    "load_users",
    "parse_users",
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


def _mission_id(name: str, plan_sha256: str) -> str:
    return f"{name}-{plan_sha256[:12]}"


def _refuse(log: AuditLog, decision: Decision, who: str, now: datetime, plan: str | None) -> None:
    log.append(decision_event(decision, who, now, {"plan": plan} if plan else {}))
    raise PolicyDenied(f"{decision.subject}: {' '.join(decision.reasons)}")


def submit(
    store: MissionStore,
    log: AuditLog,
    user: User,
    *,
    mission_name: str,
    plan_document: str,
    now: datetime,
) -> str:
    """Register a plan (its canonical ``plan.json`` text) as a mission of ``user`` and submit
    it for approval; returns the mission id (name plus the plan hash's first 12 hex digits).
    Re-submitting a rejected mission's revised plan makes a new mission id (a new plan)."""
    plan_sha = hashlib.sha256(plan_document.encode("utf-8")).hexdigest()
    mission_id = _mission_id(mission_name, plan_sha)
    if "planner" not in user.roles:
        _refuse(
            log,
            Decision("role", mission_id, False, (f"{user.name} is not a planner",)),
            user.name,
            now,
            plan_sha,
        )
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
) -> str:
    """Take ``action`` on a mission as ``user``; returns the new state.  Refusals (wrong
    role, wrong state, the planner approving their own mission, no reason) raise
    :class:`PolicyDenied` and are logged."""
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
            Decision(
                check, mission_id, False, (f"{user.name} lacks the role ({' or '.join(roles)})",)
            ),
            user.name,
            now,
            plan,
        )
    if action in ("approve", "reject") and user.name == mission.planner:
        _refuse(
            log,
            Decision(
                check,
                mission_id,
                False,
                (f"two-person rule: {user.name} planned this mission and cannot {action} it",),
            ),
            user.name,
            now,
            plan,
        )
    if action in ("approve", "reject") and not reason.strip():
        _refuse(
            log,
            Decision(check, mission_id, False, (f"an {action} needs a recorded reason",)),
            user.name,
            now,
            plan,
        )
    if mission.state != src or not store.transition(mission_id, src, dst, now=now):
        current = store.mission(mission_id)
        state = current.state if current else "unknown"
        _refuse(
            log,
            Decision(check, mission_id, False, (f"the mission is {state}, not {src}",)),
            user.name,
            now,
            plan,
        )
    log.append(
        AuditEvent(
            user.name,
            check,
            now,
            {"plan": plan} if plan else {},
            {"mission": mission_id, "from": src, "to": dst, "reason": reason},
        )
    )
    return dst


def require_approved(store: MissionStore, mission_id: str, plan_sha256: str) -> Decision:
    """The gate in front of flying and exporting: the mission is approved (or being flown)
    and the plan is exactly the approved one.  Raises :class:`PolicyDenied` otherwise."""
    mission = store.mission(mission_id)
    if mission is None:
        raise PolicyDenied(f"{mission_id}: no such mission; submit the plan for approval first")
    if mission.state not in ("approved", "flown"):
        raise PolicyDenied(
            f"{mission_id}: the mission is {mission.state}; only an approved plan may be flown "
            "or exported to a ground-control format"
        )
    if mission.plan_sha256 != plan_sha256:
        raise PolicyDenied(
            f"{mission_id}: this plan (sha256 {plan_sha256[:12]}...) is not the approved one "
            f"({(mission.plan_sha256 or '')[:12]}...); a changed plan needs a new approval"
        )
    return Decision(
        "approval",
        mission_id,
        True,
        (f"the plan sha256 {plan_sha256[:12]}... is the one approved",),
    )
