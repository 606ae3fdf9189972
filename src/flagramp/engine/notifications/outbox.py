"""Claiming due outbox rows and recording what became of them.

A claim is one short transaction that takes one due row and gives it a lease
(`lease_until`, and a token in `claimed_by`); the send happens after it, outside
any transaction, and a second short transaction records the attempt. Two
dispatchers never take one row at once: on PostgreSQL and MariaDB the claim
reads with `FOR UPDATE SKIP LOCKED` (a row another claim holds is passed over,
not waited for); on SQLite `BEGIN IMMEDIATE` serialises the claims. A
dispatcher killed after the send and before the record leaves the row leased;
when the lease runs out, the row is due again and is sent again with the same
delivery id: delivery is at least once, and receivers dedupe by that id.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, Engine, Executable, insert, select, update

from flagramp.engine.notifications.sending import Attempt
from flagramp.engine.notify import Notice
from flagramp.store.database import begin_write
from flagramp.store.notification_tables import (
    notification_attempts,
    notification_outbox,
)

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


@dataclass(frozen=True)
class Claimed:
    """An outbox row this dispatcher holds a lease on."""

    id: int
    delivery_id: str
    destination: str
    channel: str
    webhook_id: int | None
    target: str
    notice: Notice
    attempts: int
    token: str


def millis(at: dt.datetime) -> int:
    """`at` as integer milliseconds since the epoch (what due_at compares)."""
    return int(at.timestamp() * 1000)


def claim_next(
    engine: Engine,
    now: dt.datetime,
    lease: dt.timedelta,
    channels: Collection[str],
    token: str,
    skipped: Collection[str] = (),
) -> Claimed | None:
    """Lease the next due row of `channels` not bound for a `skipped`
    destination, or None when none is due."""
    table = notification_outbox
    now_ms = millis(now)
    with begin_write(engine) as conn:
        query = (
            select(table)
            .where(
                table.c.status == PENDING,
                table.c.due_at <= now_ms,
                table.c.lease_until <= now_ms,
                table.c.channel.in_(list(channels)),
            )
            .order_by(table.c.due_at, table.c.id)
            .limit(1)
        )
        if skipped:
            query = query.where(table.c.destination.not_in(list(skipped)))
        if conn.dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        row = conn.execute(query).mappings().first()
        if row is None:
            return None
        conn.execute(
            update(table)
            .where(table.c.id == row["id"])
            .values(lease_until=now_ms + millis_of(lease), claimed_by=token)
        )
    return Claimed(
        id=row["id"],
        delivery_id=row["delivery_id"],
        destination=row["destination"],
        channel=row["channel"],
        webhook_id=row["webhook_id"],
        target=row["target"],
        notice=Notice.from_json(_loads(row["notice"])),
        attempts=row["attempts"],
        token=token,
    )


def millis_of(span: dt.timedelta) -> int:
    """A duration in whole milliseconds."""
    return int(span.total_seconds() * 1000)


#: `Connection.execute`, or `SqlUnitOfWork.execute` to join a unit of work.
Execute = Callable[[Executable], CursorResult[Any]]


def record_attempt(
    execute: Execute,
    claimed: Claimed,
    attempt: Attempt,
    *,
    at: dt.datetime,
    duration_ms: int,
    dispatcher: str,
    status: str,
    due_at: dt.datetime | None,
) -> bool:
    """Log the attempt and move the row to `status` (due again at `due_at` if
    pending). False if the lease was lost meanwhile: then only the log is written,
    since whoever holds the row now will record its own attempt."""
    execute(
        insert(notification_attempts).values(
            outbox_id=claimed.id,
            attempt=claimed.attempts + 1,
            at=at.isoformat(),
            outcome=attempt.outcome.value,
            response_code=attempt.response_code,
            error=attempt.error,
            duration_ms=duration_ms,
            dispatcher=dispatcher[:64],
        )
    )
    table = notification_outbox
    values: dict[str, Any] = {
        "status": status,
        "attempts": claimed.attempts + 1,
        "lease_until": 0,
        "claimed_by": None,
        "last_error": attempt.error,
    }
    if status == PENDING:
        assert due_at is not None
        values["due_at"] = millis(due_at)
    else:
        values["finished_at"] = at.isoformat()
    moved = execute(
        update(table)
        .where(table.c.id == claimed.id, table.c.claimed_by == claimed.token)
        .values(**values)
    )
    return moved.rowcount == 1


def _loads(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(text)
    return loaded
