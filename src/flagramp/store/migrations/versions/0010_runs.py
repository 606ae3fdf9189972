"""Plan runs: the run row, its append-only event log, plan versions, incidents.

The tables are defined in `store/run_tables.py`. On MySQL/MariaDB: utf8mb4,
names compared byte for byte, LONGTEXT documents, as migration 0003 made the
other tables.

Revision ID: 0010_runs
Revises: 0008_outbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0010_runs"
down_revision = "0008_outbox"
branch_labels = None
depends_on = None

MYSQL = ("mysql", "mariadb")
MYSQL_TABLE: dict[str, object] = {
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def _name(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), *MYSQL
    )


def _document() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(mysql.LONGTEXT(), *MYSQL)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", _name(255), primary_key=True),
        sa.Column("plan_name", _name(255), nullable=False),
        sa.Column("environment", _name(64), nullable=False),
        sa.Column("plan_text", _document(), nullable=False),
        sa.Column("plan_hash", sa.String(64), nullable=False),
        sa.Column("plan_version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("state", _document(), nullable=False),
        sa.Column("observe", sa.Boolean, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("watched_version", sa.BigInteger, nullable=False),
        sa.Column("created_by", _name(255), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        **MYSQL_TABLE,  # type: ignore[arg-type]
    )
    op.create_index("ix_runs_status", "runs", ["status", "id"])
    op.create_table(
        "run_events",
        sa.Column("run", _name(255), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("actor", _name(255), nullable=True),
        sa.Column("data", _document(), nullable=False),
        sa.Column("store_version", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("run", "seq", name="pk_run_events"),
        **MYSQL_TABLE,  # type: ignore[arg-type]
    )
    op.create_index("ix_run_events_version", "run_events", ["run", "store_version"])
    op.create_table(
        "run_plan_versions",
        sa.Column("run", _name(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("text", _document(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("diff", _document(), nullable=False),
        sa.Column("adopted_by", _name(255), nullable=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("run", "version", name="pk_run_plan_versions"),
        **MYSQL_TABLE,  # type: ignore[arg-type]
    )
    op.create_table(
        "run_incidents",
        sa.Column("run", _name(255), nullable=False),
        sa.Column("incident", _name(64), nullable=False),
        sa.Column("record", _document(), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("run", "incident", name="pk_run_incidents"),
        **MYSQL_TABLE,  # type: ignore[arg-type]
    )


def downgrade() -> None:
    op.drop_table("run_incidents")
    op.drop_table("run_plan_versions")
    op.drop_index("ix_run_events_version", "run_events")
    op.drop_table("run_events")
    op.drop_index("ix_runs_status", "runs")
    op.drop_table("runs")
