"""The first schema: users, missions, plans, runs, detections, tracks, findings, products
and the audit log; on PostgreSQL a PostGIS point per detection with a GiST index.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("roles", sa.String(200), nullable=False),
        sa.Column("partner_country", sa.String(3)),
        sa.Column("token_sha256", sa.String(64), unique=True),
        sa.Column("created_at", _TZ, nullable=False),
    )
    op.create_table(
        "missions",
        sa.Column("mission_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("planner", sa.String(64), sa.ForeignKey("users.name"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("plan_sha256", sa.String(64)),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
    )
    op.create_table(
        "plans",
        sa.Column("plan_sha256", sa.String(64), primary_key=True),
        sa.Column(
            "mission_id", sa.String(64), sa.ForeignKey("missions.mission_id"), nullable=False
        ),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("mission_id", sa.String(64), sa.ForeignKey("missions.mission_id")),
        sa.Column("plan_sha256", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", _TZ, nullable=False),
        sa.Column("finished_at", _TZ),
        sa.Column("meta", sa.Text, nullable=False),
    )
    op.create_table(
        "detections",
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("det_id", sa.String(64), nullable=False),
        sa.Column("time", _TZ, nullable=False),
        sa.Column("sensor", sa.String(16), nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("sigma_m", sa.Float, nullable=False),
        sa.Column("radial_velocity_mps", sa.Float),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "det_id"),
    )
    op.create_index("ix_detections_run_time", "detections", ["run_id", "time"])
    op.create_table(
        "ingest_batches",
        sa.Column("message_id", sa.String(128), primary_key=True),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("received_at", _TZ, nullable=False),
    )
    op.create_table(
        "tracks",
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("track_id", sa.BigInteger, nullable=False),
        sa.Column("time", _TZ, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("vx_mps", sa.Float, nullable=False),
        sa.Column("vy_mps", sa.Float, nullable=False),
        sa.Column("det_id", sa.String(64)),
        sa.PrimaryKeyConstraint("run_id", "track_id", "time"),
    )
    op.create_index("ix_tracks_run_time", "tracks", ["run_id", "time"])
    op.create_table(
        "findings",
        sa.Column("finding_id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("marking", sa.String(200), nullable=False),
        sa.Column("own_territory", sa.Boolean, nullable=False),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("document", sa.Text, nullable=False),
    )
    op.create_index("ix_findings_run", "findings", ["run_id"])
    op.create_table(
        "products",
        sa.Column("product_id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("marking", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
    )
    op.create_table(
        "audit_entries",
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("entry", sa.LargeBinary, nullable=False),
        sa.Column("leaf_sha256", sa.LargeBinary, nullable=False),
        sa.Column("entry_sha256", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "audit_nodes",
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("node_offset", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("level", "node_offset"),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("tree_size", sa.BigInteger, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        op.execute(
            "ALTER TABLE detections ADD COLUMN geom geometry(Point, 4326) "
            "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED"
        )
        op.execute("CREATE INDEX ix_detections_geom ON detections USING gist (geom)")


def downgrade() -> None:
    for table in (
        "audit_checkpoints",
        "audit_nodes",
        "audit_entries",
        "products",
        "findings",
        "tracks",
        "ingest_batches",
        "detections",
        "runs",
        "plans",
        "missions",
        "users",
    ):
        op.drop_table(table)
