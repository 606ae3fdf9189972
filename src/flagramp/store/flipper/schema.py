"""Flipper's own tables, as its ActiveRecord migration makes them, and what a
given database actually has.

flagramp never creates, alters or migrates these tables: they belong to the Rails
app. They live on a `MetaData` of their own so that flagramp's migrations never
see them. What differs between databases is read, not assumed:

- `value` is `string` (varchar) in Flipper 0.25's migration and `text` in 1.x's;
  Flipper refuses expressions on a varchar column, and so does flagramp.
- On MySQL/MariaDB the columns take the table's collation, by default a
  case-insensitive one (`utf8mb4_general_ci`): `Search` and `search` are then
  one feature, and `User;1` and `user;1` one actor, to the unique indexes.
- An optional table prefix (`<prefix>flipper_features`), as ActiveRecord's
  `table_name_prefix`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    text,
)
from sqlalchemy.exc import SQLAlchemyError

from flagramp.core.errors import FlipperTablesNotFound, StoreUnavailable
from flagramp.store.connections import short_reason

MYSQL = ("mysql", "mariadb")
#: Bytes a MySQL/MariaDB TEXT column holds (Flipper 1.x's `t.text :value`).
MYSQL_TEXT_BYTES = 65_535
_MYSQL_TEXT_LIMITS = {
    "tinytext": 255,
    "text": MYSQL_TEXT_BYTES,
    "mediumtext": 16_777_215,
}
_COLLATION = re.compile(r"[A-Za-z0-9_]+")
_PREFIX = re.compile(r"[A-Za-z0-9_]*")


@dataclass(frozen=True)
class FlipperTables:
    """The two tables, under their prefix."""

    prefix: str
    features: Table
    gates: Table

    @classmethod
    def named(cls, prefix: str = "") -> FlipperTables:
        """Flipper's tables with ActiveRecord's `table_name_prefix`."""
        if _PREFIX.fullmatch(prefix) is None:
            raise ValueError(
                f"a table prefix is letters, digits and '_', not {prefix!r}"
            )
        meta = MetaData()
        features = Table(
            f"{prefix}flipper_features",
            meta,
            Column("id", BigInteger, primary_key=True, autoincrement=True),
            Column("key", String(255), nullable=False),
            Column("created_at", DateTime, nullable=False),
            Column("updated_at", DateTime, nullable=False),
        )
        gates = Table(
            f"{prefix}flipper_gates",
            meta,
            Column("id", BigInteger, primary_key=True, autoincrement=True),
            Column("feature_key", String(255), nullable=False),
            Column("key", String(255), nullable=False),
            Column("value", Text, nullable=True),
            Column("created_at", DateTime, nullable=False),
            Column("updated_at", DateTime, nullable=False),
        )
        return cls(prefix, features, gates)


@dataclass(frozen=True)
class FlipperSchema:
    """What the database's Flipper tables are like.

    `value_type` is the column type as the database names it; `holds_text` is
    True for a text column (Flipper 1.x), False for varchar (0.25), on which
    expressions are refused. `value_limit` is the most a value may hold, in
    characters for varchar(n) and in bytes for MySQL's TEXT types (None: no
    limit). `collation` is set when keys and values compare case- or
    accent-insensitively (MySQL/MariaDB `_ci`/`_ai` collations).
    """

    tables: FlipperTables
    dialect: str
    value_type: str
    holds_text: bool
    value_limit: int | None
    limit_in_bytes: bool
    collation: str | None

    @property
    def is_case_insensitive(self) -> bool:
        return self.collation is not None

    @property
    def flipper_versions(self) -> str:
        """Which Flipper migration made the tables, from the value column."""
        return (
            "Flipper ≥ 1.0 (text value)"
            if self.holds_text
            else ("Flipper 0.25 (varchar value: no expressions)")
        )


def read_schema(engine: Engine, tables: FlipperTables, shown_url: str) -> FlipperSchema:
    """Inspect the database; raises FlipperTablesNotFound if a table or column
    Flipper's adapter needs is missing, StoreUnavailable if it cannot connect."""
    try:
        with engine.connect() as conn:
            return _read(conn, tables, shown_url)
    except SQLAlchemyError as exc:
        raise StoreUnavailable(shown_url, short_reason(exc)) from exc


def _read(conn: Connection, tables: FlipperTables, shown_url: str) -> FlipperSchema:
    inspector = inspect(conn)
    value_sql = ""
    for table in (tables.features, tables.gates):
        if not inspector.has_table(table.name):
            raise FlipperTablesNotFound(shown_url, f"there is no table {table.name}")
        columns = {c["name"]: c for c in inspector.get_columns(table.name)}
        missing = [c.name for c in table.columns if c.name not in columns]
        if missing:
            raise FlipperTablesNotFound(
                shown_url, f"{table.name} has no column {', '.join(missing)}"
            )
        if table is tables.gates:
            value_sql = str(columns["value"]["type"].compile(conn.dialect)).lower()
    dialect = conn.dialect.name
    holds_text = "text" in value_sql or "clob" in value_sql
    limit, in_bytes = _value_limit(value_sql, dialect)
    return FlipperSchema(
        tables=tables,
        dialect=dialect,
        value_type=value_sql,
        holds_text=holds_text,
        value_limit=limit,
        limit_in_bytes=in_bytes,
        collation=_insensitive_collation(conn, tables) if dialect in MYSQL else None,
    )


def _value_limit(value_sql: str, dialect: str) -> tuple[int | None, bool]:
    kind = re.match(r"[a-z]*", value_sql)
    name = kind.group(0) if kind else ""
    if dialect in MYSQL and name in _MYSQL_TEXT_LIMITS:
        return _MYSQL_TEXT_LIMITS[name], True
    if dialect == "sqlite":
        return None, False  # SQLite keeps any length whatever the declared type
    length = re.search(r"char\w*\((\d+)\)", value_sql)
    return (int(length.group(1)), False) if length else (None, False)


def _insensitive_collation(conn: Connection, tables: FlipperTables) -> str | None:
    """The collation of the first key or value column that ignores case or
    accents, or None if they all compare exactly."""
    rows = conn.execute(
        text(
            "SELECT COLLATION_NAME FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND table_name IN (:f, :g) "
            "AND COLUMN_NAME IN ('key', 'feature_key', 'value')"
        ),
        {"f": tables.features.name, "g": tables.gates.name},
    ).scalars()
    for collation in rows:
        if collation is None or _COLLATION.fullmatch(collation) is None:
            continue
        parts = collation.lower().split("_")
        if "ci" in parts or "ai" in parts:
            return str(collation)
    return None
