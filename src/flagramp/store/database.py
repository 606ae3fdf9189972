"""Opening the database: URL, engine, and migrations on first use.

SQLite (`flagramp.db` in the working directory) by default; PostgreSQL or another
SQLAlchemy URL through `FLAGRAMP_DATABASE_URL`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from flagramp.core.errors import StoreError

DEFAULT_URL = "sqlite:///flagramp.db"
MIGRATIONS = Path(__file__).parent / "migrations"


def database_url() -> str:
    """The configured URL: `FLAGRAMP_DATABASE_URL`, else SQLite in the cwd."""
    return os.environ.get("FLAGRAMP_DATABASE_URL") or DEFAULT_URL


def open_engine(url: str | None = None, *, migrate: bool = True) -> Engine:
    """An engine for `url`, migrated to the newest schema unless told not to."""
    target = url or database_url()
    try:
        parsed = make_url(target)
    except SQLAlchemyError as exc:
        raise StoreError(f"not a database URL: {target!r}") from exc
    options: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        # Writers wait for each other instead of failing with "database is locked".
        options["connect_args"] = {"timeout": 30}
    engine = create_engine(target, **options)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if migrate:
        upgrade(engine)
    return engine


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest migration flagramp ships."""
    script = ScriptDirectory.from_config(_alembic_config(create_engine("sqlite://")))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration; nothing to do if it is there."""
    try:
        if current_revision(engine) == head_revision():
            return
        config = _alembic_config(engine)
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate {engine.url!r}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
