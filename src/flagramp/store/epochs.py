"""The store's epoch: which history its versions count.

A store version names one state of one history: every write adds one. A full
restore replaces the history with a backup's, so a version a reader saw before
it no longer names the same state, even where the number would still fit (the
restore moves the version past both stores', so the numbers never go back, but
a reader from another store, or from a backup's own past, cannot tell by the
number). Every restore therefore sets `store_meta.epoch` to a new random token,
in its transaction; a store never restored has no such row (`INITIAL_EPOCH`).
A reader keeps (version, epoch), its `StorePosition`, and when the epoch it
holds is not the store's, it reloads everything instead of reading changes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select

from flagramp.core.errors import StoreError
from flagramp.store.tables import store_meta

#: The epoch of a store no restore has written to.
INITIAL_EPOCH = ""
#: The `store_meta` key the epoch is kept under.
EPOCH_KEY = "epoch"


@dataclass(frozen=True, slots=True, order=True)
class StorePosition:
    """A store version and the epoch (history) it belongs to."""

    version: int
    epoch: str = INITIAL_EPOCH


def read_position(conn: Connection) -> StorePosition:
    """The store's version and epoch, in one query (so from one snapshot)."""
    rows = conn.execute(
        select(store_meta.c.key, store_meta.c.int_value, store_meta.c.text_value).where(
            store_meta.c.key.in_(("version", EPOCH_KEY))
        )
    ).all()
    found = {str(key): (number, text) for key, number, text in rows}
    version = found.get("version", (None, None))[0]
    if not isinstance(version, int):
        raise StoreError("store_meta 'version' is damaged")
    epoch = found.get(EPOCH_KEY, (None, None))[1]
    return StorePosition(version, epoch if isinstance(epoch, str) else INITIAL_EPOCH)


def new_epoch() -> str:
    """A fresh epoch token: 12 hex digits, so two restores never share one."""
    return secrets.token_hex(6)


def set_epoch(conn: Connection, epoch: str) -> None:
    """Make `epoch` the store's (inside the caller's transaction)."""
    # Delete-then-insert: an upsert every dialect (SQLite, PostgreSQL, MariaDB)
    # spells the same way; the restore's write lock is already held.
    conn.execute(delete(store_meta).where(store_meta.c.key == EPOCH_KEY))
    conn.execute(insert(store_meta).values(key=EPOCH_KEY, text_value=epoch))
