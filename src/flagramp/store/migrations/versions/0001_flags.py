"""Flags, segments, environments, store metadata and the audit log.

Revision ID: 0001_flags
Revises:
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0001_flags"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("int_value", sa.BigInteger, nullable=True),
        sa.Column("text_value", sa.Text, nullable=True),
    )
    op.create_table(
        "environments",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "flags",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("environment", "key", name="uq_flags_environment_key"),
    )
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("environment", "name", name="uq_segments_environment_name"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(300), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
        sa.Column("store_version", sa.BigInteger, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    meta = sa.table(
        "store_meta",
        sa.column("key", sa.String),
        sa.column("int_value", sa.BigInteger),
        sa.column("text_value", sa.Text),
    )
    op.bulk_insert(
        meta,
        [
            {"key": "version", "int_value": 0, "text_value": None},
            {"key": "audit_head", "int_value": 0, "text_value": "0" * 64},
        ],
    )
    envs = sa.table(
        "environments", sa.column("name", sa.String), sa.column("created_at", sa.String)
    )
    now = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    op.bulk_insert(envs, [{"name": "production", "created_at": now}])


def downgrade() -> None:
    for table in ("audit_log", "segments", "flags", "environments", "store_meta"):
        op.drop_table(table)
