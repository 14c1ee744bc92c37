"""One store contract, two real backends: SQLite (embedded, WAL) and PostgreSQL + PostGIS.

:func:`open_store` takes a SQLAlchemy URL (``sqlite:///path/standoff.db`` or
``postgresql+psycopg://user@host:port/db``), brings the schema to the current migration with
Alembic, and returns a :class:`SqlStore`.  Every method is one transaction.  Errors of the
database become :class:`~standoff.core.errors.StorageError` (or ``InputError`` for a value the
caller got wrong), never a driver exception.

Live ingest is idempotent: a batch carries a message id; the batch and its detections are
committed together or not at all, and a message id seen before is acknowledged again without
storing anything twice, so at-least-once delivery is safe.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from standoff.core.errors import Conflict, InputError, StorageError
from standoff.oversight.merkle import NodeId
from standoff.oversight.storage import StoredCheckpoint, StoredEntry
from standoff.store import schema as t

__all__ = [
    "MISSION_STATES",
    "IngestReceipt",
    "MissionRecord",
    "SqlAuditStore",
    "SqlStore",
    "UserRecord",
    "open_store",
    "token_sha256",
]

MISSION_STATES = ("draft", "submitted", "approved", "flown", "closed", "rejected")
_ROLES = ("planner", "approver", "analyst", "partner", "auditor", "admin")


def token_sha256(token: str) -> str:
    """How an API token is kept at rest.  Tokens are 256-bit random strings, so a plain
    SHA-256 (no salt, no stretching) is enough to make a stolen table useless."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class UserRecord:
    name: str
    roles: tuple[str, ...]
    partner_country: str | None


@dataclass(frozen=True, slots=True)
class MissionRecord:
    mission_id: str
    name: str
    planner: str
    state: str
    plan_sha256: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class IngestReceipt:
    """What an ingest call did: stored ``count`` detections, or recognised a repeat."""

    message_id: str
    count: int
    duplicate: bool


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise InputError("times must be timezone-aware UTC", field="time", value=str(value))
    return value.astimezone(UTC)


def _as_utc(value: Any) -> datetime:
    """A time read back: SQLite returns naive datetimes (stored as UTC)."""
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = FULL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA busy_timeout = 10000")
    cur.close()


