"""Keys of the event batches the server took, per environment.

`POST /api/v1/events` answers a batch sent again with `duplicate: true`, even
when no run watched its events (then nothing of it is kept anywhere else). The
ingest scopes keep their own keys (`store.ingest_scopes`), so a batch whose key
is recorded here only after its scopes took it still counts once: a retry after
a crash between the two is a duplicate for every scope.
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from flagramp.core.errors import StoreError
from flagramp.store.connections import reading, short_reason
from flagramp.store.database import begin_write
from flagramp.store.token_tables import event_batches


class EventBatchKeys:
    """The batch keys of one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def seen(self, environment: str, key: str) -> bool:
        """Whether a batch with this key was taken in this environment."""
        t = event_batches.c
        query = select(t.batch_key).where(
            t.environment == environment, t.batch_key == key
        )
        with reading(self.engine, "event batch keys") as conn:
            return conn.execute(query).first() is not None

    def remember(
        self, environment: str, key: str, accepted: int, forget_after: dt.datetime
    ) -> bool:
        """Record a taken batch; False if another request recorded it first."""
        row = {
            "environment": environment,
            "batch_key": key,
            "accepted": accepted,
            "forget_after": math.ceil(forget_after.timestamp()),
        }
        try:
            with begin_write(self.engine) as conn:
                conn.execute(insert(event_batches).values(**row))
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            raise StoreError(
                f"the batch key was not kept: {short_reason(exc)}"
            ) from exc
        return True

    def forget(self, now: dt.datetime) -> int:
        """Drop the keys whose batches could no longer count anything. Returns
        how many."""
        t = event_batches.c
        try:
            with begin_write(self.engine) as conn:
                done = conn.execute(
                    delete(event_batches).where(
                        t.forget_after < math.floor(now.timestamp())
                    )
                )
        except SQLAlchemyError as exc:
            raise StoreError(
                f"old batch keys were not dropped: {short_reason(exc)}"
            ) from exc
        return int(done.rowcount or 0)
