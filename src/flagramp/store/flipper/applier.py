"""Applying the outbox: writing Flipper's rows after flagramp's commit.

For one feature at a time, under the lock every flagramp writer takes first (so
no unit of work or outside-change record runs meanwhile), it reads the
feature's pending outbox rows and its mirror, then, in one transaction on the
Flipper database:

- rows already equal to the newest target: nothing to write (an earlier attempt
  wrote them and stopped before marking the outbox);
- rows equal to the mirror or to a pending target (what flagramp knows they
  were): write the newest target;
- anything else: they were changed from outside. Nothing is written; the store
  records the change instead (`store/flipper/sync.py`), never overwrites it.

Then the outbox rows are marked applied and the mirror set, in flagramp's
transaction. A failure on the Flipper side counts an attempt and keeps the rows
pending for the next round; writing a target is idempotent, so a retry after a
crash anywhere is safe.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from enum import Enum

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from flagramp.store.connections import short_reason
from flagramp.store.database import begin_write
from flagramp.store.flipper.database import FlipperDatabase
from flagramp.store.flipper.outbox import (
    attempts_of,
    lock_writers,
    mark_applied,
    mark_failed,
    pending_rows,
    read_known,
    set_mirror,
)
from flagramp.store.flipper.rows import ABSENT, FeatureRows
from flagramp.store.flipper.writes import read_feature, write_feature

logger = logging.getLogger(__name__)


class Outcome(Enum):
    APPLIED = "applied"
    NOTHING = "nothing pending"
    FAILED = "failed"
    CHANGED_OUTSIDE = "changed outside"


@dataclass
class ApplyReport:
    """What one round of the applier did, by feature key."""

    applied: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    changed_outside: list[str] = field(default_factory=list)
    #: Flags changed to what was found outside (among `changed_outside`).
    recorded: list[str] = field(default_factory=list)


class _ChangedOutside(Exception):
    pass


def apply_feature(
    own: Engine,
    flipper: FlipperDatabase,
    environment: str,
    key: str,
    now: dt.datetime,
) -> tuple[Outcome, str]:
    """Apply one feature's pending outbox rows; (outcome, error text if failed)."""
    stamp = now.astimezone(dt.UTC).isoformat(timespec="microseconds")
    try:
        with begin_write(own) as conn:
            lock_writers(conn)
            pending = pending_rows(conn, environment, key)
            if not pending:
                return Outcome.NOTHING, ""
            ids = [row_id for row_id, _ in pending]
            targets = [FeatureRows.from_json(text) for _, text in pending]
            mirror = read_known(conn, environment, [key]).get(key)
            ours = [*targets, mirror.mirror if mirror and mirror.mirror else ABSENT]
            try:
                _write(flipper, key, targets[-1], ours, now)
            except SQLAlchemyError as exc:
                error = short_reason(exc)
                mark_failed(conn, ids, error)
                attempts = attempts_of(conn, ids[0])
                if _worth_logging(attempts):
                    logger.warning(
                        "Flipper's tables at %s: writing %r failed (attempt %d): %s",
                        flipper.url.shown,
                        key,
                        attempts,
                        error,
                    )
                return Outcome.FAILED, error
            mark_applied(conn, ids, stamp)
            set_mirror(conn, environment, key, targets[-1], stamp)
    except _ChangedOutside:
        return Outcome.CHANGED_OUTSIDE, ""
    return Outcome.APPLIED, ""


def _write(
    flipper: FlipperDatabase,
    key: str,
    target: FeatureRows,
    ours: list[FeatureRows],
    now: dt.datetime,
) -> None:
    with flipper.begin() as conn:
        stored = read_feature(conn, flipper.tables, key)
        current = stored.rows
        if current == target:
            return
        if not any(current == known for known in ours):
            raise _ChangedOutside
        write_feature(conn, flipper.tables, stored, target, now)


def _worth_logging(attempts: int) -> bool:
    # 1, 2, 5, 10, 20, 50, 100, …: a database down for an hour logs a dozen
    # lines, not one a second.
    while attempts >= 10 and attempts % 10 == 0:
        attempts //= 10
    return attempts in (1, 2, 5)
