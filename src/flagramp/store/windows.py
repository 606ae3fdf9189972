"""Persisted metric windows: exact merges into stored rows, idempotent batches.

The ingest side turns each batch into its own minute windows (`WindowIngest.add_batch`
then `flush`); `WindowStore.add_batch` merges them into the stored rows and records
the batch key **in the same transaction**, so a batch delivered twice (a retry after
a lost response, a replayed queue) counts once, and a crash leaves either both or
neither. Old minute windows compact into hour and day rows for long reports.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from flagramp.core.errors import StoreError
from flagramp.stats.windows import Lane, Window, compact, from_bytes, to_bytes
from flagramp.store.connections import reading, short_reason
from flagramp.store.database import begin_write, open_engine
from flagramp.store.window_tables import ingested_batches, metric_windows

#: Attempts when two writers create the same new window row at once.
WRITE_ATTEMPTS = 3


class _Conflict(Exception):
    """Another writer inserted a window row first: retry the transaction."""


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
                        _merge_row(conn, window)
                return True
            except _Conflict:
                if attempt == WRITE_ATTEMPTS:
                    raise StoreError(
                        "window rows kept changing; nothing written"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

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
    ) -> tuple[Window, ...]:
        """Stored windows inside [start, end) (epoch minutes), oldest first."""
        t = metric_windows.c
        query = select(t.data).where(t.run == run, t.flag == flag)
        if lane is not None:
            query = query.where(t.lane == lane.value)
        if start is not None:
            query = query.where(t.start_minute >= start)
        if end is not None:
            query = query.where(t.end_minute <= end)
        query = query.order_by(t.start_minute, t.end_minute, t.lane)
        with reading(self.engine, "windows") as conn:
            return tuple(from_bytes(row.data) for row in conn.execute(query))

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
                _merge_row(conn, window)
        return len(rows)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with begin_write(self.engine) as conn:
                yield conn
        except IntegrityError as exc:
            raise _Conflict from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"nothing was written: {short_reason(exc)}") from exc


def _merge_row(conn: Connection, window: Window) -> None:
    """Add `window` to the row with its exact key, or insert it."""
    k = window.key
    t = metric_windows.c
    where = and_(
        t.run == k.run,
        t.flag == k.flag,
        t.lane == k.lane.value,
        t.start_minute == k.start,
        t.end_minute == k.end,
    )
    existing = conn.execute(select(t.data).where(where).with_for_update()).first()
    if existing is None:
        conn.execute(
            insert(metric_windows).values(
                run=k.run,
                flag=k.flag,
                lane=k.lane.value,
                start_minute=k.start,
                end_minute=k.end,
                data=to_bytes(window),
            )
        )
        return
    merged = from_bytes(existing.data).merge(window)
    conn.execute(update(metric_windows).where(where).values(data=to_bytes(merged)))


def _has_batch(conn: Connection, run: str, key: str) -> bool:
    t = ingested_batches.c
    found = conn.execute(
        select(t.batch_key).where(t.run == run, t.batch_key == key)
    ).first()
    return found is not None
