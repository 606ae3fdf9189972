"""Every kind of failure in one sentence."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from flagramp.cli.failures import describe
from flagramp.core.errors import InvalidPercentage, StoreUnavailable


@pytest.mark.parametrize(
    ("exc", "sentence"),
    [
        (InvalidPercentage("x"),
         "percentage 'x' must be a number from 0 to 100 with at most 3 decimals"),
        (StoreUnavailable("sqlite:///x.db", "the directory / is not writable"),
         "cannot connect to sqlite:///x.db: the directory / is not writable"),
        (OperationalError("SELECT 1", {}, Exception("disk I/O error\nmore")),
         "the database refused: disk I/O error"),
        (PermissionError(13, "Permission denied", "/etc/shadow"),
         "/etc/shadow: Permission denied"),
        (OSError(28, "No space left on device"), "No space left on device"),
        (RecursionError("maximum recursion depth exceeded"),
         "the input is nested too deeply to read"),
        (MemoryError(), "out of memory"),
        (ZeroDivisionError("division by zero"),
         "unexpected ZeroDivisionError: division by zero (a bug in flagramp; "
         "FLAGRAMP_DEBUG=1 shows the traceback)"),
    ],
    ids=["flagramp", "store-unavailable", "driver", "file", "os", "recursion",
         "memory", "bug"],
)  # fmt: skip
def test_describe(exc: BaseException, sentence: str) -> None:
    assert describe(exc) == sentence
