"""Approvals: the state machine crossed with every action, the two-person rule, roles,
reasons, the approved window, and the gate in front of flying and exporting.

A fake mission store (dicts) drives the table; one test runs the same flow on the SQLite
store."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from standoff.core.errors import InputError, PolicyDenied
from standoff.oversight import AuditLog, MemoryAuditStore
from standoff.oversight.approval import (
    TRANSITIONS,
    User,
    act,
    approval_decision,
    load_users,
    mission_id_of,
    parse_users,
    plan_sha256_of,
    require_approved,
    submit,
)
from standoff.oversight.keys import Signer

NOW = datetime(2026, 3, 19, 12, 0, tzinfo=UTC)
PLANNER = User("alice", ("planner",))
APPROVER = User("bob", ("approver",))
BOTH = User("dave", ("approver", "planner"))
ANALYST = User("carol", ("analyst",))
ADMIN = User("erin", ("admin",))
STATES = ("draft", "submitted", "approved", "flown", "closed", "rejected")
PLAN = {
    "schema": "standoff.plan/1",
    "mission_name": "m1",
    "operator": "USA",
    "start_utc": "2026-03-20T02:00:00Z",
    "aircraft_name": "mq9",
    "sensors": ["gmti", "eoir"],
    "path_time_s": [0.0, 3600.0, 7200.0],
}


@dataclass(frozen=True)
class _Mission:
    mission_id: str
    name: str
    planner: str
    state: str
    plan_sha256: str | None


class FakeStore:
    """The MissionStore port in dicts."""

    def __init__(self) -> None:
        self.missions: dict[str, _Mission] = {}
        self.plans: dict[str, str] = {}
        self.user_names: list[Any] = []

    def create_mission(
        self,
        mission_id: str,
        name: str,
        planner: str,
        *,
        now: datetime,
        plan_sha256: str | None = None,
    ) -> _Mission:
        m = _Mission(mission_id, name, planner, "draft", plan_sha256)
        self.missions[mission_id] = m
        return m

    def mission(self, mission_id: str) -> _Mission | None:
        return self.missions.get(mission_id)

    def transition(
        self,
        mission_id: str,
        from_state: str,
        to_state: str,
        *,
        now: datetime,
        plan_sha256: str | None = None,
    ) -> bool:
        m = self.missions[mission_id]
        if m.state != from_state:
            return False
        self.missions[mission_id] = replace(m, state=to_state)
        return True

    def put_plan(self, plan_sha256: str, mission_id: str, document: str, *, now: datetime) -> None:
        self.plans[plan_sha256] = document

    def plan_document(self, plan_sha256: str) -> str | None:
        return self.plans.get(plan_sha256)

    def add_user(
        self,
        name: str,
        roles: Any,
        token: str | None,
        *,
        now: datetime,
        partner_country: str | None = None,
    ) -> Any:
        self.user_names.append(User(name, tuple(roles), partner_country))

    def users(self) -> Any:
        return list(self.user_names)

    def force(self, mission_id: str, state: str) -> None:
        self.missions[mission_id] = replace(self.missions[mission_id], state=state)


def _text(doc: dict[str, Any] = PLAN) -> str:
    return json.dumps(doc, indent=1) + "\n"


@pytest.fixture
def world() -> tuple[FakeStore, AuditLog, str]:
    store = FakeStore()
    log = AuditLog(MemoryAuditStore())
    mission = submit(store, log, PLANNER, mission_name="m1", plan_document=_text(), now=NOW)
    return store, log, mission


def _log_text(log: AuditLog) -> str:
    return "\n".join(e.entry.decode() for e in log.entries())


def _actor(action: str) -> User:
    return {"submit": PLANNER, "revise": PLANNER, "fly": PLANNER}.get(action, APPROVER)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", sorted(TRANSITIONS))
def test_every_action_in_every_state(
    world: tuple[FakeStore, AuditLog, str], state: str, action: str
) -> None:
    """Exactly the transitions of the table are legal; every other is refused with the
    reason, logged, and leaves the state alone."""
    store, log, mission = world
    store.force(mission, state)
    src, dst, _ = TRANSITIONS[action]
    before = log.size
    if state == src:
        assert act(store, log, _actor(action), mission, action, reason="because", now=NOW) == dst
        assert store.missions[mission].state == dst
        assert f'"mission.{action}"' in _log_text(log)
    else:
        with pytest.raises(PolicyDenied, match=f"is {state}, not {src}"):
            act(store, log, _actor(action), mission, action, reason="because", now=NOW)
        assert store.missions[mission].state == state
    assert log.size == before + 1  # the transition or the refusal, with its reason


def test_two_person_rule_role_and_reason(world: tuple[FakeStore, AuditLog, str]) -> None:
    store, log, _ = world
    mission = submit(
        store,
        log,
        BOTH,
        mission_name="m2",
        plan_document=_text({**PLAN, "mission_name": "m2"}),
        now=NOW,
    )
    with pytest.raises(PolicyDenied, match="two-person rule: dave planned this mission"):
        act(store, log, BOTH, mission, "approve", reason="fine", now=NOW)
    with pytest.raises(PolicyDenied, match="two-person rule"):
        act(store, log, BOTH, mission, "reject", reason="no", now=NOW)
    for user in (ANALYST, ADMIN, PLANNER):
        with pytest.raises(PolicyDenied, match="lacks the role"):
            act(store, log, user, mission, "approve", reason="fine", now=NOW)
    with pytest.raises(PolicyDenied, match="needs a recorded reason"):
        act(store, log, APPROVER, mission, "approve", reason=" \t", now=NOW)
    assert store.missions[mission].state == "submitted"
    assert (
        act(store, log, APPROVER, mission, "approve", reason="clear of MEX", now=NOW) == "approved"
    )
    text = _log_text(log)
    assert text.count("two-person rule") == 2
    assert "clear of MEX" in text
    signer = Signer.generate("t")
    log.checkpoint(signer, NOW)
    assert log.verify(signer.verifier).entries == log.size


def test_only_a_planner_submits(world: tuple[FakeStore, AuditLog, str]) -> None:
    store, log, _ = world
    with pytest.raises(PolicyDenied, match="not a planner"):
        submit(store, log, APPROVER, mission_name="m1", plan_document=_text(), now=NOW)
    with pytest.raises(InputError, match="not JSON"):
        submit(store, log, PLANNER, mission_name="m1", plan_document="{nope", now=NOW)


@pytest.mark.parametrize(
    ("where", "edit"),
    [
        ("plan", lambda d: {**d, "sensors": ["gmti", "agm-114"]}),
        ("plan", lambda d: {**d, "extra": {"weapon_bay": True}}),
        ("plan", lambda d: {**d, "extra": {"payload": {"hardpoints": 2}}}),
        ("aircraft", lambda d: {"profile": "mq9", "stores": ["gbu-12"]}),
        ("mission", lambda d: {"name": "m1", "payload": ["eoir", "laser designator"]}),
    ],
)
def test_a_weapon_declaration_refuses_the_submission(
    world: tuple[FakeStore, AuditLog, str], where: str, edit: Any
) -> None:
    store, log, _ = world
    doc = dict(PLAN)
    documents: dict[str, Any] = {}
    if where == "plan":
        doc = edit(doc)
    else:
        documents[f"{where}.yaml"] = edit({})
    text = _text({**doc, "mission_name": "armed"})
    with pytest.raises(PolicyDenied, match="intelligence-only"):
        submit(
            store,
            log,
            PLANNER,
            mission_name="armed",
            plan_document=text,
            now=NOW,
            documents=documents,
        )
    assert mission_id_of("armed", plan_sha256_of(text)) not in store.missions
    entry = json.loads(list(log.entries())[-1].entry)
    assert entry["action"] == "policy.mandate"
    assert entry["details"]["allowed"] is False
    assert "weapon capability" in entry["details"]["reasons"][0]


def test_approved_window(world: tuple[FakeStore, AuditLog, str]) -> None:
    store, log, mission = world
    start = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
    with pytest.raises(PolicyDenied, match="outside the approved window"):
        act(
            store,
            log,
            APPROVER,
            mission,
            "approve",
            reason="ok",
            now=NOW,
            window=(start + timedelta(minutes=1), start + timedelta(days=1)),
        )
    with pytest.raises(PolicyDenied, match="outside the approved window"):
        act(
            store,
            log,
            APPROVER,
            mission,
            "approve",
            reason="ok",
            now=NOW,
            window=(start, start + timedelta(seconds=7199)),
        )
    assert store.missions[mission].state == "submitted"
    assert (
        act(
            store,
            log,
            APPROVER,
            mission,
            "approve",
            reason="ok",
            now=NOW,
            window=(start, start + timedelta(seconds=7200)),
        )
        == "approved"
    )
    entries = [json.loads(e.entry) for e in log.entries()]
    windows = [e for e in entries if e["action"] == "policy.time_window"]
    assert [w["details"]["allowed"] for w in windows] == [False, False, True]
    assert entries[-1]["details"]["window"] == [
        "2026-03-20T02:00:00.000000Z",
        "2026-03-20T04:00:00.000000Z",
    ]
    with pytest.raises(InputError, match="goes with an approval"):
        act(store, log, PLANNER, mission, "fly", reason="", now=NOW, window=(start, start))
    other = submit(
        store,
        log,
        PLANNER,
        mission_name="m3",
        plan_document=_text({**PLAN, "mission_name": "m3"}),
        now=NOW,
    )
    with pytest.raises(InputError, match="ends before it starts"):
        act(
            store,
            log,
            APPROVER,
            other,
            "approve",
            reason="ok",
            now=NOW,
            window=(start, start - timedelta(1)),
        )


def test_the_gate_requires_the_approved_plan(world: tuple[FakeStore, AuditLog, str]) -> None:
    store, log, mission = world
    sha = plan_sha256_of(_text())
    assert mission == mission_id_of("m1", sha)
    with pytest.raises(PolicyDenied, match="is submitted; only an approved plan"):
        require_approved(store, mission, sha)
    with pytest.raises(PolicyDenied, match="no such mission"):
        require_approved(store, "other-000000000000", sha)
    act(store, log, APPROVER, mission, "approve", reason="ok", now=NOW)
    assert require_approved(store, mission, sha).allowed
    # The same mission id with another plan (a re-plan) is refused: it needs its approval.
    replanned = plan_sha256_of(_text({**PLAN, "path_time_s": [0.0, 3601.0]}))
    with pytest.raises(PolicyDenied, match="not the approved one"):
        require_approved(store, mission, replanned)
    act(store, log, PLANNER, mission, "fly", reason="sortie", now=NOW)
    assert require_approved(store, mission, sha).allowed  # being flown
    act(store, log, APPROVER, mission, "close", reason="done", now=NOW)
    with pytest.raises(PolicyDenied, match="is closed"):
        require_approved(store, mission, sha)
    # Recorded when a log is given, refusals too.
    before = log.size
    with pytest.raises(PolicyDenied):
        require_approved(store, mission, sha, log=log, who="alice", now=NOW)
    assert log.size == before + 1
    last = json.loads(list(log.entries())[-1].entry)
    assert last["action"] == "policy.approval"
    assert last["objects_sha256_hex"] == {"plan": sha}
    assert not approval_decision(store, mission, sha).allowed


def test_rejected_back_to_draft_and_resubmitted(world: tuple[FakeStore, AuditLog, str]) -> None:
    store, log, mission = world
    assert (
        act(store, log, APPROVER, mission, "reject", reason="too close to the line", now=NOW)
        == "rejected"
    )
    assert act(store, log, PLANNER, mission, "revise", reason="will re-plan", now=NOW) == "draft"
    again = submit(store, log, PLANNER, mission_name="m1", plan_document=_text(), now=NOW)
    assert again == mission
    assert store.missions[mission].state == "submitted"


def test_the_sqlite_store_holds_the_same_rules(tmp_path: Path) -> None:
    from standoff.store.sql import open_store

    with open_store(str(tmp_path / "s.db")) as store:
        log = AuditLog(store.audit_store())
        mission = submit(store, log, PLANNER, mission_name="m1", plan_document=_text(), now=NOW)
        with pytest.raises(PolicyDenied, match="two-person"):
            act(
                store,
                log,
                User("alice", ("planner", "approver")),
                mission,
                "approve",
                reason="x",
                now=NOW,
            )
        start = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
        act(
            store,
            log,
            APPROVER,
            mission,
            "approve",
            reason="ok",
            now=NOW,
            window=(start, start + timedelta(hours=3)),
        )
        assert require_approved(store, mission, plan_sha256_of(_text())).allowed
        mode = store.engine.connect().exec_driver_sql("PRAGMA journal_mode").scalar()
        assert str(mode).lower() == "wal"
        signer = Signer.generate("t")
        log.checkpoint(signer, NOW)
        assert log.verify(signer.verifier).entries == log.size


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("users: [{name: x, roles: [pilot]}]", "users.0.roles.0", "pilot"),
        ("users: [{name: x, roles: [planner]}, {name: x, roles: [approver]}]", "users.1.name", "x"),
        ("users: [{name: 'a b', roles: [planner]}]", "users.0.name", "a b"),
        (
            "users: [{name: x, roles: [partner], partner_country: mex}]",
            "users.0.partner_country",
            "mex",
        ),
        ("users: [{name: x, roles: planner}]", "users.0.roles", "planner"),
        ("users: []", "users", None),
        ("- just a list", "", None),
    ],
)
def test_users_file_errors_name_file_field_value(
    tmp_path: Path, text: str, field: str, value: Any
) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_users(path)
    assert err.value.source == str(path)
    assert (err.value.field or "") == field
    if value is not None:
        assert err.value.value == value
    assert str(path) in str(err.value)


def test_users_file_unreadable_or_not_yaml(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        load_users(tmp_path / "missing.yaml")
    assert "missing.yaml" in str(err.value)
    bad = tmp_path / "bad.yaml"
    bad.write_text("users: [\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid YAML") as err:
        load_users(bad)
    assert err.value.source == str(bad)


def test_users_file_accepts_every_role_and_finds_users(tmp_path: Path) -> None:
    doc = {
        "users": [
            {"name": "p", "roles": ["planner", "analyst"]},
            {"name": "a", "roles": ["approver", "auditor", "admin"]},
            {"name": "lucia", "roles": ["partner"], "partner_country": "MEX"},
        ]
    }
    users = parse_users(yaml.safe_load(yaml.safe_dump(doc)), source="u.yaml")
    assert users.get("lucia").partner_country == "MEX"
    assert users.get("a").roles == ("admin", "approver", "auditor")
    with pytest.raises(InputError) as err:
        users.get("mallory")
    assert err.value.value == "mallory"
    assert err.value.source == "u.yaml"
