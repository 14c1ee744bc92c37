"""The store's tables, one definition for both backends (SQLAlchemy Core).

SQLite (the embedded default, WAL) and PostgreSQL + PostGIS (the server) share these tables;
the migrations in :mod:`standoff.store.migrations` create them.  On PostGIS the migration also
adds ``detections.geom``, a generated ``geometry(Point, 4326)`` column with a GiST index, for
spatial queries; it is derived from ``lat``/``lon`` so writers never set it.  Times are
timezone-aware UTC; coordinates are WGS 84 degrees; documents (plans, findings, meta) are
canonical JSON text.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

__all__ = [
    "SCHEMA_REVISION",
    "audit_checkpoints",
    "audit_entries",
    "audit_nodes",
    "detections",
    "findings",
    "ingest_batches",
    "jobs",
    "metadata",
    "missions",
    "plans",
    "products",
    "requests",
    "runs",
    "tracks",
    "users",
]

SCHEMA_REVISION = "0003"
"""The migration revision this code expects (``alembic_version``)."""

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("roles", String(200), nullable=False),
    Column("partner_country", String(3)),
    Column("token_sha256", String(64), unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

missions = Table(
    "missions",
    metadata,
    Column("mission_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("planner", String(64), ForeignKey("users.name"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("plan_sha256", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

plans = Table(
    "plans",
    metadata,
    Column("plan_sha256", String(64), primary_key=True),
    Column("mission_id", String(64), ForeignKey("missions.mission_id"), nullable=False),
    Column("document", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("mission_id", String(64), ForeignKey("missions.mission_id")),
    Column("plan_sha256", String(64)),
    Column("status", String(16), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("meta", Text, nullable=False),
)

detections = Table(
    "detections",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=False),
    Column("det_id", String(64), nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("sensor", String(16), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("sigma_m", Float, nullable=False),
    Column("radial_velocity_mps", Float),
    Column("message_id", String(128), nullable=False),
    PrimaryKeyConstraint("run_id", "det_id"),
    Index("ix_detections_run_time", "run_id", "time"),
)

ingest_batches = Table(
    "ingest_batches",
    metadata,
    Column("message_id", String(128), primary_key=True),
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=False),
    Column("count", Integer, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

tracks = Table(
    "tracks",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=False),
    Column("track_id", BigInteger, nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("vx_mps", Float, nullable=False),
    Column("vy_mps", Float, nullable=False),
    Column("det_id", String(64)),
    PrimaryKeyConstraint("run_id", "track_id", "time"),
    Index("ix_tracks_run_time", "run_id", "time"),
)

findings = Table(
    "findings",
    metadata,
    Column("finding_id", String(64), primary_key=True),
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("marking", String(200), nullable=False),
    Column("own_territory", Boolean, nullable=False),
    Column("lat", Float),
    Column("lon", Float),
    Column("document", Text, nullable=False),
    Index("ix_findings_run", "run_id"),
)

products = Table(
    "products",
    metadata,
    Column("product_id", String(64), primary_key=True),
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("marking", String(200), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("entry", LargeBinary, nullable=False),
    Column("leaf_sha256", LargeBinary, nullable=False),
    Column("entry_sha256", LargeBinary, nullable=False),
)

audit_nodes = Table(
    "audit_nodes",
    metadata,
    Column("level", Integer, nullable=False),
    Column("node_offset", BigInteger, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    PrimaryKeyConstraint("level", "node_offset"),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("note", Text, nullable=False),
)

requests = Table(
    "requests",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("partner", String(64), ForeignKey("users.name"), nullable=False),
    Column("partner_country", String(3), nullable=False),
    Column("question", Text, nullable=False),
    Column("area", Text, nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("mission_id", String(64), ForeignKey("missions.mission_id")),
    Column("run_id", String(64), ForeignKey("runs.run_id")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
"""Partner requests for information: open -> planned (a mission) -> answered (a run)."""

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("mission_id", String(64), ForeignKey("missions.mission_id")),
    Column("requested_by", String(64), ForeignKey("users.name"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("fraction", Float, nullable=False),
    Column("run_id", String(64)),
    Column("error", Text),
    Column("result", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_jobs_mission", "mission_id"),
)
"""Background jobs (a simulated sortie started over the API): queued -> running ->
succeeded | failed, with the stage and fraction done; ``error`` and ``result`` are JSON."""