def open_store(url: str) -> SqlStore:
    """Open (and migrate) the store at ``url``; a bare path means a SQLite file."""
    if "://" not in url:
        url = f"sqlite:///{Path(url)}"
    try:
        engine = sa.create_engine(url, future=True, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise InputError(f"not a usable database URL: {exc}", field="db", value=url) from exc
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.name != "postgresql":
        raise InputError(
            "the store runs on SQLite or PostgreSQL", field="db", value=engine.dialect.name
        )
    try:
        _migrate(engine)
    except sa.exc.OperationalError as exc:
        raise StorageError(f"cannot open the store at {engine.url!r}: {exc.orig}") from exc
    return SqlStore(engine)


def _migrate(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class SqlStore:
    """The repository every service component uses (see the module notes)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite has one writer at a time; writers of this process queue here instead of
        # spinning on the file lock (other processes still meet busy_timeout).
        self._sqlite_writes = threading.Lock() if engine.dialect.name == "sqlite" else None

    @property
    def backend(self) -> str:
        return str(self.engine.dialect.name)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self) -> Any:
        if self._sqlite_writes is None:
            return self.engine.begin()
        return _LockedTx(self._sqlite_writes, self.engine)

    def revision(self) -> str:
        with self.engine.connect() as conn:
            return str(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar())

    # -- users ----------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        roles: Sequence[str],
        token: str | None,
        *,
        now: datetime,
        partner_country: str | None = None,
    ) -> UserRecord:
        """Add a user; ``token`` (kept only as its hash) lets them use the API, None: no
        API access (users known from a users file)."""
        bad = sorted(set(roles) - set(_ROLES))
        if bad or not roles:
            raise InputError(
                f"roles must be among {', '.join(_ROLES)}", field="roles", value=",".join(roles)
            )
        if "partner" in roles and not partner_country:
            raise InputError("a partner user needs a partner country", field="partner_country")
        record = UserRecord(name, tuple(sorted(set(roles))), partner_country)
        try:
            with self._tx() as conn:
                conn.execute(
                    t.users.insert().values(
                        name=name,
                        roles=",".join(record.roles),
                        partner_country=partner_country,
                        token_sha256=None if token is None else token_sha256(token),
                        created_at=_utc(now),
                    )
                )
        except sa.exc.IntegrityError as exc:
            raise InputError("a user of that name exists", field="name", value=name) from exc
        return record

    def user_for_token(self, token: str) -> UserRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.users.c.name, t.users.c.roles, t.users.c.partner_country).where(
                    t.users.c.token_sha256 == token_sha256(token)
                )
            ).first()
        if row is None:
            return None
        return UserRecord(row.name, tuple(row.roles.split(",")), row.partner_country)

    def users(self) -> list[UserRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.users.c.name, t.users.c.roles, t.users.c.partner_country).order_by(
                    t.users.c.name
                )
            ).all()
        return [UserRecord(r.name, tuple(r.roles.split(",")), r.partner_country) for r in rows]

    # -- missions and plans -------------------------------------------------------------

    def create_mission(
        self,
        mission_id: str,
        name: str,
        planner: str,
        *,
        now: datetime,
        plan_sha256: str | None = None,
    ) -> MissionRecord:
        try:
            with self._tx() as conn:
                conn.execute(
                    t.missions.insert().values(
                        mission_id=mission_id,
                        name=name,
                        planner=planner,
                        state="draft",
                        plan_sha256=plan_sha256,
                        created_at=_utc(now),
                        updated_at=_utc(now),
                    )
                )
        except sa.exc.IntegrityError as exc:
            raise InputError(
                "the mission exists, or its planner is not a user",
                field="mission_id",
                value=mission_id,
            ) from exc
        found = self.mission(mission_id)
        assert found is not None
        return found

    def mission(self, mission_id: str) -> MissionRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.missions).where(t.missions.c.mission_id == mission_id)
            ).first()
        if row is None:
            return None
        return MissionRecord(
            row.mission_id,
            row.name,
            row.planner,
            row.state,
            row.plan_sha256,
            _as_utc(row.created_at),
            _as_utc(row.updated_at),
        )

    def transition(
        self,
        mission_id: str,
        from_state: str,
        to_state: str,
        *,
        now: datetime,
        plan_sha256: str | None = None,
    ) -> bool:
        """Move a mission from ``from_state`` to ``to_state`` if it is still there (compare
        and set: two approvers racing cannot both win).  Returns False when it was not."""
        if to_state not in MISSION_STATES:
            raise InputError("unknown mission state", field="state", value=to_state)
        values: dict[str, Any] = {"state": to_state, "updated_at": _utc(now)}
        if plan_sha256 is not None:
            values["plan_sha256"] = plan_sha256
        with self._tx() as conn:
            result = conn.execute(
                t.missions.update()
                .where(t.missions.c.mission_id == mission_id, t.missions.c.state == from_state)
                .values(**values)
            )
        return bool(result.rowcount == 1)

    def put_plan(self, plan_sha256: str, mission_id: str, document: str, *, now: datetime) -> None:
        with self._tx() as conn:
            exists = conn.execute(
                sa.select(t.plans.c.plan_sha256).where(t.plans.c.plan_sha256 == plan_sha256)
            ).first()
            if exists is None:
                conn.execute(
                    t.plans.insert().values(
                        plan_sha256=plan_sha256,
                        mission_id=mission_id,
                        document=document,
                        created_at=_utc(now),
                    )
                )

    def plan_document(self, plan_sha256: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(t.plans.c.document).where(t.plans.c.plan_sha256 == plan_sha256)
            ).scalar()
        return None if value is None else str(value)

    # -- runs ---------------------------------------------------------------------------

    def create_run(
        self,
        run_id: str,
        *,
        now: datetime,
        mission_id: str | None = None,
        plan_sha256: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        try:
            with self._tx() as conn:
                conn.execute(
                    t.runs.insert().values(
                        run_id=run_id,
                        mission_id=mission_id,
                        plan_sha256=plan_sha256,
                        status="running",
                        started_at=_utc(now),
                        meta=json.dumps(meta or {}, sort_keys=True),
                    )
                )
        except sa.exc.IntegrityError as exc:
            raise InputError("the run exists", field="run_id", value=run_id) from exc

    def finish_run(self, run_id: str, status: str, *, now: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                t.runs.update()
                .where(t.runs.c.run_id == run_id)
                .values(status=status, finished_at=_utc(now))
            )

    def run(self, run_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.runs).where(t.runs.c.run_id == run_id)).first()
        if row is None:
            return None
        out = dict(row._mapping)
        out["meta"] = json.loads(out["meta"])
        out["started_at"] = _as_utc(out["started_at"])
        out["finished_at"] = _as_utc(out["finished_at"]) if out["finished_at"] else None
        return out

    # -- detections -----------------------------------------------------------------------

    def ingest(
        self,
        run_id: str,
        message_id: str,
        rows: Mapping[str, Any],
        *,
        now: datetime,
    ) -> IngestReceipt:
        """Store one batch of detections exactly once (see the module notes).  ``rows`` holds
        equal-length arrays ``det_id``, ``time`` (datetime64[ns] UTC or aware datetimes),
        ``sensor``, ``lat``, ``lon``, ``sigma_m`` and optionally ``radial_velocity_mps``."""
        n = len(rows["det_id"])
        rv = np.asarray(
            rows["radial_velocity_mps"]
            if rows.get("radial_velocity_mps") is not None
            else np.full(n, np.nan),
            dtype=float,
        )
        sqlite = self.backend == "sqlite"
        # Each distinct instant is converted once (a scan's detections share one).
        distinct, where = _distinct_times(rows["time"])
        if sqlite:  # SQLAlchemy's SQLite DATETIME text, written directly (the hot path)
            text = [t_.strftime("%Y-%m-%d %H:%M:%S.%f") for t_ in distinct]
            when: list[Any] = [text[i] for i in where]
        else:
            when = [distinct[i] for i in where]
        rv_list: list[float | None] = rv.tolist()
        if not np.isfinite(rv).all():
            rv_list = [v if np.isfinite(v) else None for v in rv_list]  # type: ignore[arg-type]
        records = list(
            zip(
                [run_id] * n,
                [str(v) for v in rows["det_id"]],
                when,
                [str(v) for v in rows["sensor"]],
                np.asarray(rows["lat"], dtype=float).tolist(),
                np.asarray(rows["lon"], dtype=float).tolist(),
                np.asarray(rows["sigma_m"], dtype=float).tolist(),
                rv_list,
                [message_id] * n,
                strict=True,
            )
        )
        mark = "?" if sqlite else "%s"
        insert = (
            "INSERT INTO detections (run_id, det_id, time, sensor, lat, lon, sigma_m, "
            f"radial_velocity_mps, message_id) VALUES ({', '.join([mark] * 9)})"
        )
        try:
            with self._tx() as conn:
                seen = conn.execute(
                    sa.select(t.ingest_batches.c.count).where(
                        t.ingest_batches.c.message_id == message_id
                    )
                ).first()
                if seen is not None:
                    return IngestReceipt(message_id, int(seen[0]), duplicate=True)
                conn.execute(
                    t.ingest_batches.insert().values(
                        message_id=message_id, run_id=run_id, count=n, received_at=_utc(now)
                    )
                )
                if records and sqlite:
                    conn.exec_driver_sql(insert, records)
                elif records:
                    _copy_detections(conn, records)
        except sa.exc.IntegrityError as exc:
            # Either a concurrent delivery of the same message won the race (then this one
            # is a repeat) or a detection id is reused across messages (a caller's error).
            with self.engine.connect() as conn:
                seen = conn.execute(
                    sa.select(t.ingest_batches.c.count).where(
                        t.ingest_batches.c.message_id == message_id
                    )
                ).first()
            if seen is not None:
                return IngestReceipt(message_id, int(seen[0]), duplicate=True)
            raise InputError(
                "a detection id of this batch is already stored for the run (or the run "
                "does not exist)",
                field="det_id",
                value=run_id,
            ) from exc
        return IngestReceipt(message_id, n, duplicate=False)

    def count_detections(self, run_id: str) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.detections)
                .where(t.detections.c.run_id == run_id)
            ).scalar()
        return int(value or 0)

    def detections(
        self,
        run_id: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Detections of a run, in time then id order; ``bbox`` is (lon_min, lat_min,
        lon_max, lat_max), answered by the GiST index on PostGIS."""
        d = t.detections
        q = sa.select(
            d.c.det_id,
            d.c.time,
            d.c.sensor,
            d.c.lat,
            d.c.lon,
            d.c.sigma_m,
            d.c.radial_velocity_mps,
        ).where(d.c.run_id == run_id)
        if since is not None:
            q = q.where(d.c.time >= _utc(since))
        if until is not None:
            q = q.where(d.c.time < _utc(until))
        if bbox is not None:
            x0, y0, x1, y1 = bbox
            if self.backend == "postgresql":
                q = q.where(
                    sa.text("geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)").bindparams(
                        x0=x0, y0=y0, x1=x1, y1=y1
                    )
                )
            else:
                q = q.where(d.c.lon.between(x0, x1), d.c.lat.between(y0, y1))
        q = q.order_by(d.c.time, d.c.det_id)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [{**r._mapping, "time": _as_utc(r.time)} for r in rows]

    # -- tracks, findings, products -------------------------------------------------------

    def put_tracks(self, run_id: str, rows: Sequence[dict[str, Any]]) -> int:
        records = [
            {
                "run_id": run_id,
                "track_id": int(r["track_id"]),
                "time": _utc(r["time"]),
                "lat": float(r["lat"]),
                "lon": float(r["lon"]),
                "vx_mps": float(r["vx_mps"]),
                "vy_mps": float(r["vy_mps"]),
                "det_id": r.get("det_id"),
            }
            for r in rows
        ]
        try:
            with self._tx() as conn:
                conn.execute(t.tracks.delete().where(t.tracks.c.run_id == run_id))
                if records:
                    conn.execute(t.tracks.insert(), records)
        except sa.exc.IntegrityError as exc:
            raise InputError(
                "two rows for one track at one time (or the run does not exist)",
                field="track_id,time",
                value=run_id,
            ) from exc
        return len(records)

    def tracks(self, run_id: str) -> list[dict[str, Any]]:
        tr = t.tracks
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(tr).where(tr.c.run_id == run_id).order_by(tr.c.time, tr.c.track_id)
            ).all()
        return [{**r._mapping, "time": _as_utc(r.time)} for r in rows]

    def put_finding(
        self,
        finding_id: str,
        run_id: str,
        kind: str,
        marking: str,
        document: dict[str, Any],
        *,
        own_territory: bool = False,
        lat: float | None = None,
        lon: float | None = None,
    ) -> None:
        with self._tx() as conn:
            conn.execute(t.findings.delete().where(t.findings.c.finding_id == finding_id))
            conn.execute(
                t.findings.insert().values(
                    finding_id=finding_id,
                    run_id=run_id,
                    kind=kind,
                    marking=marking,
                    own_territory=own_territory,
                    lat=lat,
                    lon=lon,
                    document=json.dumps(document, sort_keys=True),
                )
            )

    def findings(self, run_id: str) -> list[dict[str, Any]]:
        f = t.findings
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(f).where(f.c.run_id == run_id).order_by(f.c.finding_id)
            ).all()
        return [{**r._mapping, "document": json.loads(r.document)} for r in rows]

    def put_product(
        self,
        product_id: str,
        run_id: str,
        kind: str,
        media_type: str,
        marking: str,
        content: bytes,
        *,
        now: datetime,
    ) -> str:
        digest = hashlib.sha256(content).hexdigest()
        with self._tx() as conn:
            conn.execute(t.products.delete().where(t.products.c.product_id == product_id))
            conn.execute(
                t.products.insert().values(
                    product_id=product_id,
                    run_id=run_id,
                    kind=kind,
                    media_type=media_type,
                    marking=marking,
                    sha256=digest,
                    content=content,
                    created_at=_utc(now),
                )
            )
        return digest

    def product(self, product_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.products).where(t.products.c.product_id == product_id)
            ).first()
        if row is None:
            return None
        out = dict(row._mapping)
        out["content"] = bytes(out["content"])
        out["created_at"] = _as_utc(out["created_at"])
        return out

    # -- partner requests ----------------------------------------------------------------

    def add_request(
        self,
        request_id: str,
        partner: UserRecord,
        question: str,
        area: dict[str, Any],
        window: tuple[datetime, datetime],
        priority: str,
        *,
        now: datetime,
    ) -> None:
        if partner.partner_country is None:
            raise InputError("only a partner files a request", field="partner", value=partner.name)
        with self._tx() as conn:
            conn.execute(
                t.requests.insert().values(
                    request_id=request_id,
                    partner=partner.name,
                    partner_country=partner.partner_country,
                    question=question,
                    area=json.dumps(area, sort_keys=True),
                    window_start=_utc(window[0]),
                    window_end=_utc(window[1]),
                    priority=priority,
                    status="open",
                    created_at=_utc(now),
                    updated_at=_utc(now),
                )
            )

    def requests(self, partner_country: str | None = None) -> list[dict[str, Any]]:
        r = t.requests
        q = sa.select(r).order_by(r.c.created_at, r.c.request_id)
        if partner_country is not None:
            q = q.where(r.c.partner_country == partner_country)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        out = []
        for row in rows:
            d = dict(row._mapping)
            d["area"] = json.loads(d["area"])
            for k in ("window_start", "window_end", "created_at", "updated_at"):
                d[k] = _as_utc(d[k]).isoformat().replace("+00:00", "Z")
            out.append(d)
        return out

    def link_request(
        self,
        request_id: str,
        *,
        now: datetime,
        mission_id: str | None = None,
        run_id: str | None = None,
    ) -> bool:
        """A planner turns a request into a mission (status planned), or answers it with a
        run (status answered)."""
        values: dict[str, Any] = {"updated_at": _utc(now)}
        if mission_id is not None:
            values.update(mission_id=mission_id, status="planned")
        if run_id is not None:
            values.update(run_id=run_id, status="answered")
        try:
            with self._tx() as conn:
                result = conn.execute(
                    t.requests.update()
                    .where(t.requests.c.request_id == request_id)
                    .values(**values)
                )
        except sa.exc.IntegrityError as exc:
            raise InputError("no such mission or run", field="mission_id/run_id") from exc
        return bool(result.rowcount == 1)

    def products(self, run_id: str) -> list[dict[str, Any]]:
        p = t.products
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(p.c.product_id, p.c.kind, p.c.media_type, p.c.marking, p.c.sha256)
                .where(p.c.run_id == run_id)
                .order_by(p.c.product_id)
            ).all()
        return [dict(r._mapping) for r in rows]

    # -- background jobs ------------------------------------------------------------------

    def create_job(
        self,
        job_id: str,
        kind: str,
        requested_by: str,
        *,
        now: datetime,
        mission_id: str | None = None,
    ) -> None:
        """A queued job.  Raises InputError if the mission already has a queued or running
        job (one sortie at a time per approval), checked in the same transaction."""
        j = t.jobs
        try:
            with self._tx() as conn:
                if mission_id is not None:
                    busy = conn.execute(
                        sa.select(j.c.job_id).where(
                            j.c.mission_id == mission_id, j.c.state.in_(("queued", "running"))
                        )
                    ).first()
                    if busy is not None:
                        raise Conflict(
                            f"the mission already has job {busy.job_id} in progress",
                            field="mission_id",
                            value=mission_id,
                        )
                conn.execute(
                    j.insert().values(
                        job_id=job_id,
                        kind=kind,
                        mission_id=mission_id,
                        requested_by=requested_by,
                        state="queued",
                        stage="queued",
                        fraction=0.0,
                        created_at=_utc(now),
                        updated_at=_utc(now),
                    )
                )
        except sa.exc.IntegrityError as exc:
            raise InputError(
                "the job exists, or its mission or user does not", field="job_id", value=job_id
            ) from exc

    def update_job(
        self,
        job_id: str,
        *,
        now: datetime,
        state: str | None = None,
        stage: str | None = None,
        fraction: float | None = None,
        run_id: str | None = None,
        error: dict[str, Any] | None = None,
        result: dict[str, Any] | None = None,
    ) -> None:
        values: dict[str, Any] = {"updated_at": _utc(now)}
        for key, value in (
            ("state", state),
            ("stage", stage),
            ("run_id", run_id),
        ):
            if value is not None:
                values[key] = value
        if fraction is not None:
            values["fraction"] = min(1.0, max(0.0, float(fraction)))
        if error is not None:
            values["error"] = json.dumps(error, sort_keys=True)
        if result is not None:
            values["result"] = json.dumps(result, sort_keys=True)
        with self._tx() as conn:
            conn.execute(t.jobs.update().where(t.jobs.c.job_id == job_id).values(**values))

    def job(self, job_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.jobs).where(t.jobs.c.job_id == job_id)).first()
        return None if row is None else _job_dict(row)

    def jobs(self, *, limit: int = 200) -> list[dict[str, Any]]:
        j = t.jobs
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(j).order_by(j.c.created_at.desc(), j.c.job_id).limit(limit)
            ).all()
        return [_job_dict(r) for r in rows]

    def fail_unfinished_jobs(self, reason: str, *, now: datetime) -> int:
        """Mark queued and running jobs failed (at start-up: their worker is gone)."""
        j = t.jobs
        with self._tx() as conn:
            result = conn.execute(
                j.update()
                .where(j.c.state.in_(("queued", "running")))
                .values(
                    state="failed",
                    error=json.dumps({"code": "interrupted", "message": reason}),
                    updated_at=_utc(now),
                )
            )
        return int(result.rowcount or 0)

    def audit_store(self) -> SqlAuditStore:
        """The audit log's storage port on this database."""
        return SqlAuditStore(self.engine)


