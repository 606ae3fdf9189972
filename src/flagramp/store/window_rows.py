"""Merging a window into its stored row: the one write both ingest paths share."""

from __future__ import annotations

from sqlalchemy import Connection, and_, insert, select, update

from flagramp.stats.windows import Window, from_bytes, to_bytes
from flagramp.store.window_tables import metric_windows


def merge_window_row(conn: Connection, window: Window) -> None:
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
