"""Keys of the event batches the server took, per environment.

`POST /api/v1/events` answers a batch sent again with `duplicate: true`, even
when no run watched its events (then nothing of it is kept anywhere else). The
ingest scopes keep their own keys (`store.ingest_scopes`), so a batch whose key
is recorded here only after its scopes took it still counts once: a retry after
a crash between the two is a duplicate for every scope.

`claim` is the server's fast path: one statement inside the caller's
transaction inserts the key unless it is there, and only if the environment
exists, so the environment check, the duplicate check and the key's write are
one round trip, and the key commits (or not) with the batch's ingest. Two
requests with the same key at once: the second waits on the key's row lock
(SQLite: on the write lock) until the first commits, then finds the key.

`expire` is retention: one bounded chunk of the keys whose `forget_after` is
before a cutoff, deleted in a short transaction of its own, so that deleting
millions of keys never holds the table's locks for long
(`engine.batch_key_retention` calls it chunk after chunk from the controller's
tick).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import sqlite3
from collections.abc import Sequence
from enum import Enum

from sqlalchemy import Connection, Engine, TextClause, delete, insert, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from flagramp.core.errors import StoreError
from flagramp.store.connections import reading, short_reason
from flagramp.store.database import begin_write
from flagramp.store.tables import environments as environments_table
from flagramp.store.token_tables import event_batches


class Claim(Enum):
    """What became of a batch key claimed in a transaction."""

    FRESH = "fresh"
    DUPLICATE = "duplicate"
    NO_ENVIRONMENT = "no_environment"


_VALUES = (
    "(environment, batch_key, forget_after, accepted) "
    "SELECT :environment, :batch_key, :forget_after, :accepted"
)
# A parameter of its own: PostgreSQL deduces one type per parameter, and the
# select list's and the comparison's differ.
_IF_ENVIRONMENT = "WHERE EXISTS (SELECT 1 FROM environments WHERE name = :named)"
# Text, not Core constructs: this runs on every events request, and building
# and compiling the statement costs more than executing it.
_CLAIM = {
    "ansi": text(
        f"INSERT INTO event_batches {_VALUES} {_IF_ENVIRONMENT} ON CONFLICT DO NOTHING"
    ),
    # MySQL has no ON CONFLICT; IGNORE also turns truncation into a warning,
    # and the key and environment are checked for length before they get here.
    "mysql": text(
        f"INSERT IGNORE INTO event_batches {_VALUES} FROM DUAL {_IF_ENVIRONMENT}"
    ),
}
# One statement, the keys chosen by the database: a list of 10,000 keys sent
# back as `IN ((…), …)` exceeds PostgreSQL's stack depth. MySQL and MariaDB
# take no LIMIT in an IN subquery, but a single-table DELETE with ORDER BY and
# LIMIT; PostgreSQL and SQLite the reverse.
_EXPIRE = {
    "ansi": text(
        "DELETE FROM event_batches WHERE (environment, batch_key) IN ("
        "SELECT environment, batch_key FROM event_batches "
        "WHERE forget_after < :cutoff ORDER BY forget_after LIMIT :limit)"
    ),
    "mysql": text(
        "DELETE FROM event_batches WHERE forget_after < :cutoff "
        "ORDER BY forget_after LIMIT :limit"
    ),
}
_ENVIRONMENT_EXISTS = text("SELECT 1 FROM environments WHERE name = :environment")


def claim(
    conn: Connection,
    environment: str,
    key: str,
    accepted: int,
    forget_after: dt.datetime,
) -> Claim:
    """Insert the batch key in the caller's transaction: FRESH if it was new (it
    commits with the transaction), DUPLICATE if the environment has it, and
    NO_ENVIRONMENT if there is no such environment (nothing written)."""
    statement: TextClause = _CLAIM[
        "mysql" if conn.dialect.name in ("mysql", "mariadb") else "ansi"
    ]
    params = {
        "environment": environment,
        "named": environment,
        "batch_key": key,
        "forget_after": _stored_time(forget_after),
        "accepted": accepted,
    }
    if conn.execute(statement, params).rowcount == 1:
        return Claim.FRESH
    exists = conn.execute(_ENVIRONMENT_EXISTS, {"environment": environment}).first()
    return Claim.DUPLICATE if exists is not None else Claim.NO_ENVIRONMENT


#: Keys one multi-row claim carries at most (bound parameters stay well
#: below every backend's limit).
CLAIM_CHUNK = 200


def claim_many(
    conn: Connection, keys: Sequence[tuple[str, str, int, dt.datetime]]
) -> list[Claim]:
    """`claim` for each (environment, key, accepted, forget_after) in turn, in
    one statement where the database can say which rows it inserted
    (`RETURNING`: PostgreSQL, from arrays; SQLite, `CLAIM_CHUNK` keys a
    statement); MySQL and MariaDB claim one key at a time. A key given twice
    is FRESH the first time only."""
    if not keys:
        return []
    if conn.dialect.name in ("mysql", "mariadb") or (
        conn.dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 35)
    ):
        return [claim(conn, *one) for one in keys]
    inserted: set[tuple[str, str]] = set()
    if conn.dialect.name == "postgresql":
        inserted = _claim_arrays(conn, keys)
    else:
        for start in range(0, len(keys), CLAIM_CHUNK):
            inserted |= _claim_chunk(conn, keys[start : start + CLAIM_CHUNK])
    environments = {environment for environment, *_ in keys}
    existing = {
        str(name)
        for (name,) in conn.execute(
            select(environments_table.c.name).where(
                environments_table.c.name.in_(sorted(environments))
            )
        )
    }
    out: list[Claim] = []
    for environment, key, *_ in keys:
        if (environment, key) in inserted:
            inserted.discard((environment, key))  # a repeat is a duplicate
            out.append(Claim.FRESH)
        elif environment in existing:
            out.append(Claim.DUPLICATE)
        else:
            out.append(Claim.NO_ENVIRONMENT)
    return out


# PostgreSQL: four arrays, one short text for any number of keys (psycopg
# parses a long statement's text again on every execution).
_CLAIM_ARRAYS = text(
    "INSERT INTO event_batches (environment, batch_key, forget_after, accepted) "
    "SELECT v.environment, v.batch_key, v.forget_after, v.accepted FROM unnest("
    "CAST(:environments AS VARCHAR[]), CAST(:keys AS VARCHAR[]), "
    "CAST(:forget_after AS BIGINT[]), CAST(:accepted AS INTEGER[])"
    ") AS v(environment, batch_key, forget_after, accepted) "
    "WHERE EXISTS (SELECT 1 FROM environments e WHERE e.name = v.environment) "
    "ON CONFLICT DO NOTHING RETURNING environment, batch_key"
)


def _claim_arrays(
    conn: Connection, keys: Sequence[tuple[str, str, int, dt.datetime]]
) -> set[tuple[str, str]]:
    params = {
        "environments": [environment for environment, _, _, _ in keys],
        "keys": [key for _, key, _, _ in keys],
        "forget_after": [_stored_time(f) for _, _, _, f in keys],
        "accepted": [accepted for _, _, accepted, _ in keys],
    }
    return {(str(e), str(k)) for e, k in conn.execute(_CLAIM_ARRAYS, params)}


def _claim_chunk(
    conn: Connection, keys: Sequence[tuple[str, str, int, dt.datetime]]
) -> set[tuple[str, str]]:
    params: dict[str, object] = {}
    for i, (environment, key, accepted, forget_after) in enumerate(keys):
        params |= {
            f"e{i}": environment,
            f"k{i}": key,
            f"f{i}": _stored_time(forget_after),
            f"a{i}": accepted,
        }
    statement = _claim_statement(conn.dialect.name == "sqlite", len(keys))
    return {(str(e), str(k)) for e, k in conn.execute(statement, params)}


@functools.lru_cache(maxsize=2 * CLAIM_CHUNK)
def _claim_statement(sqlite: bool, count: int) -> TextClause:
    """The multi-row claim of `count` keys (kept: parsing the text of a large
    statement costs more than running it)."""
    # Typed (no lengths: a cast to VARCHAR(n) truncates): PostgreSQL gives
    # untyped VALUES parameters the type text.
    rows = ", ".join(
        f"(CAST(:e{i} AS VARCHAR), CAST(:k{i} AS VARCHAR), "
        f"CAST(:f{i} AS BIGINT), CAST(:a{i} AS INTEGER))"
        for i in range(count)
    )
    # SQLite names a VALUES list's columns column1, column2, ...: no aliases.
    if sqlite:
        columns, alias = ("v.column1", "v.column2", "v.column3", "v.column4"), "v"
    else:
        columns = ("v.environment", "v.batch_key", "v.forget_after", "v.accepted")
        alias = "v(environment, batch_key, forget_after, accepted)"
    return text(
        "INSERT INTO event_batches (environment, batch_key, forget_after, accepted) "
        f"SELECT {', '.join(columns)} FROM (VALUES {rows}) AS {alias} "
        "WHERE EXISTS (SELECT 1 FROM environments e WHERE e.name = "
        f"{columns[0]}) ON CONFLICT DO NOTHING RETURNING environment, batch_key"
    )


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
            "forget_after": _stored_time(forget_after),
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

    def expire(self, before: dt.datetime, *, limit: int) -> int:
        """Delete at most `limit` keys whose `forget_after` is before `before`,
        oldest first, in one short transaction. Returns how many (fewer than
        `limit`: none older is left). Raises StoreError (nothing deleted)."""
        params = {"cutoff": math.floor(before.timestamp()), "limit": limit}
        try:
            with begin_write(self.engine) as conn:
                statement = _EXPIRE[
                    "mysql" if conn.dialect.name in ("mysql", "mariadb") else "ansi"
                ]
                done = conn.execute(statement, params)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"old batch keys were not deleted: {short_reason(exc)}"
            ) from exc
        return int(done.rowcount or 0)


def _stored_time(forget_after: dt.datetime) -> int:
    """`forget_after` as stored: whole epoch seconds, rounded up, so that a
    key is never forgotten before its time (retention cuts round down)."""
    return math.ceil(forget_after.timestamp())
