"""Persisted metric windows: exact merges into stored rows, idempotent batches.

Two ways in:

- `WindowStore.ingest(pipe, batch, received_at=...)`: the whole batch in one
  transaction, with the scope's state (actor lanes, first-time marks, batch keys)
  kept in the store (`store.ingest_scopes`). Resume is exact by construction and
  several processes may ingest the same scope. This is what the engine uses.
- `WindowStore.add_batch(run, key, windows)`: windows aggregated elsewhere (an
  in-memory `WindowIngest` then `flush`) merged into the stored rows, with the batch
  key recorded in the same transaction. The state then lives in that process.

Either way a batch delivered twice (a retry after a lost response, a replayed
queue) counts once, and a crash leaves either everything or nothing. Old minute
windows compact into hour and day rows for long reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, and_, delete, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from flagramp.core.errors import StoreError
from flagramp.core.events import EventBatch
from flagramp.stats.batch_ingest import BatchIngest, IngestCounts
from flagramp.stats.scope_state import ScopeSnapshot
from flagramp.stats.windows import Lane, Window, compact, from_bytes
from flagramp.store.connections import reading, short_reason
from flagramp.store.database import begin_write, open_engine
from flagramp.store.event_batches import Claim, claim_many
from flagramp.store.ingest_scopes import (
    MAX_BATCH_KEY,
    Duplicate,
    apply_batch,
    apply_batches,
    close_scope,
    count_actors,
    create_scope,
    forget_batch_keys,
    lock_scope,
    read_scope,
)
from flagramp.store.window_rows import merge_window_row
from flagramp.store.window_tables import ingested_batches, metric_windows

#: Attempts when two writers create the same new row at once, or deadlock.
WRITE_ATTEMPTS = 3
# Deadlocks and serialization failures: PostgreSQL SQLSTATEs, MySQL error numbers.
_TRANSIENT_STATES = frozenset({"40001", "40P01"})
_TRANSIENT_ERRNOS = frozenset({1205, 1213})


class _Conflict(Exception):
    """Another writer got there first (a new row, a deadlock): retry the transaction."""


#: (lane, start minute, end minute): a window row's key within its scope.
RowKey = tuple[str, int, int]


class DecodedWindows:
    """Windows decoded from stored rows, kept per (run string, flag) scope.

    The controller reads the same stage windows every tick, and closed minute
    windows do not change: decoding them again was most of a read. A row is
    answered from here only when its stored bytes equal the bytes it was
    decoded from, so a window merged or rewritten since is decoded afresh:
    what comes back equals what `from_bytes` would give, always.

    At most `limit` windows are kept; a scope that would pass it is not kept
    (its reads decode as without a cache). `keep_only` drops the scopes a
    caller no longer reads.
    """

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self._scopes: dict[tuple[str, str], dict[RowKey, tuple[bytes, Window]]] = {}
        self._size = 0
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return self._size

    def decode(
        self, run: str, flag: str, rows: Sequence[tuple[str, int, int, bytes]]
    ) -> tuple[Window, ...]:
        """The windows of `rows` (lane, start, end, data) of the scope, in order."""
        kept = self._scopes.get((run, flag), {})
        out: list[Window] = []
        fresh: dict[RowKey, tuple[bytes, Window]] = {}
        for lane, start, end, data in rows:
            key = (lane, start, end)
            hit = kept.get(key)
            if hit is not None and hit[0] == data:
                self.hits += 1
                window = hit[1]
            else:
                self.misses += 1
                window = from_bytes(data)
                fresh[key] = (bytes(data), window)
            out.append(window)
        if fresh:
            grown = {**kept, **fresh}
            if self._size - len(kept) + len(grown) <= self.limit:
                self._size += len(grown) - len(kept)
                self._scopes[(run, flag)] = grown
        return tuple(out)

    def keep_only(self, prefix: str, scopes: Collection[tuple[str, str]]) -> None:
        """Forget the scopes whose run string starts with `prefix`, except `scopes`."""
        for scope in [s for s in self._scopes if s[0].startswith(prefix)]:
            if scope not in scopes:
                self._size -= len(self._scopes.pop(scope))

    def retain(self, keep: Callable[[str], bool]) -> None:
        """Forget the scopes whose run string `keep` refuses."""
        for scope in [s for s in self._scopes if not keep(s[0])]:
            self._size -= len(self._scopes.pop(scope))


class _NoScope(Exception):
    """A scope the batch goes to does not exist yet: create it, then retry."""

    def __init__(self, pipe: BatchIngest) -> None:
        super().__init__(pipe.run, pipe.flag)
        self.pipe = pipe


@dataclass(frozen=True, slots=True)
class Taken:
    """What `WindowStore.take` did: the key's claim, and each scope's counts
    (none unless the claim was FRESH)."""

    claim: Claim
    counts: tuple[IngestCounts, ...] = ()

    @property
    def duplicate(self) -> bool:
        """Whether the batch counted nowhere: its key was known, or every
        scope had seen it."""
        if self.claim is Claim.DUPLICATE:
            return True
        return bool(self.counts) and all(c.duplicate_batch for c in self.counts)


@dataclass(frozen=True, slots=True)
class BatchToTake:
    """One batch for `WindowStore.take_many`: its environment, the scopes it
    goes to, and when it was received and its key may be forgotten."""

    environment: str
    pipes: tuple[BatchIngest, ...]
    batch: EventBatch
    received_at: dt.datetime
    forget_after: dt.datetime


class WindowStore:
    """Metric windows in SQL (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None) -> WindowStore:
        """A store on `url` (migrated to the newest schema)."""
        return cls(open_engine(url))

    def add_batch(self, run: str, key: str, windows: Sequence[Window]) -> bool:
        """Merge a batch's windows into the stored ones; False if `key` was seen.

        The key check and the window upserts share one transaction.
        """
        for window in windows:
            if window.key.run != run:
                raise StoreError(f"window of run {window.key.run!r} in a {run!r} batch")
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self._write() as conn:
                    if _has_batch(conn, run, key):
                        return False
                    # A writer racing us with the same key fails on the primary key,
                    # retries, and then sees the key: the batch still counts once.
                    conn.execute(
                        insert(ingested_batches).values(
                            run=run, batch_key=key, windows=len(windows)
                        )
                    )
                    for window in windows:
                        merge_window_row(conn, window)
                return True
            except _Conflict:
                if attempt == WRITE_ATTEMPTS:
                    raise StoreError(
                        "window rows kept changing; nothing written"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def open_scope(self, run: str, flag: str, environment: str = "production") -> None:
        """Create the ingest scope (run string, flag) unless it exists."""
        try:
            with self._write() as conn:
                create_scope(conn, run, flag, environment)
        except _Conflict:
            pass  # it exists: another writer created it first, or it was there

    def ingest(
        self, pipe: BatchIngest, batch: EventBatch, *, received_at: dt.datetime
    ) -> IngestCounts:
        """Ingest one batch into the scope (`pipe.run`, `pipe.flag`), all or nothing.

        One transaction locks the scope, looks up the batch's actors, and writes
        their new states, the merged windows and the batch key (the scope is
        created on first use). Returns the batch's counts; `duplicate_batch` when
        the key was seen, and then nothing is written. Raises `ScopeClosed` for a
        closed scope and StoreError when the database fails: nothing is written,
        and the same batch may be sent again.
        """
        if len(batch.key) > MAX_BATCH_KEY:
            raise StoreError(f"batch key is over {MAX_BATCH_KEY} characters")
        conflicts = 0
        while True:
            try:
                with self._write() as conn:
                    counts = apply_batch(conn, pipe, batch, received_at)
            except Duplicate:
                return IngestCounts(duplicate_batch=True)
            except _Conflict as exc:
                conflicts += 1
                if conflicts == WRITE_ATTEMPTS:
                    reason = short_reason(exc.__cause__ or exc)
                    raise StoreError(
                        f"nothing was written ({WRITE_ATTEMPTS} attempts): {reason}"
                    ) from exc.__cause__
                continue
            if counts is not None:
                return counts
            self.open_scope(pipe.run, pipe.flag, pipe.environment)

    def take(
        self,
        environment: str,
        pipes: Sequence[BatchIngest],
        batch: EventBatch,
        *,
        received_at: dt.datetime,
        forget_after: dt.datetime,
    ) -> Taken:
        """Claim the server's batch key and ingest the batch into every scope of
        `pipes`, in one transaction (the server's events path).

        The key (`event_batches.claim`) is written first, with the environment
        checked in the same statement: a duplicate or an unknown environment
        writes nothing. Then each scope takes the batch as `ingest` does, in a
        fixed order (so that two such transactions never wait on each other's
        scopes). All of it commits or none of it does: a retry after a failure
        counts once. Raises `ScopeClosed` and StoreError as `ingest` does.
        """
        one = BatchToTake(environment, tuple(pipes), batch, received_at, forget_after)
        return self.take_many([one])[0]

    def take_many(self, batches: Sequence[BatchToTake]) -> list[Taken]:
        """`take` for several batches in one transaction, in their order.

        What each batch does is what `take` alone would do, one after another:
        a key claimed by an earlier batch of the same call is a duplicate, an
        unknown environment writes nothing of that batch. One commit for all of
        them is the point (the server groups concurrent requests this way). The
        scopes are locked first, in the store's order, so that two such calls
        never wait on each other. All or nothing: on any error nothing is
        written, for any of them.
        """
        for item in batches:
            if len(item.batch.key) > MAX_BATCH_KEY:
                raise StoreError(f"batch key is over {MAX_BATCH_KEY} characters")
        scopes = sorted(
            {(p.run, p.flag): p for item in batches for p in item.pipes}.items()
        )
        conflicts = 0
        while True:
            try:
                with self._write() as conn:
                    if conn.dialect.name != "sqlite":  # SQLite: BEGIN IMMEDIATE
                        for (run, flag), _ in scopes:
                            lock_scope(conn, run, flag)
                    return _take_all(conn, batches, [p for _, p in scopes])
            except _NoScope as missing:
                # Created in a transaction of its own; then every batch again.
                self.open_scope(
                    missing.pipe.run, missing.pipe.flag, missing.pipe.environment
                )
            except _Conflict as exc:
                conflicts += 1
                if conflicts == WRITE_ATTEMPTS:
                    reason = short_reason(exc.__cause__ or exc)
                    raise StoreError(
                        f"nothing was written ({WRITE_ATTEMPTS} attempts): {reason}"
                    ) from exc.__cause__

    def close_scope(self, run: str, flag: str) -> bool:
        """Close the scope: later batches are refused, its actor states and batch
        keys are dropped (its windows stay). Returns whether it existed."""
        with self._write() as conn:
            return close_scope(conn, run, flag)

    def forget_batch_keys(self, now: dt.datetime) -> int:
        """Drop the batch keys of every scope whose redelivery would now count
        nothing (all its events too old for `now`). Returns how many."""
        with self._write() as conn:
            return forget_batch_keys(conn, now)

    def scope_state(self, run: str, flag: str) -> ScopeSnapshot | None:
        """The scope's whole state, for inspection and tests (None if unknown)."""
        with reading(self.engine, "ingest scope") as conn:
            return read_scope(conn, run, flag)

    def scope_actors(self, run: str, flag: str) -> int:
        """How many actor states the scope holds."""
        with reading(self.engine, "ingest scope") as conn:
            return count_actors(conn, run, flag)

    def has_batch(self, run: str, key: str) -> bool:
        """Whether the batch `key` was already added to `run`."""
        with reading(self.engine, "windows") as conn:
            return _has_batch(conn, run, key)

    def windows(
        self,
        run: str,
        flag: str,
        *,
        lane: Lane | None = None,
        start: int | None = None,
        end: int | None = None,
        decoded: DecodedWindows | None = None,
    ) -> tuple[Window, ...]:
        """Stored windows inside [start, end) (epoch minutes), oldest first.

        With `decoded`, rows whose bytes it holds already are not decoded
        again (and come back as the very objects it returned before)."""
        t = metric_windows.c
        query = select(t.data).where(t.run == run, t.flag == flag)
        if lane is not None:
            query = query.where(t.lane == lane.value)
        if start is not None:
            query = query.where(t.start_minute >= start)
        if end is not None:
            query = query.where(t.end_minute <= end)
        query = query.order_by(t.start_minute, t.end_minute, t.lane)
        if decoded is not None:
            query = query.add_columns(t.lane, t.start_minute, t.end_minute)
        with reading(self.engine, "windows") as conn:
            rows = conn.execute(query).all()
        if decoded is None:
            return tuple(from_bytes(row.data) for row in rows)
        return decoded.decode(
            run, flag, [(r.lane, r.start_minute, r.end_minute, r.data) for r in rows]
        )

    def compact(self, run: str, flag: str, span: int, before: int) -> int:
        """Merge windows shorter than `span` into aligned `span` windows.

        Only spans that end by epoch minute `before` are compacted (a later minute
        may still arrive). Returns how many rows were replaced.
        """
        cutoff = before - before % span
        t = metric_windows.c
        shorter = and_(
            t.run == run,
            t.flag == flag,
            t.end_minute <= cutoff,
            t.end_minute - t.start_minute < span,
        )
        with self._write() as conn:
            rows = conn.execute(select(t.data).where(shorter).with_for_update()).all()
            if not rows:
                return 0
            merged = compact((from_bytes(r.data) for r in rows), span)
            conn.execute(delete(metric_windows).where(shorter))
            for window in merged:
                merge_window_row(conn, window)
        return len(rows)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with begin_write(self.engine) as conn:
                yield conn
        except IntegrityError as exc:
            raise _Conflict from exc
        except OperationalError as exc:
            if _is_transient(exc):
                raise _Conflict from exc
            raise StoreError(f"nothing was written: {short_reason(exc)}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"nothing was written: {short_reason(exc)}") from exc


def _take_all(
    conn: Connection, batches: Sequence[BatchToTake], pipes: Sequence[BatchIngest]
) -> list[Taken]:
    """Each batch's claim in order, then each scope's fresh batches at once:
    what taking them one after another would write (a claim and a scope's
    ingest touch different rows, and each scope sees its batches in order)."""
    claims = claim_many(
        conn,
        [
            (b.environment, b.batch.key, len(b.batch.events), b.forget_after)
            for b in batches
        ],
    )
    counts: dict[tuple[int, str, str], IngestCounts] = {}
    for pipe in pipes:  # the store's order
        scope = (pipe.run, pipe.flag)
        mine = [
            i
            for i, (b, c) in enumerate(zip(batches, claims, strict=True))
            if c is Claim.FRESH and any((p.run, p.flag) == scope for p in b.pipes)
        ]
        if not mine:
            continue
        got = apply_batches(
            conn, pipe, [(batches[i].batch, batches[i].received_at) for i in mine]
        )
        if got is None:
            raise _NoScope(pipe)
        for i, one in zip(mine, got, strict=True):
            counts[(i, *scope)] = one
    return [
        Taken(c)
        if c is not Claim.FRESH
        else Taken(
            c,
            tuple(
                counts[(i, p.run, p.flag)]
                for p in sorted(b.pipes, key=lambda p: (p.run, p.flag))
            ),
        )
        for i, (b, c) in enumerate(zip(batches, claims, strict=True))
    ]


def _is_transient(exc: OperationalError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _TRANSIENT_STATES:
        return True
    args: tuple[object, ...] = tuple(getattr(orig, "args", ()))
    return bool(args) and args[0] in _TRANSIENT_ERRNOS


def _has_batch(conn: Connection, run: str, key: str) -> bool:
    t = ingested_batches.c
    found = conn.execute(
        select(t.batch_key).where(t.run == run, t.batch_key == key)
    ).first()
    return found is not None
