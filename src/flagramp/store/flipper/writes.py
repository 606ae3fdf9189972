"""Reading and writing Flipper's rows on one connection to the Flipper database.

Writes follow Ruby Flipper's ActiveRecord adapter: `add` inserts the feature row
only if it is missing; `remove` deletes the feature row and every gate row;
`clear` and boolean disable delete every gate row; enabling the boolean gate
first deletes every gate row; a percentage is one row, replaced (delete, then
insert, never an UPDATE); actors and groups are one row each. A write turns the
rows into a target state, so writing the same target twice changes nothing.

Rows are read by key and then matched byte for byte, and deleted by id: on a
case-insensitive MySQL collation `WHERE key = 'search'` also finds `Search`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, exists, insert, select, text

from flagramp.store.flipper.rows import (
    GATE_KEYS,
    FeatureRows,
    GateRow,
    diff,
)
from flagramp.store.flipper.schema import FlipperSchema, FlipperTables

#: Keys per `IN (…)` list.
CHUNK = 500


@dataclass(frozen=True)
class StoredFeature:
    """One feature's rows as read, with their ids (gate rows of every key)."""

    key: str
    feature_id: int | None
    gate_rows: tuple[tuple[int, str, str | None], ...] = ()

    @property
    def rows(self) -> FeatureRows:
        return FeatureRows(
            self.feature_id is not None,
            tuple((k, v) for _, k, v in self.gate_rows if k in GATE_KEYS),
        )


def read_features(
    conn: Connection, tables: FlipperTables, keys: Sequence[str] | None = None
) -> dict[str, StoredFeature]:
    """The stored features among `keys` (or all of them), and keys with gate
    rows but no feature row; gate rows in id order.

    A feature's gate rows are those whose `feature_key` the database holds
    equal to the feature's key, as in Ruby's `get_all` (a join): on a
    case-insensitive collation a row keyed `Search` belongs to `search`. Rows
    without a feature are grouped by their own key.
    """
    f, g = tables.features.c, tables.gates.c
    features: dict[str, int] = {}
    gate_rows: dict[str, list[tuple[int, str, str | None]]] = {}
    wanted = None if keys is None else set(keys)
    joined = tables.gates.join(tables.features, g.feature_key == f.key)
    stray = ~exists().where(f.key == g.feature_key)
    for chunk in _chunks(keys):
        query = select(f.id, f.key)
        owned = select(f.key, g.id, g.key, g.value).select_from(joined)
        loose = select(g.feature_key, g.id, g.key, g.value).where(stray)
        if chunk is not None:
            query = query.where(f.key.in_(chunk))
            owned = owned.where(f.key.in_(chunk))
            loose = loose.where(g.feature_key.in_(chunk))
        for row_id, key in conn.execute(query):
            if wanted is None or key in wanted:
                features.setdefault(key, int(row_id))
        for statement in (owned, loose):
            for owner, row_id, key, value in conn.execute(statement):
                if wanted is None or owner in wanted:
                    gate_rows.setdefault(owner, []).append((int(row_id), key, value))
    for found in gate_rows.values():
        found.sort()
    return {
        key: StoredFeature(key, features.get(key), tuple(gate_rows.get(key, ())))
        for key in features.keys() | gate_rows.keys()
    }


def read_feature(conn: Connection, tables: FlipperTables, key: str) -> StoredFeature:
    """One feature's rows (absent: no feature row). Without a feature row, every
    gate row the database holds equal to `key` is its, as Ruby's `get` reads
    them (`where(feature_key: key)`), so that writing the feature replaces them."""
    stored = read_features(conn, tables, [key]).get(key, StoredFeature(key, None))
    if stored.feature_id is not None:
        return stored
    g = tables.gates.c
    rows = conn.execute(
        select(g.id, g.key, g.value).where(g.feature_key == key).order_by(g.id)
    )
    return StoredFeature(key, None, tuple((int(i), k, v) for i, k, v in rows))


def write_feature(
    conn: Connection,
    tables: FlipperTables,
    stored: StoredFeature,
    target: FeatureRows,
    now: dt.datetime,
) -> None:
    """Turn `stored` into `target` as Ruby Flipper's adapter would."""
    f = tables.features
    stamp = now.astimezone(dt.UTC).replace(tzinfo=None)
    all_ids = [row_id for row_id, _, _ in stored.gate_rows]
    if not target.exists:
        _delete_gates(conn, tables, all_ids)
        if stored.feature_id is not None:
            conn.execute(delete(f).where(f.c.id == stored.feature_id))
        return
    if stored.feature_id is None:
        conn.execute(
            insert(f).values(key=stored.key, created_at=stamp, updated_at=stamp)
        )
    current = stored.rows
    clearing = not target.gates and bool(current.gates)
    enabling = bool(target.values("boolean")) and not current.values("boolean")
    if clearing or enabling:
        # Ruby's clear (and boolean enable, which clears first) deletes every
        # gate row of the feature, whatever its key.
        _delete_gates(conn, tables, all_ids)
        _insert_gates(conn, tables, stored.key, target.gates, stamp)
        return
    known = [(i, k, v) for i, k, v in stored.gate_rows if k in GATE_KEYS]
    dropped, added = diff([(k, v) for _, k, v in known], target)
    dropped_set = set(dropped)
    _delete_gates(conn, tables, [i for i, k, v in known if (k, v) in dropped_set])
    _insert_gates(conn, tables, stored.key, added, stamp)


def colliding(
    conn: Connection, schema: FlipperSchema, values: Sequence[str]
) -> tuple[str, str] | None:
    """Two of `values` (distinct byte for byte) that the tables' collation holds
    equal, or None. Asks the database, which alone knows its collation."""
    distinct = list(dict.fromkeys(values))
    if schema.collation is None or len(distinct) < 2:
        return None
    # schema.collation matched [A-Za-z0-9_]+ when it was read: safe to inline.
    charset = schema.collation.split("_", 1)[0]
    candidates = " UNION ALL ".join(f"SELECT :v{i} AS v" for i in range(len(distinct)))
    found = conn.execute(
        text(
            "SELECT MIN(CAST(v AS BINARY)), MAX(CAST(v AS BINARY)) "
            f"FROM ({candidates}) AS t "
            f"GROUP BY CONVERT(v USING {charset}) COLLATE {schema.collation} "
            "HAVING COUNT(*) > 1 LIMIT 1"
        ),
        {f"v{i}": v for i, v in enumerate(distinct)},
    ).first()
    if found is None:
        return None
    return (bytes(found[0]).decode(), bytes(found[1]).decode())


def _delete_gates(conn: Connection, tables: FlipperTables, ids: list[int]) -> None:
    g = tables.gates
    for start in range(0, len(ids), CHUNK):
        conn.execute(delete(g).where(g.c.id.in_(ids[start : start + CHUNK])))


def _insert_gates(
    conn: Connection,
    tables: FlipperTables,
    feature_key: str,
    rows: Sequence[GateRow],
    stamp: dt.datetime,
) -> None:
    if rows:
        conn.execute(
            insert(tables.gates),
            [
                {
                    "feature_key": feature_key,
                    "key": key,
                    "value": value,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
                for key, value in rows
            ],
        )


def _chunks(keys: Sequence[str] | None) -> Iterator[list[str] | None]:
    if keys is None:
        yield None
        return
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), CHUNK):
        yield unique[start : start + CHUNK]