class _LockedTx:
    """``engine.begin()`` under an in-process write lock (SQLite)."""

    def __init__(self, lock: threading.Lock, engine: Engine) -> None:
        self._lock, self._engine = lock, engine

    def __enter__(self) -> Connection:
        self._lock.acquire()
        try:
            self._cm = self._engine.begin()
            return self._cm.__enter__()
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *exc: Any) -> None:
        try:
            self._cm.__exit__(*exc)
        finally:
            self._lock.release()


_COPY_DETECTIONS = (
    "COPY detections (run_id, det_id, time, sensor, lat, lon, sigma_m, radial_velocity_mps, "
    "message_id) FROM STDIN"
)


def _copy_detections(conn: Connection, records: Sequence[tuple[Any, ...]]) -> None:
    """PostgreSQL: the batch's rows by COPY in the open transaction (several times faster
    than a multi-row INSERT); a duplicate key becomes SQLAlchemy's IntegrityError."""
    import psycopg

    raw: Any = conn.connection.dbapi_connection  # psycopg.Connection
    try:
        with raw.cursor() as cur, cur.copy(_COPY_DETECTIONS) as copy:
            for record in records:
                copy.write_row(record)
    except psycopg.IntegrityError as exc:
        raise sa.exc.IntegrityError(_COPY_DETECTIONS, None, exc) from exc


