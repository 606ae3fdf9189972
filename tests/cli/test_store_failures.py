"""A store that cannot be reached or opened: one sentence naming what failed and
why, exit code 1, for every command, and nothing created."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flagramp.cli.app import app
from tests.cli.conftest import assert_one_error

# (id, URL with {tmp} for a scratch directory, what the line says after
# "cannot connect to URL: ")
URLS = [
    ("postgres-refused", "postgresql+psycopg://postgres:secret@127.0.0.1:1/test",
     "connection failed: connection to server at \"127.0.0.1\", port 1 failed"),
    ("mysql-without-its-driver", "mysql://root@127.0.0.1/test",
     "its driver 'MySQLdb' is not installed; write mysql+pymysql://… to use PyMySQL"),
    ("psycopg2-not-installed", "postgresql+psycopg2://postgres@127.0.0.1/test",
     "its driver 'psycopg2' is not installed; write postgresql+psycopg://…"),
    ("unknown-kind", "foo://x/y",
     "flagramp does not know the database kind 'foo'"),
    ("sqlite-missing-directory", "sqlite:///{tmp}/missing/flagramp.db",
     "the directory {tmp}/missing does not exist"),
    ("sqlite-under-a-file", "sqlite:///{tmp}/file/flagramp.db",
     "{tmp}/file is not a directory"),
    ("sqlite-at-a-directory", "sqlite:///{tmp}", "{tmp} is a directory"),
    ("sqlite-not-a-database", "sqlite:///{tmp}/file", "file is not a database"),
    ("sqlite-read-only-directory", "sqlite:////proc/flagramp.db",
     "SQLite cannot create /proc/flagramp.db"),
]  # fmt: skip

COMMANDS = [
    ["flags", "list"],
    ["flags", "create", "x", "--why", "first"],
    ["flags", "segment", "list"],
    ["eval", "x"],
    ["audit", "verify"],
    ["db", "upgrade"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
@pytest.mark.parametrize(
    ("url", "reason"), [u[1:] for u in URLS], ids=[u[0] for u in URLS]
)
def test_an_unusable_store_is_one_sentence_for_every_command(
    tmp_path: Path, url: str, reason: str, args: list[str]
) -> None:
    if "MySQLdb" in reason and importlib.util.find_spec("MySQLdb") is not None:
        pytest.skip("MySQLdb is installed here")
    if url.startswith("sqlite:////proc") and not os.path.isdir("/proc/self"):
        pytest.skip("no /proc")
    (tmp_path / "file").write_bytes(b"not a database, " * 100)
    url = url.replace("{tmp}", str(tmp_path))
    shown_url = url.replace(":secret@", ":***@")
    result = CliRunner().invoke(app, args, env={"FLAGRAMP_DATABASE_URL": url})
    assert_one_error(
        result,
        f"cannot connect to {shown_url}: {reason.replace('{tmp}', str(tmp_path))}",
    )
    assert "secret" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # nothing created


def test_a_url_that_is_not_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["flags", "list"], env={"FLAGRAMP_DATABASE_URL": "not a url"}
    )
    assert_one_error(result, "not a database URL: 'not a url'")
