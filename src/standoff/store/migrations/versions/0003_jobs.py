"""Background jobs of the service (simulations started over the API) and their progress.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("mission_id", sa.String(64), sa.ForeignKey("missions.mission_id")),
        sa.Column("requested_by", sa.String(64), sa.ForeignKey("users.name"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("fraction", sa.Float, nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("error", sa.Text),
        sa.Column("result", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_jobs_mission", "jobs", ["mission_id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_mission", table_name="jobs")
    op.drop_table("jobs")
