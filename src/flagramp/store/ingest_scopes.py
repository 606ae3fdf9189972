"""Ingest scopes in SQL: a batch's state lookups and writes in one transaction.

A scope is a run string (one per stage attempt) and a flag. Its state is one row
per exposed actor (`stats.scope_state.ActorState`, by actor hash), its mark layout
and the keys of its recent batches. `apply_batch` does a whole batch inside the
caller's transaction:

1. update the scope's row (its lock: the scope's batches apply one at a time;
   on SQLite the first write takes the database's write lock);
2. refuse a known batch key (duplicate) or a closed scope;
3. look up the batch's actors, in chunks of one query each
   (`BatchIngest.aggregate` asks once, for all of them);
4. write new and changed actor states, the grown mark layout, the merged
   windows and the batch key.

All of it commits or none of it does, so a process killed at any instant leaves
either the whole batch or nothing, a retry is never refused as a duplicate, and
no process holds state that matters: replicas share the scope through the store.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from flagramp.core.errors import StoreError
from flagramp.core.events import EventBatch
from flagramp.stats.batch_ingest import BatchIngest, IngestCounts
from flagramp.stats.scope_state import ActorState, MarkLayout, ScopeSnapshot
from flagramp.stats.sketches import actor_hash
from flagramp.stats.windows import Lane, Window
from flagramp.store.window_rows import merge_window_rows
from flagramp.store.window_tables import (
    ingest_actors,
    ingest_batch_keys,
    ingest_scopes,
)

#: Actor hashes per lookup query (far below every backend's parameter limit).
LOOKUP_CHUNK = 500
#: Longest batch key the table holds.
MAX_BATCH_KEY = 255


class ScopeClosed(StoreError):
    """A batch arrived for a scope that was closed (its stage attempt ended)."""

    code = "scope_closed"

    def __init__(self, run: str, flag: str) -> None:
        self.run = run
        self.flag = flag
        super().__init__(f"ingest scope {run!r} / {flag!r} is closed")


class Duplicate(Exception):
    """The batch key was seen: roll back the scope's counter and report it."""


def create_scope(conn: Connection, run: str, flag: str, environment: str) -> None:
    """Insert a scope row (raises IntegrityError if it exists)."""
    conn.execute(
        insert(ingest_scopes).values(
            run=run,
            flag=flag,
            environment=environment,
            marks=MarkLayout().to_text(),
            batches=0,
            closed=False,
        )
    )


def lock_scope(conn: Connection, run: str, flag: str) -> None:
    """Take the scope's row lock for the rest of the transaction (a write that
    changes nothing; PostgreSQL and MySQL lock the row, SQLite the database)."""
    s = ingest_scopes.c
    in_scope = (s.run == run) & (s.flag == flag)
    conn.execute(update(ingest_scopes).where(in_scope).values(batches=s.batches))


def apply_batch(
    conn: Connection,
    pipe: BatchIngest,
    batch: EventBatch,
    received_at: dt.datetime,
    *,
    duplicate_ok: bool = False,
) -> IngestCounts | None:
    """Ingest `batch` into the scope of `pipe`; None if the scope does not exist.

    Raises `Duplicate` for a batch key already seen (the caller rolls back), or,
    with `duplicate_ok` (the transaction goes on with other scopes), returns
    `duplicate_batch` counts having written nothing but the scope's counter.
    Raises `ScopeClosed` for a closed scope.
    """
    counts = apply_batches(conn, pipe, [(batch, received_at)])
    if counts is None:
        return None
    if counts[0].duplicate_batch and not duplicate_ok:
        raise Duplicate
    return counts[0]


def apply_batches(
    conn: Connection,
    pipe: BatchIngest,
    batches: Sequence[tuple[EventBatch, dt.datetime]],
) -> list[IngestCounts] | None:
    """Ingest each (batch, received at) into the scope of `pipe`, in turn, as
    `apply_batch(..., duplicate_ok=True)` would one after another: a key seen
    before, or earlier in `batches`, counts as a duplicate. Each stored row is
    read and written once for all of them (the server's groups of requests).
    None if the scope does not exist; raises `ScopeClosed` for a closed one.
    """
    s = ingest_scopes.c
    in_scope = (s.run == pipe.run) & (s.flag == pipe.flag)
    # The first statement writes: it takes the scope's lock before anything is read.
    conn.execute(
        update(ingest_scopes).where(in_scope).values(batches=s.batches + len(batches))
    )
    row = conn.execute(
        select(s.id, s.environment, s.marks, s.closed).where(in_scope)
    ).first()
    if row is None:
        return None
    if row.closed:
        raise ScopeClosed(pipe.run, pipe.flag)
    if row.environment != pipe.environment:
        raise StoreError(
            f"ingest scope {pipe.run!r} / {pipe.flag!r} is for environment "
            f"{row.environment!r}, not {pipe.environment!r}"
        )
    scope_id: int = row.id
    k = ingest_batch_keys.c
    keys = sorted({batch.key for batch, _ in batches})
    seen = {
        str(key)
        for (key,) in conn.execute(
            select(k.batch_key).where(k.scope_id == scope_id, k.batch_key.in_(keys))
        )
    }
    stored_layout = layout = MarkLayout.from_text(row.marks)
    stored: dict[int, ActorState] = {}  # as the store holds them
    current: dict[int, ActorState] = {}  # after the batches so far
    read: set[int] = set()

    def lookup(hashes: Collection[int]) -> Mapping[int, ActorState]:
        missing = [h for h in hashes if h not in read]
        if missing:
            found = _actor_states(conn, scope_id, missing)
            read.update(missing)
            stored.update(found)
            for h, state in found.items():
                current.setdefault(h, state)
        return current

    # Every actor of the group in one read, not a read per batch.
    lookup({actor_hash(e.actor) for batch, _ in batches for e in batch.events})
    counts: list[IngestCounts] = []
    changed: set[int] = set()
    windows: list[Window] = []
    new_keys: list[dict[str, object]] = []
    for batch, received_at in batches:
        if batch.key in seen:
            counts.append(IngestCounts(duplicate_batch=True))
            continue
        seen.add(batch.key)
        result = pipe.aggregate(
            batch.events, lookup, marks=layout, received_at=received_at
        )
        current.update(result.actors)
        changed.update(result.actors)
        layout = result.marks
        windows.extend(result.windows)
        new_keys.append(
            {
                "scope_id": scope_id,
                "batch_key": batch.key,
                "forget_after": math.ceil(result.forget_after),
            }
        )
        counts.append(result.counts)
    _write_states(conn, scope_id, {h: current[h] for h in changed}, stored)
    if layout != stored_layout:
        conn.execute(
            update(ingest_scopes).where(s.id == scope_id).values(marks=layout.to_text())
        )
    merge_window_rows(conn, windows)
    if new_keys:
        conn.execute(insert(ingest_batch_keys), new_keys)
    return counts


