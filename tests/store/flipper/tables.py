"""Flipper's tables, created as ActiveRecord 6.1 runs Flipper's migration.

`string` is Flipper 0.25's `t.string :value` (varchar); `text` is 1.x's
`t.text :value`. The DDL is what `CreateFlipperTables.migrate(:up)` leaves in
each database (read back from the real Ruby migration; `tests/compat` runs it
and compares). `collation` (MySQL/MariaDB) is the tables' collation: the
server's default, case-insensitive, unless a test asks for `utf8mb4_bin`.
"""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa

ValueType = Literal["string", "text"]


def create_flipper_tables(
    url: str,
    value: ValueType = "text",
    *,
    prefix: str = "",
    collation: str | None = None,
) -> None:
    """Create `<prefix>flipper_features` and `<prefix>flipper_gates` at `url`."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in _ddl(conn.dialect.name, value, prefix, collation):
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def _ddl(
    dialect: str, value: ValueType, prefix: str, collation: str | None
) -> list[str]:
    f, g = f"{prefix}flipper_features", f"{prefix}flipper_gates"
    if dialect == "sqlite":
        kind = "varchar" if value == "string" else "text"
        return [
            f'CREATE TABLE "{f}" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, '
            '"key" varchar NOT NULL, "created_at" datetime(6) NOT NULL, '
            '"updated_at" datetime(6) NOT NULL)',
            f'CREATE UNIQUE INDEX "index_{f}_on_key" ON "{f}" ("key")',
            f'CREATE TABLE "{g}" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, '
            '"feature_key" varchar NOT NULL, "key" varchar NOT NULL, '
            f'"value" {kind}, "created_at" datetime(6) NOT NULL, '
            '"updated_at" datetime(6) NOT NULL)',
            f'CREATE UNIQUE INDEX "index_{g}_on_feature_key_and_key_and_value" '
            f'ON "{g}" ("feature_key", "key", "value")',
        ]
    if dialect == "postgresql":
        kind = "character varying" if value == "string" else "text"
        return [
            f'CREATE TABLE "{f}" ("id" bigserial primary key, '
            '"key" character varying NOT NULL, '
            '"created_at" timestamp(6) NOT NULL, "updated_at" timestamp(6) NOT NULL)',
            f'CREATE UNIQUE INDEX "index_{f}_on_key" ON "{f}" ("key")',
            f'CREATE TABLE "{g}" ("id" bigserial primary key, '
            '"feature_key" character varying NOT NULL, '
            f'"key" character varying NOT NULL, "value" {kind}, '
            '"created_at" timestamp(6) NOT NULL, "updated_at" timestamp(6) NOT NULL)',
            f'CREATE UNIQUE INDEX "index_{g}_on_feature_key_and_key_and_value" '
            f'ON "{g}" ("feature_key", "key", "value")',
        ]
    kind = "varchar(255)" if value == "string" else "text"
    index_value = "`value`" if value == "string" else "`value`(255)"
    table = " DEFAULT CHARSET=utf8mb4" + (f" COLLATE={collation}" if collation else "")
    return [
        f"CREATE TABLE `{f}` (`id` bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, "
        "`key` varchar(255) NOT NULL, `created_at` datetime(6) NOT NULL, "
        f"`updated_at` datetime(6) NOT NULL){table}",
        f"CREATE UNIQUE INDEX `index_{f}_on_key` ON `{f}` (`key`)",
        f"CREATE TABLE `{g}` (`id` bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, "
        "`feature_key` varchar(255) NOT NULL, `key` varchar(255) NOT NULL, "
        f"`value` {kind}, `created_at` datetime(6) NOT NULL, "
        f"`updated_at` datetime(6) NOT NULL){table}",
        f"CREATE UNIQUE INDEX `index_{g}_on_feature_key_and_key_and_value` "
        f"ON `{g}` (`feature_key`, `key`, {index_value})",
    ]


def feature_keys(url: str, prefix: str = "") -> list[str]:
    """The keys in `flipper_features`, sorted."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                f"SELECT {_q(conn, 'key')} FROM {_q(conn, prefix + 'flipper_features')}"
            )
            return sorted(str(r[0]) for r in rows)
    finally:
        engine.dispose()


def gate_rows(url: str, prefix: str = "") -> dict[str, list[tuple[str, str | None]]]:
    """`flipper_gates` rows by feature key: (key, value), in id order."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = (
                f"SELECT feature_key, {_q(conn, 'key')}, value "
                f"FROM {_q(conn, prefix + 'flipper_gates')} ORDER BY id"
            )
            found: dict[str, list[tuple[str, str | None]]] = {}
            for feature_key, key, value in conn.exec_driver_sql(query):
                found.setdefault(str(feature_key), []).append((str(key), value))
            return found
    finally:
        engine.dispose()


def execute(
    url: str, *statements: str, parameters: dict[str, object] | None = None
) -> None:
    """Run SQL on the Flipper database as an outside writer would (one
    transaction)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement), parameters or {})
    finally:
        engine.dispose()


def _q(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)
