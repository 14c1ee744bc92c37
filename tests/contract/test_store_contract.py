"""One store contract, run on both backends: SQLite (WAL) and PostgreSQL + PostGIS."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from standoff.core.errors import InputError, IntegrityError
from standoff.oversight.audit import AuditEvent, AuditLog
from standoff.oversight.keys import Signer
from standoff.store.schema import SCHEMA_REVISION, metadata
from standoff.store.sql import SqlStore, open_store

T0 = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> Any:
    s = open_store(store_url)
    yield s
    s.close()


def _batch(n: int, start: int = 0, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "det_id": np.array([f"d{start + i}" for i in range(n)]),
        "time": np.datetime64("2026-03-20T02:00:00", "ns")
        + (np.arange(n) // 10 * 10).astype("timedelta64[s]"),
        "sensor": np.full(n, "gmti"),
        "lat": rng.uniform(31.0, 31.8, n),
        "lon": rng.uniform(-112.4, -111.2, n),
        "sigma_m": np.full(n, 20.0),
        "radial_velocity_mps": np.where(np.arange(n) % 3 == 0, np.nan, 5.0),
    }


def _with_run(store: SqlStore) -> None:
    store.add_user("alice", ["planner"], "tok-alice", now=T0)
    store.create_mission("m1", "sasabe-corridor", "alice", now=T0)
    store.create_run("r1", now=T0, mission_id="m1", meta={"seed": 1})


@pytest.mark.filterwarnings("ignore:Did not recognize type 'geometry'")
def test_migrated_schema_is_the_declared_one(store: SqlStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    assert store.revision() == SCHEMA_REVISION

    def ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table":
            return name in metadata.tables  # not PostGIS's own tables
        # The PostGIS generated point and its GiST index exist only on PostgreSQL.
        return name not in ("geom", "ix_detections_geom")

    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": ours, "compare_type": False})
        diffs = compare_metadata(ctx, metadata)
    assert diffs == []
    if store.backend == "sqlite":
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    else:
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT postgis_version()")).scalar()


def test_users_and_tokens_hashed_at_rest(store: SqlStore) -> None:
    store.add_user("bob", ["approver", "analyst"], "s3cret-token", now=T0)
    store.add_user("liaison", ["partner"], "partner-token", now=T0, partner_country="MEX")
    user = store.user_for_token("s3cret-token")
    assert user is not None
    assert (user.name, user.roles) == ("bob", ("analyst", "approver"))
    assert store.user_for_token("wrong") is None
    with store.engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(sa.text("SELECT * FROM users")) for v in row)
    assert "s3cret-token" not in dump
    assert hashlib.sha256(b"s3cret-token").hexdigest() in dump
    with pytest.raises(InputError):
        store.add_user("bob", ["analyst"], "another", now=T0)
    with pytest.raises(InputError):
        store.add_user("eve", ["pilot"], "t", now=T0)
    with pytest.raises(InputError):
        store.add_user("p2", ["partner"], "t2", now=T0)


def test_mission_transitions_are_compare_and_set(store: SqlStore) -> None:
    _with_run(store)
    assert store.transition("m1", "draft", "submitted", now=T0, plan_sha256="ab" * 32)
    assert not store.transition("m1", "draft", "submitted", now=T0)
    wins = []

    def approve() -> None:
        wins.append(store.transition("m1", "submitted", "approved", now=T0))

    threads = [threading.Thread(target=approve) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(wins) == [False, False, False, True]
    m = store.mission("m1")
    assert m is not None
    assert (m.state, m.plan_sha256) == ("approved", "ab" * 32)


def test_ingest_is_exactly_once(store: SqlStore) -> None:
    _with_run(store)
    first = store.ingest("r1", "msg-1", _batch(50), now=T0)
    again = store.ingest("r1", "msg-1", _batch(50), now=T0)
    assert (first.count, first.duplicate) == (50, False)
    assert (again.count, again.duplicate) == (50, True)
    assert store.count_detections("r1") == 50
    # A batch reusing a stored detection id is refused whole: nothing of it is kept.
    with pytest.raises(InputError):
        store.ingest("r1", "msg-2", _batch(20, start=40), now=T0)
    assert store.count_detections("r1") == 50
    assert store.ingest("r1", "msg-2", _batch(20, start=50), now=T0).count == 20
    rows = store.detections("r1")
    assert len(rows) == 70
    assert rows[0]["time"] == T0
    assert rows[0]["radial_velocity_mps"] is None
    assert rows[1]["radial_velocity_mps"] == 5.0


def test_spatial_and_time_queries_agree_with_a_plain_filter(store: SqlStore) -> None:
    _with_run(store)
    batch = _batch(500, seed=7)
    store.ingest("r1", "m", batch, now=T0)
    box = (-112.0, 31.2, -111.6, 31.5)
    inside = (
        (batch["lon"] >= box[0])
        & (batch["lon"] <= box[2])
        & (batch["lat"] >= box[1])
        & (batch["lat"] <= box[3])
    )
    got = {r["det_id"] for r in store.detections("r1", bbox=box)}
    assert got == set(batch["det_id"][inside])
    late = store.detections("r1", since=T0 + timedelta(seconds=2000))
    expected = (batch["time"] >= np.datetime64("2026-03-20T02:33:20", "ns")).sum()
    assert len(late) == expected


def test_tracks_findings_products_round_trip(store: SqlStore) -> None:
    _with_run(store)
    rows = [
        {
            "track_id": 7,
            "time": T0 + timedelta(seconds=10 * i),
            "lat": 31.3,
            "lon": -111.5,
            "vx_mps": 10.0,
            "vy_mps": -1.5,
            "det_id": f"d{i}",
        }
        for i in range(5)
    ]
    assert store.put_tracks("r1", rows) == 5
    assert store.put_tracks("r1", rows) == 5  # replaces, never duplicates
    back = store.tracks("r1")
    assert [r["time"] for r in back] == [r["time"] for r in rows]
    store.put_finding(
        "f1", "r1", "site", "UNCLASSIFIED//REL TO USA, MEX", {"visits": 9}, lat=31.22, lon=-111.45
    )
    store.put_finding("f2", "r1", "site", "UNCLASSIFIED//NOFORN", {"visits": 2}, own_territory=True)
    found = store.findings("r1")
    assert [(f["finding_id"], f["own_territory"]) for f in found] == [("f1", False), ("f2", True)]
    assert found[0]["document"] == {"visits": 9}
    digest = store.put_product(
        "p1",
        "r1",
        "geojson",
        "application/geo+json",
        "UNCLASSIFIED//REL TO USA, MEX",
        b'{"type":"FeatureCollection"}',
        now=T0,
    )
    product = store.product("p1")
    assert product is not None
    assert product["sha256"] == digest
    assert product["content"] == b'{"type":"FeatureCollection"}'


def test_the_audit_log_runs_and_detects_tampering_on_the_store(store: SqlStore) -> None:
    signer = Signer.generate("contract")
    log = AuditLog(store.audit_store())
    events = [
        AuditEvent("alice", "plan.create", T0 + timedelta(seconds=i), {"plan": "ab" * 32}, {"i": i})
        for i in range(40)
    ]
    log.append_batch(events[:25])
    log.checkpoint(signer, T0 + timedelta(hours=1))
    for e in events[25:]:
        log.append(e)
    log.checkpoint(signer, T0 + timedelta(hours=2))
    assert log.verify(signer.verifier).entries == 40
    reopened = AuditLog(store.audit_store())
    assert reopened.root_sha256() == log.root_sha256()
    with store.engine.begin() as conn:
        entry = conn.execute(sa.text("SELECT entry FROM audit_entries WHERE idx = 3")).scalar()
        conn.execute(
            sa.text("UPDATE audit_entries SET entry = :e WHERE idx = 3"),
            {"e": bytes(entry).replace(b"alice", b"mallo")},
        )
    with pytest.raises(IntegrityError):
        AuditLog(store.audit_store()).verify(signer.verifier)


def test_bad_urls_are_input_errors(tmp_path: Any) -> None:
    with pytest.raises(InputError):
        open_store("mysql://nobody@localhost/x")
    with pytest.raises(InputError):
        open_store("not a url ://")


def test_jobs_queue_progress_and_one_sortie_per_mission(store: SqlStore) -> None:
    _with_run(store)
    store.create_job("j1", "sortie", "alice", now=T0, mission_id="m1")
    with pytest.raises(InputError, match="in progress"):
        store.create_job("j2", "sortie", "alice", now=T0, mission_id="m1")
    with pytest.raises(InputError):
        store.create_job("j1", "sortie", "alice", now=T0)  # the id is taken
    later = T0 + timedelta(seconds=5)
    store.update_job("j1", now=later, state="running", stage="flying", fraction=0.4)
    job = store.job("j1")
    assert job is not None
    assert (job["state"], job["stage"], job["fraction"]) == ("running", "flying", 0.4)
    assert job["updated_at"] == "2026-03-20T02:00:05Z"
    store.update_job(
        "j1",
        now=later,
        state="succeeded",
        stage="done",
        fraction=1.5,
        run_id="r1",
        result={"run": "r1", "detections": 3},
    )
    done = store.job("j1")
    assert done is not None
    assert done["fraction"] == 1.0  # clipped
    assert done["result"] == {"run": "r1", "detections": 3}
    assert done["error"] is None
    store.create_job("j2", "sortie", "alice", now=later, mission_id="m1")  # m1 is free again
    store.create_job("j3", "sortie", "alice", now=later)
    assert store.fail_unfinished_jobs("restarted", now=later) == 2
    failed = store.job("j2")
    assert failed is not None
    assert failed["state"] == "failed"
    assert failed["error"] == {"code": "interrupted", "message": "restarted"}
    assert [j["job_id"] for j in store.jobs()][-1] == "j1"
    assert store.job("nope") is None


def test_ingest_takes_aware_datetimes_or_datetime64_alike(store: SqlStore) -> None:
    _with_run(store)
    rows = _batch(30)
    as_datetimes = {
        **rows,
        "det_id": np.array([f"e{i}" for i in range(30)]),
        "time": [
            datetime(2026, 3, 20, 2, 0, tzinfo=UTC) + timedelta(seconds=int(s))
            for s in (np.arange(30) // 10 * 10)
        ],
    }
    store.ingest("r1", "dt64", rows, now=T0)
    store.ingest("r1", "aware", as_datetimes, now=T0)
    got = store.detections("r1")
    by_id = {r["det_id"]: r["time"] for r in got}
    assert all(by_id[f"d{i}"] == by_id[f"e{i}"] for i in range(30))
    assert {by_id[f"d{i}"].second for i in range(30)} == {0, 10, 20}
    assert all(t.tzinfo is not None for t in by_id.values())
    naive = {**as_datetimes, "det_id": np.array([f"n{i}" for i in range(30)])}
    naive["time"] = [t.replace(tzinfo=None) for t in as_datetimes["time"]]
    with pytest.raises(InputError):
        store.ingest("r1", "naive", naive, now=T0)
