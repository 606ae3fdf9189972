"""Ending the binding of an environment to Flipper's tables (undoing adoption).

After `release_flipper_tables`, the environment's flags live in flagramp's
tables only, as before adoption; Flipper's rows stay as they are, and the Rails
app keeps reading them. Writes still waiting in the outbox are not made. A
Flipper-tables store opened on the environment again adopts it afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update

from flagramp.store.flipper_outbox_tables import (
    PENDING,
    SUPERSEDED,
    flipper_adoptions,
    flipper_mirror,
    flipper_outbox,
)
from flagramp.store.port import Author
from flagramp.store.sql_store import SqlFlagStore

#: The entity kind of the audit row a release writes (its key: the environment).
RELEASE_KIND = "flipper_tables"


@dataclass(frozen=True)
class Release:
    """What a release ended: the Flipper database and the writes not made."""

    environment: str
    flipper_url: str
    dropped_writes: int


def release_flipper_tables(
    store: SqlFlagStore, environment: str, author: Author
) -> Release | None:
    """Unbind `environment` from Flipper's tables, audited; None if it was not
    bound. One unit of work."""
    with store.unit_of_work(author) as unit:
        a, o = flipper_adoptions.c, flipper_outbox.c
        url = unit.connection.execute(
            select(a.flipper_url).where(a.environment == environment)
        ).scalar()
        if url is None:
            return None
        pending = o.environment == environment, o.status == PENDING
        dropped = unit.connection.execute(
            select(func.count()).select_from(flipper_outbox).where(*pending)
        ).scalar_one()
        stamp = store.clock.now().isoformat(timespec="microseconds")
        unit.execute(
            update(flipper_outbox)
            .where(*pending)
            .values(status=SUPERSEDED, applied_at=stamp, last_error="released")
        )
        unit.execute(
            delete(flipper_mirror).where(flipper_mirror.c.environment == environment)
        )
        unit.execute(delete(flipper_adoptions).where(a.environment == environment))
        unit.record(
            environment,
            RELEASE_KIND,
            environment,
            "release",
            {"flipper_url": url},
            {"dropped_writes": int(dropped)},
        )
    return Release(environment, str(url), int(dropped))