def _job_dict(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    d["error"] = json.loads(d["error"]) if d["error"] else None
    d["result"] = json.loads(d["result"]) if d["result"] else None
    d["fraction"] = round(float(d["fraction"]), 4)
    for k in ("created_at", "updated_at"):
        d[k] = _as_utc(d[k]).isoformat().replace("+00:00", "Z")
    return d


def _distinct_times(values: Any) -> tuple[list[datetime], list[int]]:
    """The distinct instants of ``values`` (aware UTC datetimes) and, per row, the index of
    its instant: a batch holds a few scans, so each distinct time is converted once."""
    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.datetime64):
        ns = arr.astype("datetime64[ns]").astype(np.int64)
        uniq, inverse = np.unique(ns, return_inverse=True)
        return _times(uniq.astype("datetime64[ns]")), inverse.tolist()
    distinct: dict[datetime, int] = {}
    where = [
        distinct.setdefault(_utc(v) if isinstance(v, datetime) else v, len(distinct))
        for v in arr.tolist()
    ]
    return _times(list(distinct)), where


def _times(values: Any) -> list[datetime]:
    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.datetime64):
        ns = arr.astype("datetime64[ns]").astype(np.int64)
        return [
            datetime.fromtimestamp(int(v) // 1_000_000_000, tz=UTC).replace(
                microsecond=(int(v) % 1_000_000_000) // 1000
            )
            for v in ns
        ]
    out = []
    for v in arr.tolist():
        if not isinstance(v, datetime):
            raise InputError("times must be datetimes", field="time", value=str(v))
        out.append(_utc(v))
    return out


