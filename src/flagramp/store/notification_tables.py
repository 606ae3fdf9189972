"""Tables of notifications: webhooks, the outbox, and the delivery log.

Defined on the store's one `metadata`; created by migration `0008_outbox`. Times
that are compared (`due_at`, `lease_until`) are integer milliseconds since the
epoch, the same on every backend; times people read are ISO text, as elsewhere.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from flagramp.core.identifiers import AUTHOR_MAX, ENVIRONMENT_MAX
from flagramp.store.tables import Document, Name, metadata

#: Webhooks per environment. `kinds` is a JSON list of `NoticeKind` values; empty
#: means every kind. The secret signs JSON deliveries (HMAC-SHA256); it is kept in
#: the database because the dispatcher needs it in clear to sign.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("environment", Name(ENVIRONMENT_MAX), nullable=False),
    Column("url", Document, nullable=False),
    Column("format", String(16), nullable=False),
    Column("secret", Document, nullable=True),
    Column("kinds", Document, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", Name(AUTHOR_MAX), nullable=False),
    Index("ix_webhooks_environment", "environment", "id"),
    # A removed webhook's id is never given to a new one: delivery ids and the
    # delivery log name webhooks by id.
    sqlite_autoincrement=True,
)

#: One row per notice and destination, written in the unit of work of the
#: transition it tells about. `delivery_id` is stable across retries and
#: restarts (receivers dedupe by it); (notice_key, destination) is unique, so a
#: notice enqueued twice is one delivery. `status` is pending, delivered or failed;
#: a pending row is due when `due_at` has passed and nobody holds a lease on it.
notification_outbox = Table(
    "notification_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(32), nullable=False),
    Column("notice_key", Name(255), nullable=False),
    Column("destination", Name(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("run", Name(255), nullable=False),
    Column("environment", Name(ENVIRONMENT_MAX), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("webhook_id", Integer, nullable=True),
    Column("target", Document, nullable=False),
    Column("notice", Document, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("due_at", BigInteger, nullable=False),
    Column("lease_until", BigInteger, nullable=False),
    Column("claimed_by", String(64), nullable=True),
    Column("store_version", BigInteger, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("finished_at", String(40), nullable=True),
    Column("last_error", Document, nullable=True),
    UniqueConstraint("delivery_id", name="uq_notification_outbox_delivery_id"),
    UniqueConstraint(
        "notice_key", "destination", name="uq_notification_outbox_notice_key"
    ),
    Index("ix_notification_outbox_due", "status", "due_at", "id"),
    Index("ix_notification_outbox_run", "run", "id"),
)

#: The delivery log: one row per attempt to send an outbox row.
notification_attempts = Table(
    "notification_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outbox_id", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", String(40), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("response_code", Integer, nullable=True),
    Column("error", Document, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Column("dispatcher", String(64), nullable=False),
    Index("ix_notification_attempts_outbox", "outbox_id", "id"),
)
