"""Merging windows into their stored rows: the one write both ingest paths share."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, and_, insert, select, update

from flagramp.stats.windows import Window, WindowKey, from_bytes, to_bytes
from flagramp.store.window_tables import metric_windows


def merge_window_row(conn: Connection, window: Window) -> None:
    """Add `window` to the row with its exact key, or insert it."""
    merge_window_rows(conn, [window])


def merge_window_rows(conn: Connection, windows: Sequence[Window]) -> None:
    """`merge_window_row` for each window in turn, each row read and written
    once: the windows of one key are merged into it in their order."""
    by_key: dict[WindowKey, list[Window]] = {}
    for window in windows:
        by_key.setdefault(window.key, []).append(window)
    for same in by_key.values():
        _merge_into_row(conn, same)


def _merge_into_row(conn: Connection, same: Sequence[Window]) -> None:
    k = same[0].key
    t = metric_windows.c
    where = and_(
        t.run == k.run,
        t.flag == k.flag,
        t.lane == k.lane.value,
        t.start_minute == k.start,
        t.end_minute == k.end,
    )
    existing = conn.execute(select(t.data).where(where).with_for_update()).first()
    if existing is None and len(same) == 1:
        merged = same[0]
    else:
        # As if each were merged into the stored row in turn: a first one is
        # stored (and read back) as it is.
        merged = from_bytes(existing.data if existing else to_bytes(same[0]))
        for window in same if existing else same[1:]:
            merged = merged.merge(window)
    if existing is None:
        conn.execute(
            insert(metric_windows).values(
                run=k.run,
                flag=k.flag,
                lane=k.lane.value,
                start_minute=k.start,
                end_minute=k.end,
                data=to_bytes(merged),
            )
        )
    else:
        conn.execute(update(metric_windows).where(where).values(data=to_bytes(merged)))
