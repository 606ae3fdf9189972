"""API tokens, event batch keys, uploaded plans, and change notifications on
PostgreSQL.

Revision ID: 0009_api_tokens
Revises: 0004_ingest_scopes

Numbered 0009: the engine's 0007_runs and the notifications' 0008_outbox land
beside it; when they are merged, this revision's `down_revision` becomes the
newest of theirs (one line).

On PostgreSQL, every statement that appends audit rows also sends
`NOTIFY "flagramp.<schema>", '<store version>'`; PostgreSQL delivers it when the
transaction commits (and folds repeats), so every server replica wakes its
stream clients on every change, whoever made it (a replica, the CLI, the
controller).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0009_api_tokens"
down_revision = "0006_flipper_outbox"
branch_labels = None
depends_on = None

_MYSQL = ("mysql", "mariadb")

NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION flagramp_notify_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify(
        'flagramp.' || current_schema(),
        (SELECT int_value FROM store_meta WHERE key = 'version')::text
    );
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER flagramp_audit_notify AFTER INSERT ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION flagramp_notify_change()
"""


def _name(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"),
        *_MYSQL,
    )


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("owner", _name(255), nullable=False),
        sa.Column("owner_kind", sa.String(16), nullable=False),
        sa.Column("permission", sa.String(16), nullable=False),
        sa.Column("environment", _name(64), nullable=True),
        sa.Column(
            "description",
            sa.Text().with_variant(mysql.LONGTEXT(), *_MYSQL),
            nullable=False,
        ),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", _name(255), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=True),
        sa.Column("revoked_by", _name(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
    )
    op.create_table(
        "event_batches",
        sa.Column("environment", _name(64), nullable=False),
        sa.Column("batch_key", sa.String(255), nullable=False),
        sa.Column("forget_after", sa.BigInteger, nullable=False),
        sa.Column("accepted", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("environment", "batch_key", name="pk_event_batches"),
    )
    op.create_index("ix_event_batches_forget_after", "event_batches", ["forget_after"])
    op.create_table(
        "plan_documents",
        sa.Column("name", _name(255), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column(
            "text",
            sa.Text().with_variant(mysql.LONGTEXT(), *_MYSQL),
            nullable=False,
        ),
        sa.Column("environment", _name(64), nullable=False),
        sa.Column("uploaded_at", sa.String(40), nullable=False),
        sa.Column("uploaded_by", _name(255), nullable=False),
        sa.PrimaryKeyConstraint("name", "revision", name="pk_plan_documents"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute(NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS flagramp_audit_notify ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS flagramp_notify_change()")
    op.drop_table("plan_documents")
    op.drop_index("ix_event_batches_forget_after", "event_batches")
    op.drop_table("event_batches")
    op.drop_table("api_tokens")
