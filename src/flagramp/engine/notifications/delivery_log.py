"""Reading the outbox and its delivery log, and sending failed rows again."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, RowMapping, func, select, update

from flagramp.core.errors import DeliveryNotFound, NotificationError
from flagramp.core.types import Json
from flagramp.engine.notifications.outbox import DELIVERED, FAILED, PENDING
from flagramp.store.notification_tables import (
    notification_attempts,
    notification_outbox,
)
from flagramp.store.sql_store import SqlUnitOfWork

STATUSES = (PENDING, DELIVERED, FAILED)


@dataclass(frozen=True)
class AttemptRecord:
    """One attempt of the delivery log."""

    attempt: int
    at: str
    outcome: str
    response_code: int | None
    error: str | None
    duration_ms: int
    dispatcher: str

    def to_json(self) -> dict[str, Json]:
        """The attempt for `--json`."""
        return {
            "attempt": self.attempt,
            "at": self.at,
            "outcome": self.outcome,
            "response_code": self.response_code,
            "error": self.error,
            "duration_ms": self.duration_ms,
            "dispatcher": self.dispatcher,
        }


@dataclass(frozen=True)
class Delivery:
    """One outbox row: a notice for one destination, and where it stands."""

    delivery_id: str
    notice_key: str
    kind: str
    run: str
    environment: str
    channel: str
    target: str
    status: str
    attempts: int
    due_at: dt.datetime | None
    """When a pending row is tried next (None: at once, or not pending)."""
    created_at: str
    finished_at: str | None
    last_error: str | None

    def to_json(self) -> dict[str, Json]:
        """The delivery for `--json`."""
        return {
            "delivery_id": self.delivery_id,
            "notice_key": self.notice_key,
            "kind": self.kind,
            "run": self.run,
            "environment": self.environment,
            "channel": self.channel,
            "target": self.target,
            "status": self.status,
            "attempts": self.attempts,
            "due_at": None if self.due_at is None else self.due_at.isoformat(),
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "last_error": self.last_error,
        }


def list_deliveries(
    conn: Connection,
    *,
    run: str | None = None,
    environment: str | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[Delivery]:
    """The newest `limit` deliveries, newest first, of a run, environment or
    status when given."""
    if status is not None and status not in STATUSES:
        raise NotificationError(
            f"status {status!r} is not one of {', '.join(STATUSES)}"
        )
    table = notification_outbox
    query = select(table).order_by(table.c.id.desc()).limit(limit)
    if run is not None:
        query = query.where(table.c.run == run)
    if environment is not None:
        query = query.where(table.c.environment == environment)
    if status is not None:
        query = query.where(table.c.status == status)
    return [_delivery(row) for row in conn.execute(query).mappings()]


def get_delivery(conn: Connection, delivery_id: str) -> Delivery:
    """The delivery by id; raises DeliveryNotFound."""
    table = notification_outbox
    row = (
        conn.execute(select(table).where(table.c.delivery_id == delivery_id))
        .mappings()
        .first()
    )
    if row is None:
        raise DeliveryNotFound(delivery_id)
    return _delivery(row)


def attempts_of(conn: Connection, delivery_id: str) -> list[AttemptRecord]:
    """Every attempt of one delivery, oldest first; raises DeliveryNotFound."""
    outbox, log = notification_outbox, notification_attempts
    found = conn.execute(
        select(outbox.c.id).where(outbox.c.delivery_id == delivery_id)
    ).scalar()
    if found is None:
        raise DeliveryNotFound(delivery_id)
    rows = conn.execute(
        select(log).where(log.c.outbox_id == found).order_by(log.c.id)
    ).mappings()
    return [
        AttemptRecord(
            attempt=row["attempt"],
            at=row["at"],
            outcome=row["outcome"],
            response_code=row["response_code"],
            error=row["error"],
            duration_ms=row["duration_ms"],
            dispatcher=row["dispatcher"],
        )
        for row in rows
    ]


def count_by_status(conn: Connection) -> dict[str, int]:
    """How many deliveries are pending, delivered and failed."""
    table = notification_outbox
    rows = conn.execute(
        select(table.c.status, func.count()).group_by(table.c.status)
    ).all()
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({status: int(n) for status, n in rows})
    return counts


def retry_delivery(unit: SqlUnitOfWork, delivery_id: str) -> Delivery:
    """Make a failed (or waiting) delivery due at once with a fresh budget of
    attempts, audited; raises DeliveryNotFound, or NotificationError if it was
    delivered already."""
    before = get_delivery(unit.connection, delivery_id)
    if before.status == DELIVERED:
        raise NotificationError(
            f"delivery {delivery_id} was delivered already; nothing to retry"
        )
    table = notification_outbox
    unit.execute(
        update(table)
        .where(table.c.delivery_id == delivery_id)
        .values(status=PENDING, attempts=0, due_at=0, finished_at=None)
    )
    unit.record(
        before.environment,
        "notification",
        delivery_id,
        "retry",
        {"status": before.status, "attempts": before.attempts},
        {"status": PENDING, "attempts": 0},
    )
    return get_delivery(unit.connection, delivery_id)


def _delivery(mapping: RowMapping) -> Delivery:
    due = mapping["due_at"]
    return Delivery(
        delivery_id=mapping["delivery_id"],
        notice_key=mapping["notice_key"],
        kind=mapping["kind"],
        run=mapping["run"],
        environment=mapping["environment"],
        channel=mapping["channel"],
        target=mapping["target"],
        status=mapping["status"],
        attempts=mapping["attempts"],
        due_at=(
            dt.datetime.fromtimestamp(due / 1000, dt.UTC)
            if mapping["status"] == PENDING and due > 0
            else None
        ),
        created_at=mapping["created_at"],
        finished_at=mapping["finished_at"],
        last_error=mapping["last_error"],
    )
