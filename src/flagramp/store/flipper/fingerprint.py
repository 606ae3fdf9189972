"""A cheap fingerprint of Flipper's tables, to notice changes made from outside.

Checked every second, it must not read every row into flagramp, and it must
notice any change, including a delete and an insert within the same second
(same row count, same `max(updated_at)` at second precision) and an `UPDATE`
made by hand that leaves `updated_at` alone. So besides the count, the newest
`updated_at` and the largest id, the database sums a hash of every row's
content; a change to any row changes the sum (but for a 32-bit collision).

- SQLite: `flagramp_crc32()`, registered on each connection (zlib's CRC-32).
- PostgreSQL: the first 32 bits of `md5()`.
- MySQL/MariaDB: `CRC32()`.

When the whole-table figures change, the same sums per feature (`GROUP BY`,
one row per feature) say which features to read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, text

from flagramp.store.flipper.database import SQLITE_HASH
from flagramp.store.flipper.schema import MYSQL, FlipperSchema

FeatureMark = tuple[object, ...]


@dataclass(frozen=True)
class Fingerprint:
    """The whole-table figures of both tables."""

    features: tuple[object, ...]
    gates: tuple[object, ...]


def fingerprint(conn: Connection, schema: FlipperSchema) -> Fingerprint:
    """Counts, largest id, newest `updated_at` and content hash sums of both
    tables, in one statement."""
    features, gates = _names(conn, schema)
    f_hash = _hash(schema.dialect, "key")
    g_hash = _hash(schema.dialect, _content(schema.dialect))
    figures = ("COUNT(*)", "MAX(id)", "MAX(updated_at)")
    parts = [f"(SELECT {f} FROM {features})" for f in (*figures, f"SUM({f_hash})")]
    parts += [f"(SELECT {f} FROM {gates})" for f in (*figures, f"SUM({g_hash})")]
    row = tuple(conn.execute(text("SELECT " + ", ".join(parts))).one())
    return Fingerprint(row[:4], row[4:])


def feature_marks(conn: Connection, schema: FlipperSchema) -> dict[str, FeatureMark]:
    """Per feature key (byte for byte): its feature row's id, and the count,
    hash sum and largest id of its gate rows. A feature's gate rows are those
    the database joins to it (as Ruby's `get_all` does: on a case-insensitive
    collation `Search`'s rows are `search`'s); gate rows without a feature are
    grouped by their own key."""
    features, gates = _names(conn, schema)
    dialect = schema.dialect
    row_hash = _hash(dialect, _content(dialect, "g."))
    key, feature_key = (
        _exact(dialect, "f.", "key"),
        _exact(dialect, "g.", "feature_key"),
    )
    joined = f"g.feature_key = f.{_KEY[_family(dialect)]}"
    owned = (
        f"SELECT {key}, f.id, COUNT(g.id), SUM({row_hash}), MAX(g.id) "
        f"FROM {features} f LEFT JOIN {gates} g ON {joined} GROUP BY f.id, {key}"
    )
    loose = (
        f"SELECT {feature_key}, NULL, COUNT(*), SUM({row_hash}), MAX(g.id) "
        f"FROM {gates} g WHERE NOT EXISTS (SELECT 1 FROM {features} f "
        f"WHERE {joined}) GROUP BY {feature_key}"
    )
    marks: dict[str, FeatureMark] = {}
    for statement in (owned, loose):
        for name, *mark in conn.execute(text(statement)):
            marks[_text(name)] = tuple(mark)
    return marks


def changed_keys(
    before: Mapping[str, FeatureMark], after: Mapping[str, FeatureMark]
) -> list[str]:
    """Keys whose marks differ (appeared, disappeared or changed), sorted."""
    keys = before.keys() | after.keys()
    return sorted(k for k in keys if before.get(k) != after.get(k))


def _names(conn: Connection, schema: FlipperSchema) -> tuple[str, str]:
    quote = conn.dialect.identifier_preparer.quote
    return quote(schema.tables.features.name), quote(schema.tables.gates.name)


def _family(dialect: str) -> str:
    return "mysql" if dialect in MYSQL else dialect


# Unit separators between the fields, so that ("ab", "c") and ("a", "bc") hash
# differently; a NULL value hashes unlike the empty string.
_ROW = {
    "sqlite": (
        '{t}feature_key || char(31) || {t}"key" || char(31) || '
        "COALESCE({t}value, char(30))"
    ),
    "postgresql": (
        '{t}feature_key || chr(31) || {t}"key" || chr(31) || '
        "COALESCE({t}value, chr(30))"
    ),
    "mysql": (
        "CONCAT_WS(CHAR(31), {t}feature_key, {t}`key`, COALESCE({t}value, CHAR(30)))"
    ),
}
_KEY = {"sqlite": '"key"', "postgresql": '"key"', "mysql": "`key`"}


def _content(dialect: str, table: str = "") -> str:
    return _ROW[_family(dialect)].format(t=table)


def _hash(dialect: str, expression: str) -> str:
    family = _family(dialect)
    if expression == "key":
        expression = _KEY[family]
    if family == "sqlite":
        return f"{SQLITE_HASH}({expression})"
    if family == "postgresql":
        return f"('x' || substr(md5({expression}), 1, 8))::bit(32)::bigint"
    return f"CRC32({expression})"


def _exact(dialect: str, table: str, column: str) -> str:
    family = _family(dialect)
    quoted = table + (_KEY[family] if column == "key" else column)
    # MySQL's default collations would group `Search` with `search`.
    return f"CAST({quoted} AS BINARY)" if family == "mysql" else quoted


def _text(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)
