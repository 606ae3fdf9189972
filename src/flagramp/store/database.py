"""Opening the database: URL, engine, transactions, and migrations on first use.

SQLite (`flagramp.db` in the working directory) by default; PostgreSQL, MariaDB or
MySQL through `FLAGRAMP_DATABASE_URL` (`postgresql+psycopg://…`,
`mysql+pymysql://…`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from flagramp.core.errors import StoreError, StoreUnavailable
from flagramp.store.connections import short_reason

DEFAULT_URL = "sqlite:///flagramp.db"
MIGRATIONS = Path(__file__).parent / "migrations"
MYSQL_BACKENDS = ("mysql", "mariadb")
#: Seconds a migration waits for another process's migration (MySQL GET_LOCK).
MIGRATION_LOCK_SECONDS = 120


def database_url() -> str:
    """The configured URL: `FLAGRAMP_DATABASE_URL`, else SQLite in the cwd."""
    return os.environ.get("FLAGRAMP_DATABASE_URL") or DEFAULT_URL


#: libpq settings for PostgreSQL connections unless the URL gives its own:
#: give up connecting after 10 s; notice a dead peer on an open connection
#: after about a minute (keepalives).
POSTGRES_TIMEOUTS: dict[str, int] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def open_engine(url: str | None = None, *, migrate: bool = True) -> Engine:
    """An engine for `url`, migrated to the newest schema unless told not to."""
    target = url or database_url()
    try:
        parsed = make_url(target)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {target!r}") from exc
    backend = parsed.get_backend_name()
    options: dict[str, Any] = {}
    if backend == "sqlite":
        # Writers wait for each other instead of failing with "database is locked".
        options["connect_args"] = {"timeout": 30}
    elif backend in MYSQL_BACKENDS:
        # PostgreSQL's default: every statement sees what committed before it.
        # The store's writers serialise on the version row, so this is exact,
        # and it avoids InnoDB's gap locks on inserts.
        options["isolation_level"] = "READ COMMITTED"
        options["connect_args"] = {"charset": "utf8mb4"}
        options["pool_pre_ping"] = True
    elif backend == "postgresql":
        # A server that accepts and never answers must fail, not hang: the
        # controller and the server retry a store that fails. The URL's own
        # settings win.
        options["connect_args"] = {
            k: v for k, v in POSTGRES_TIMEOUTS.items() if k not in parsed.query
        }
    # A driver that is not installed raises ImportError or NoSuchModuleError here;
    # the shells put those into words (cli/connect.py).
    engine = create_engine(parsed, **options)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if migrate:
        upgrade(engine)
    return engine


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A write transaction, committed when the block ends without an exception.

    SQLite gets `BEGIN IMMEDIATE`: it takes the write lock first, waiting for
    other writers, where a deferred transaction that reads and then writes fails
    with "database is locked" when another writer got in between.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction in which every statement sees the same snapshot,
    however many other writers commit meanwhile."""
    backend = engine.dialect.name
    if backend == "sqlite":
        with engine.connect() as conn:
            # In WAL mode a read transaction keeps the snapshot of its first read.
            conn.exec_driver_sql("BEGIN")
            yield conn
        return
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        if backend in MYSQL_BACKENDS:
            conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        yield conn
        conn.rollback()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate_to(conn: Connection, revision: str) -> None:
    """Run flagramp's migrations up to `revision` on `conn`, in its transaction
    (a scratch or staging database; `upgrade` is for the store's own)."""
    config = _alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


def is_known_revision(revision: str) -> bool:
    """Whether `revision` is one of the migrations flagramp ships."""
    script = ScriptDirectory.from_config(_alembic_config())
    return revision in {script.revision for script in script.walk_revisions()}


def head_revision() -> str:
    """The newest migration flagramp ships."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration; nothing to do if it is there.

    Several processes may start on an empty database at once: each takes a lock
    (PostgreSQL advisory lock, MySQL `GET_LOCK`, SQLite's write lock), then looks
    again whether the schema is at the head, and only then migrates.
    """
    head = head_revision()
    shown = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreUnavailable(shown, short_reason(exc)) from exc
    if current == head:
        return
    try:
        with begin_write(engine) as conn, _migration_lock(conn):
            if MigrationContext.configure(conn).get_current_revision() == head:
                return
            config = _alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate {shown}: {short_reason(exc)}") from exc


@contextmanager
def _migration_lock(conn: Connection) -> Iterator[None]:
    backend = conn.dialect.name
    if backend == "postgresql":
        # Released when the transaction ends; one lock per schema.
        key = "hashtext('flagramp.migrate.' || current_schema())"
        conn.execute(text(f"SELECT pg_advisory_xact_lock({key})"))
        yield
        return
    if backend in MYSQL_BACKENDS:
        name = "CONCAT('flagramp.migrate.', SHA1(DATABASE()))"
        got = conn.execute(
            text(f"SELECT GET_LOCK({name}, :seconds)"),
            {"seconds": MIGRATION_LOCK_SECONDS},
        ).scalar()
        if got != 1:
            raise StoreError("another process kept the migration lock; try again")
        try:
            yield
        finally:
            conn.execute(text(f"SELECT RELEASE_LOCK({name})"))
        return
    yield  # SQLite: begin_write's BEGIN IMMEDIATE is the lock


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
