"""Notifications: webhooks, the outbox of notices, and the delivery log.

The tables are defined in `store/notification_tables.py`. On MySQL/MariaDB: utf8mb4,
names compared byte for byte, LONGTEXT documents, as migration 0003 made the
other tables.

Revision ID: 0008_outbox
Revises: 0004_ingest_scopes

Other branches add migrations beside this one; when they are merged, this
revision's `down_revision` becomes the newest of theirs (one line).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008_outbox"
down_revision = "0009_api_tokens"
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
        "webhooks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("environment", _name(64), nullable=False),
        sa.Column("url", _document(), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("secret", _document(), nullable=True),
        sa.Column("kinds", _document(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", _name(255), nullable=False),
        sqlite_autoincrement=True,
        **MYSQL_TABLE,  # type: ignore[arg-type]
    )
    op.create_index("ix_webhooks_environment", "webhooks", ["environment", "id"])
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.String(32), nullable=False),
        sa.Column("notice_key", _name(255), nullable=False),
        sa.Column("destination", _name(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("run", _name(255), nullable=False),
        sa.Column("environment", _name(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("webhook_id", sa.Integer, nullable=True),
        sa.Column("target", _document(), nullable=False),
        sa.Column("notice", _document(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("due_at", sa.BigInteger, nullable=False),
        sa.Column("lease_until", sa.BigInteger, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("store_version", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("finished_at", sa.String(40), nullable=True),
        sa.Column("last_error", _document(), nullable=True),
        sa.UniqueConstraint("delivery_id", name="uq_notification_outbox_delivery_id"),
        sa.UniqueConstraint(
            "notice_key", "destination", name="uq_notification_outbox_notice_key"
        ),
        **MYSQL_TABLE,  # type: ignore[arg-type]
    )
    op.create_index(
        "ix_notification_outbox_due",
        "notification_outbox",
        ["status", "due_at", "id"],
    )
    op.create_index("ix_notification_outbox_run", "notification_outbox", ["run", "id"])
    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("outbox_id", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("response_code", sa.Integer, nullable=True),
        sa.Column("error", _document(), nullable=True),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("dispatcher", sa.String(64), nullable=False),
        **MYSQL_TABLE,  # type: ignore[arg-type]
    )
    op.create_index(
        "ix_notification_attempts_outbox",
        "notification_attempts",
        ["outbox_id", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_notification_attempts_outbox", "notification_attempts")
    op.drop_table("notification_attempts")
    op.drop_index("ix_notification_outbox_run", "notification_outbox")
    op.drop_index("ix_notification_outbox_due", "notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_index("ix_webhooks_environment", "webhooks")
    op.drop_table("webhooks")