def _actor_states(
    conn: Connection, scope_id: int, hashes: Collection[int]
) -> dict[int, ActorState]:
    a = ingest_actors.c
    ordered = sorted(hashes)
    out: dict[int, ActorState] = {}
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        rows = conn.execute(
            select(a.actor_hash, a.lane, a.marks).where(
                a.scope_id == scope_id, a.actor_hash.in_(chunk)
            )
        )
        for h, lane, marks in rows:
            out[int(h)] = ActorState(Lane(lane), int(marks))
    return out


def _write_states(
    conn: Connection,
    scope_id: int,
    states: Mapping[int, ActorState],
    known: Mapping[int, ActorState],
) -> None:
    new = [
        {"scope_id": scope_id, "actor_hash": h, "lane": s.lane.value, "marks": s.marks}
        for h, s in states.items()
        if h not in known
    ]
    changed = [
        {"b_scope": scope_id, "b_hash": h, "b_lane": s.lane.value, "b_marks": s.marks}
        for h, s in states.items()
        if h in known
    ]
    if new:
        conn.execute(insert(ingest_actors), new)
    if changed:
        a = ingest_actors.c
        conn.execute(
            update(ingest_actors)
            .where(a.scope_id == bindparam("b_scope"))
            .where(a.actor_hash == bindparam("b_hash"))
            .values(lane=bindparam("b_lane"), marks=bindparam("b_marks")),
            changed,
        )


def close_scope(conn: Connection, run: str, flag: str) -> bool:
    """Mark the scope closed and drop its actor states and batch keys.

    Windows stay. Returns whether the scope existed.
    """
    s = ingest_scopes.c
    scope_id = conn.execute(
        select(s.id).where(s.run == run, s.flag == flag).with_for_update()
    ).scalar()
    if scope_id is None:
        return False
    conn.execute(update(ingest_scopes).where(s.id == scope_id).values(closed=True))
    conn.execute(delete(ingest_actors).where(ingest_actors.c.scope_id == scope_id))
    conn.execute(
        delete(ingest_batch_keys).where(ingest_batch_keys.c.scope_id == scope_id)
    )
    return True


def forget_batch_keys(conn: Connection, now: dt.datetime) -> int:
    """Delete the keys whose batches' redeliveries would count nothing by `now`."""
    k = ingest_batch_keys.c
    result = conn.execute(
        delete(ingest_batch_keys).where(k.forget_after < math.floor(now.timestamp()))
    )
    return int(result.rowcount or 0)


def read_scope(conn: Connection, run: str, flag: str) -> ScopeSnapshot | None:
    """The scope's whole state (for inspection and tests); None if unknown."""
    s, a, k = ingest_scopes.c, ingest_actors.c, ingest_batch_keys.c
    row = conn.execute(
        select(s.id, s.marks).where(s.run == run, s.flag == flag)
    ).first()
    if row is None:
        return None
    actors = {
        int(h): ActorState(Lane(lane), int(marks))
        for h, lane, marks in conn.execute(
            select(a.actor_hash, a.lane, a.marks).where(a.scope_id == row.id)
        )
    }
    keys = {
        str(key): float(after)
        for key, after in conn.execute(
            select(k.batch_key, k.forget_after).where(k.scope_id == row.id)
        )
    }
    return ScopeSnapshot(actors, MarkLayout.from_text(row.marks), keys)


def count_actors(conn: Connection, run: str, flag: str) -> int:
    """How many actor states the scope holds."""
    s, a = ingest_scopes.c, ingest_actors.c
    query = (
        select(func.count())
        .select_from(ingest_actors.join(ingest_scopes, a.scope_id == s.id))
        .where(s.run == run, s.flag == flag)
    )
    return int(conn.execute(query).scalar() or 0)
