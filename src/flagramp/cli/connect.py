"""Opening the store for a command, with one sentence for each way that can fail.

Three steps, each failing with its own sentence: load the driver the URL names,
connect (StoreUnavailable: "cannot connect to URL: why"), then migrate (the store's
own "cannot migrate" error, which only a real migration problem gives).
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import NoSuchModuleError, SQLAlchemyError

from flagramp.core.errors import StoreError, StoreUnavailable
from flagramp.store import (
    FLAG_STORE_VARIABLE,
    FlipperTablesStore,
    SqlFlagStore,
    database_url,
    open_engine,
    upgrade,
)
from flagramp.store.flipper import FlipperDatabase, is_flipper_url

#: What to write instead, when a URL names a driver flagramp does not install.
_DRIVER_HINTS = {
    "MySQLdb": "write mysql+pymysql://… to use PyMySQL",
    "psycopg2": "write postgresql+psycopg://… to use psycopg 3",
    "pymysql": "install PyMySQL (pip install pymysql)",
}
_KINDS = "sqlite:///FILE, postgresql+psycopg://… or mysql+pymysql://…"


def open_store() -> SqlFlagStore:
    """The store at FLAGRAMP_DATABASE_URL (SQLite flagramp.db by default), migrated;
    on Flipper's own tables too when FLAGRAMP_FLAG_STORE names them.

    Raises StoreUnavailable if it cannot be reached, StoreError otherwise.
    """
    flag_store = os.environ.get(FLAG_STORE_VARIABLE, "")
    if flag_store and not is_flipper_url(flag_store):
        raise StoreError(
            f"{FLAG_STORE_VARIABLE} must be a flipper+… URL (Flipper's own tables), "
            "or unset for flagramp's own tables at FLAGRAMP_DATABASE_URL"
        )
    engine = open_database(migrate=True)
    if not flag_store:
        return SqlFlagStore(engine)
    return FlipperTablesStore.connected(engine, open_flipper(flag_store))


def open_flipper(url: str) -> FlipperDatabase:
    """Flipper's database at a `flipper+…` URL, its driver put into words."""
    shown = safe_url(url.removeprefix("flipper+"))
    try:
        return FlipperDatabase.open(url)
    except ImportError as exc:
        raise StoreUnavailable(shown, _missing_driver(exc)) from exc
    except NoSuchModuleError as exc:
        scheme = url.removeprefix("flipper+").partition(":")[0]
        reason = f"flagramp does not know the database kind {scheme!r} (use {_KINDS})"
        raise StoreUnavailable(shown, reason) from exc


def open_database(url: str | None = None, *, migrate: bool) -> Engine:
    """An engine that has connected once; migrated to the newest schema if asked."""
    target = url or database_url()
    try:
        engine = open_engine(target, migrate=False)
    except ImportError as exc:
        raise StoreUnavailable(safe_url(target), _missing_driver(exc)) from exc
    except NoSuchModuleError as exc:
        scheme = target.partition(":")[0]
        reason = f"flagramp does not know the database kind {scheme!r} (use {_KINDS})"
        raise StoreUnavailable(safe_url(target), reason) from exc
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        reason = driver_says(exc)
        if engine.url.get_backend_name() == "sqlite":
            reason = _sqlite_reason(engine.url.database) or reason
        raise StoreUnavailable(safe_url(target), reason) from exc
    if migrate:
        upgrade(engine)
    return engine


def safe_url(url: str) -> str:
    """The URL with its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return url


def driver_says(exc: BaseException) -> str:
    """The first line of what the database driver said."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _missing_driver(exc: ImportError) -> str:
    name = exc.name or str(exc)
    hint = _DRIVER_HINTS.get(name, "install it or use another URL")
    return f"its driver {name!r} is not installed; {hint}"


def _sqlite_reason(database: str | None) -> str:
    """Why SQLite could not open `database`, in terms of the file system ("" if
    nothing there explains it)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return ""
    path = Path(database)
    folder = path.parent
    if not folder.exists():
        return f"the directory {folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is not a directory"
    if path.is_dir():
        return f"{path} is a directory"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return f"no permission to read and write {path}"
    if not os.access(folder, os.W_OK):
        # SQLite writes its journal beside the database, even to read it.
        return f"the directory {folder} is not writable"
    if not path.exists():
        return f"SQLite cannot create {path} (can {folder} be written to?)"
    return ""
