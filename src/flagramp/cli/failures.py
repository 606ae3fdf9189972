"""The one sentence a user sees for a failure, whatever raised it.

flagramp's own errors build their message; the rest (database drivers, files,
input nested past the interpreter's limit) are put into words here, so that no
command shows a traceback or a driver's multi-line dump.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from flagramp.cli.connect import driver_says, open_store
from flagramp.cli.text import did_you_mean
from flagramp.core.errors import FlagNotFound, FlagrampError


def describe(exc: BaseException) -> str:
    """One line saying what failed, for `error: …`."""
    if isinstance(exc, FlagNotFound):
        return str(exc) + _similar_flags(exc)
    if isinstance(exc, FlagrampError):
        return str(exc)
    if isinstance(exc, SQLAlchemyError):
        return f"the database refused: {driver_says(exc)}"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    if isinstance(exc, RecursionError):
        return "the input is nested too deeply to read"
    if isinstance(exc, MemoryError):
        return "out of memory"
    return (
        f"unexpected {type(exc).__name__}: {exc} (a bug in flagramp; "
        "FLAGRAMP_DEBUG=1 shows the traceback)"
    )


def _similar_flags(exc: FlagNotFound) -> str:
    try:
        keys = [f.key for f in open_store().list_flags(exc.environment)]
    except FlagrampError:
        return ""  # the suggestion is a courtesy; the error stands without it
    return did_you_mean(exc.key, keys)
