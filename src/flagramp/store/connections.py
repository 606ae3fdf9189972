"""Reading from the database, with driver errors turned into StoreError."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from flagramp.core.errors import StoreError


@contextmanager
def reading(engine: Engine, what: str) -> Iterator[Connection]:
    """A connection for reads; a driver error becomes `StoreError("<what> could
    not be read: …")` with the driver's first line, never a traceback."""
    try:
        with engine.connect() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise StoreError(f"{what} could not be read: {short_reason(exc)}") from exc


def short_reason(exc: BaseException) -> str:
    """The first line of what the database driver said."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
