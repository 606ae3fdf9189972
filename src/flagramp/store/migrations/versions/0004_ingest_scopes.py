"""Ingest scopes: per-actor state and batch keys, so that ingest resumes exactly.

Revision ID: 0004_ingest_scopes
Revises: 0002_metric_windows

Numbered 0004: the store's own 0003 lands beside it; when both are merged, this
revision's `down_revision` becomes that one's id (one line).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_ingest_scopes"
down_revision = "0003_store_port"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_scopes",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("run", sa.String(255), nullable=False),
        sa.Column("flag", sa.String(255), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("marks", sa.Text, nullable=False),
        sa.Column("batches", sa.BigInteger, nullable=False),
        sa.Column("closed", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ingest_scopes"),
        sa.UniqueConstraint("run", "flag", name="uq_ingest_scopes_run_flag"),
    )
    op.create_table(
        "ingest_actors",
        sa.Column("scope_id", sa.Integer, nullable=False),
        sa.Column("actor_hash", sa.BigInteger, nullable=False),
        sa.Column("lane", sa.String(16), nullable=False),
        sa.Column("marks", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("scope_id", "actor_hash", name="pk_ingest_actors"),
        sa.ForeignKeyConstraint(
            ["scope_id"],
            ["ingest_scopes.id"],
            name="fk_ingest_actors_scope_id_ingest_scopes",
        ),
    )
    op.create_table(
        "ingest_batch_keys",
        sa.Column("scope_id", sa.Integer, nullable=False),
        sa.Column("batch_key", sa.String(255), nullable=False),
        sa.Column("forget_after", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("scope_id", "batch_key", name="pk_ingest_batch_keys"),
        sa.ForeignKeyConstraint(
            ["scope_id"],
            ["ingest_scopes.id"],
            name="fk_ingest_batch_keys_scope_id_ingest_scopes",
        ),
    )
    op.create_index(
        "ix_ingest_batch_keys_forget_after", "ingest_batch_keys", ["forget_after"]
    )


def downgrade() -> None:
    op.drop_index("ix_ingest_batch_keys_forget_after", "ingest_batch_keys")
    op.drop_table("ingest_batch_keys")
    op.drop_table("ingest_actors")
    op.drop_table("ingest_scopes")