class SqlAuditStore:
    """:class:`~standoff.oversight.storage.AuditStore` on the SQL store (either backend)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def size(self) -> int:
        with self._engine.connect() as conn:
            return _size(conn)

    def append(
        self,
        entries: Sequence[StoredEntry],
        nodes: Sequence[tuple[NodeId, bytes]],
        *,
        expected_size: int,
    ) -> None:
        try:
            with self._engine.begin() as conn:
                if self._engine.dialect.name == "postgresql":
                    conn.execute(sa.text("LOCK TABLE audit_entries IN EXCLUSIVE MODE"))
                actual = _size(conn)
                if actual != expected_size:
                    raise StorageError(
                        f"the audit log holds {actual} entries, the writer expected "
                        f"{expected_size}: another writer appended; reopen the log"
                    )
                if entries:
                    conn.execute(
                        t.audit_entries.insert(),
                        [
                            {
                                "idx": e.index,
                                "entry": e.entry,
                                "leaf_sha256": e.leaf_sha256,
                                "entry_sha256": e.entry_sha256,
                            }
                            for e in entries
                        ],
                    )
                inner = [
                    {"level": n.level, "node_offset": n.offset, "hash": h}
                    for n, h in nodes
                    if n.level > 0
                ]
                if inner:
                    conn.execute(t.audit_nodes.insert(), inner)
        except sa.exc.DBAPIError as exc:
            raise StorageError(f"audit append failed: {exc.orig}") from exc

    def iter_entries(self, start: int = 0) -> Iterator[StoredEntry]:
        e = t.audit_entries
        nxt = start
        while True:
            with self._engine.connect() as conn:
                rows = conn.execute(
                    sa.select(e).where(e.c.idx >= nxt).order_by(e.c.idx).limit(5000)
                ).all()
            for r in rows:
                yield StoredEntry(
                    int(r.idx), bytes(r.entry), bytes(r.leaf_sha256), bytes(r.entry_sha256)
                )
            if len(rows) < 5000:
                return
            nxt = int(rows[-1].idx) + 1

    def entry_at(self, index: int) -> StoredEntry | None:
        e = t.audit_entries
        with self._engine.connect() as conn:
            r = conn.execute(sa.select(e).where(e.c.idx == index)).first()
        if r is None:
            return None
        return StoredEntry(int(r.idx), bytes(r.entry), bytes(r.leaf_sha256), bytes(r.entry_sha256))

    def get_nodes(self, ids: Sequence[NodeId]) -> list[bytes | None]:
        out: list[bytes | None] = []
        e, nd = t.audit_entries, t.audit_nodes
        with self._engine.connect() as conn:
            for node in ids:
                if node.level == 0:
                    v = conn.execute(
                        sa.select(e.c.leaf_sha256).where(e.c.idx == node.offset)
                    ).scalar()
                else:
                    v = conn.execute(
                        sa.select(nd.c.hash).where(
                            nd.c.level == node.level, nd.c.node_offset == node.offset
                        )
                    ).scalar()
                out.append(None if v is None else bytes(v))
        return out

    def add_checkpoint(self, tree_size: int, note: str) -> None:
        c = t.audit_checkpoints
        with self._engine.begin() as conn:
            if self._engine.dialect.name == "postgresql":
                conn.execute(sa.text("LOCK TABLE audit_checkpoints IN EXCLUSIVE MODE"))
            pos = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(c.c.position) + 1, 0))
            ).scalar()
            conn.execute(c.insert().values(position=int(pos or 0), tree_size=tree_size, note=note))

    def checkpoints(self) -> list[StoredCheckpoint]:
        c = t.audit_checkpoints
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(c).order_by(c.c.position)).all()
        return [StoredCheckpoint(int(r.position), int(r.tree_size), str(r.note)) for r in rows]


def _size(conn: Connection) -> int:
    value = conn.execute(sa.select(sa.func.max(t.audit_entries.c.idx))).scalar()
    return 0 if value is None else int(value) + 1
