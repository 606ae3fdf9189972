"""SQLite that cannot be written (a read-only URI) or is full
(`PRAGMA max_page_count`): a write from the CLI is one clear line and exit 1,
and the store is whole afterwards."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from flagramp.cli.app import app
from tests.cli.conftest import assert_one_error

EXAMPLES = Path(__file__).parents[2] / "examples"
PLAN = EXAMPLES / "uae-appointments-dark-deploy.yaml"
WRITES = [
    ["flags", "create", "second", "--why", "a second flag"],
    ["plan", "start", str(PLAN), "--as", "alice@va.gov"],
]


def _cli(url: str, *args: str) -> Result:
    env = {"FLAGRAMP_DATABASE_URL": url, "FLAGRAMP_USER": "alice@va.gov"}
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    """A store with one flag, written and closed."""
    path = tmp_path / "flagramp.db"
    made = _cli(f"sqlite:///{path}", "flags", "create", "first", "--why", "setup")
    assert made.exit_code == 0, made.output
    with sqlite3.connect(path) as conn:  # no free page left to write into
        conn.execute("VACUUM")
    return path


def _contents(path: Path) -> tuple[str, list[tuple[Any, ...]], int]:
    """The integrity check's answer, the flags and the number of audit rows."""
    with sqlite3.connect(path) as conn:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        flags = conn.execute("SELECT key, version FROM flags ORDER BY key").fetchall()
        audit = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    return check, flags, audit


def _assert_whole(url: str, path: Path, before: tuple[str, list[Any], int]) -> None:
    assert _contents(path) == before
    assert before[0] == "ok"
    verified = _cli(url, "audit", "verify")
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize("args", WRITES, ids=[" ".join(a[:2]) for a in WRITES])
def test_a_write_to_a_read_only_store_is_one_line(
    store_file: Path, args: list[str]
) -> None:
    before = _contents(store_file)
    url = f"sqlite:///file:{store_file}?mode=ro&uri=true"
    result = _cli(url, *args)
    assert_one_error(result, "readonly database")
    _assert_whole(f"sqlite:///{store_file}", store_file, before)


@pytest.fixture
def full_disk() -> Iterator[None]:
    """Every SQLite connection opened meanwhile may not grow its file."""

    def no_more_pages(dbapi_connection: Any, _record: object) -> None:
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages}")
        cursor.close()

    sa.event.listen(sa.Engine, "connect", no_more_pages)
    try:
        yield
    finally:
        sa.event.remove(sa.Engine, "connect", no_more_pages)


# Rows that need pages of their own (a reason of 9,000 characters, the plan's
# 11 kB text): a small row could still fit on a page the store has.
BIG_WRITES = [
    ["flags", "create", "second", "--why", "a long reason " * 640],
    WRITES[1],
]


@pytest.mark.parametrize("args", BIG_WRITES, ids=[" ".join(a[:2]) for a in BIG_WRITES])
def test_a_write_to_a_full_store_is_one_line(
    store_file: Path, full_disk: None, args: list[str]
) -> None:
    before = _contents(store_file)
    url = f"sqlite:///{store_file}"
    result = _cli(url, *args)
    assert_one_error(result, "full")
    _assert_whole(url, store_file, before)
