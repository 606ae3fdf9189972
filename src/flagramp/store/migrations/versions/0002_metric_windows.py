"""Metric windows and ingested batch keys.

Revision ID: 0002_metric_windows
Revises: 0001_flags
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_metric_windows"
down_revision = "0001_flags"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_windows",
        sa.Column("run", sa.String(255), nullable=False),
        sa.Column("flag", sa.String(255), nullable=False),
        sa.Column("lane", sa.String(16), nullable=False),
        sa.Column("start_minute", sa.BigInteger, nullable=False),
        sa.Column("end_minute", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint(
            "run",
            "flag",
            "lane",
            "start_minute",
            "end_minute",
            name="pk_metric_windows",
        ),
    )
    op.create_table(
        "ingested_batches",
        sa.Column("run", sa.String(255), nullable=False),
        sa.Column("batch_key", sa.String(255), nullable=False),
        sa.Column("windows", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("run", "batch_key", name="pk_ingested_batches"),
    )


def downgrade() -> None:
    op.drop_table("ingested_batches")
    op.drop_table("metric_windows")
