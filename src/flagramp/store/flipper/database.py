"""The Flipper database: its URL, its engine, its schema.

`FLAGRAMP_FLAG_STORE` names it: `flipper+sqlite:///app.db`,
`flipper+postgresql+psycopg://host/app`, `flipper+mysql+pymysql://host/app`,
with optional query parameters `table_prefix` (ActiveRecord's
`table_name_prefix`) and `environment` (the flagramp environment these tables
are; `production` by default). flagramp's own tables stay at
`FLAGRAMP_DATABASE_URL`.

The engine never migrates and never changes a setting that outlives its
connections (no `PRAGMA journal_mode` on the Rails app's SQLite file).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from flagramp.core.errors import FlipperTablesNotFound, StoreError
from flagramp.core.identifiers import check_environment
from flagramp.store.flipper.schema import (
    MYSQL,
    FlipperSchema,
    FlipperTables,
    read_schema,
)
from flagramp.store.port import DEFAULT_ENVIRONMENT

SCHEME = "flipper+"
#: Query parameters flagramp reads itself; the rest go to the driver.
OWN_PARAMETERS = ("table_prefix", "environment")
#: Seconds to wait for the Flipper database before a write is left pending.
CONNECT_SECONDS = 5
#: The SQL function SQLite connections get for the change fingerprint.
SQLITE_HASH = "flagramp_crc32"


@dataclass(frozen=True)
class FlagStoreUrl:
    """A parsed `flipper+…` URL: the database's own URL, prefix, environment."""

    database: URL
    table_prefix: str
    environment: str

    @property
    def shown(self) -> str:
        """The URL with its password hidden, for messages and the audit log."""
        return self.database.render_as_string(hide_password=True)


def is_flipper_url(url: str) -> bool:
    """True for a `flipper+…` URL (Flipper's tables), False for flagramp's own."""
    return url.startswith(SCHEME)


def parse_flag_store_url(url: str) -> FlagStoreUrl:
    """Read a `flipper+…` URL (the `flipper+` may be left out); raises StoreError
    for one that is not a database URL or has a bad prefix or environment."""
    raw = url.removeprefix(SCHEME)
    try:
        parsed = make_url(raw)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {url!r}") from exc
    prefix = _single(parsed, "table_prefix")
    environment = _single(parsed, "environment") or DEFAULT_ENVIRONMENT
    check_environment(environment)
    try:
        FlipperTables.named(prefix)
    except ValueError as exc:
        raise StoreError(f"{url!r}: {exc}") from exc
    database = parsed.difference_update_query(OWN_PARAMETERS)
    return FlagStoreUrl(database, prefix, environment)


def _single(url: URL, name: str) -> str:
    value = url.query.get(name, "")
    if isinstance(value, tuple):
        raise StoreError(f"{name} is given more than once in the flag store URL")
    return value


@dataclass(frozen=True)
class FlipperDatabase:
    """An engine on the Flipper database and what its tables are like."""

    engine: Engine
    schema: FlipperSchema
    url: FlagStoreUrl

    @property
    def tables(self) -> FlipperTables:
        return self.schema.tables

    @classmethod
    def open(cls, url: str | FlagStoreUrl) -> FlipperDatabase:
        """Connect and read the schema; raises FlipperTablesNotFound when the
        tables are not there, StoreUnavailable when the database is not."""
        parsed = url if isinstance(url, FlagStoreUrl) else parse_flag_store_url(url)
        path = parsed.database.database
        if (
            parsed.database.get_backend_name() == "sqlite"
            and path
            and path != ":memory:"
            and not Path(path).exists()
        ):
            # SQLite would create an empty file: the Rails app's is elsewhere.
            raise FlipperTablesNotFound(parsed.shown, f"there is no file {path}")
        engine = flipper_engine(parsed.database)
        tables = FlipperTables.named(parsed.table_prefix)
        try:
            schema = read_schema(engine, tables, parsed.shown)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, schema, parsed)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction on Flipper's tables (SQLite: `BEGIN IMMEDIATE`,
        so that a Rails process writing meanwhile makes it wait, not fail)."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def flipper_engine(url: URL) -> Engine:
    """An engine for the Flipper database with short connect timeouts; on SQLite
    the fingerprint's hash function is registered on every connection."""
    backend = url.get_backend_name()
    options: dict[str, Any] = {}
    if backend == "sqlite":
        options["connect_args"] = {"timeout": CONNECT_SECONDS}
    elif backend in MYSQL:
        options["isolation_level"] = "READ COMMITTED"
        options["connect_args"] = {
            "charset": "utf8mb4",
            "connect_timeout": CONNECT_SECONDS,
        }
        options["pool_pre_ping"] = True
    elif backend == "postgresql":
        options["connect_args"] = {"connect_timeout": CONNECT_SECONDS}
        options["pool_pre_ping"] = True
    engine = create_engine(url, **options)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_functions)
    return engine


def _sqlite_functions(dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.create_function(SQLITE_HASH, 1, _crc32, deterministic=True)


def _crc32(text: str | None) -> int:
    return 0 if text is None else zlib.crc32(text.encode("utf-8", "surrogatepass"))
