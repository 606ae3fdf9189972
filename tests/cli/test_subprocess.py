"""The installed `flagramp` command, run as a user runs it: real argv bytes, real
stdout and stderr, the interpreter's own exit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.streams import endless_fifo

FLAGRAMP = Path(sys.executable).with_name("flagramp")


def run(
    tmp_path: Path, *args: str | bytes, url: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {
        **os.environ,
        "FLAGRAMP_DATABASE_URL": url or f"sqlite:///{tmp_path / 'run.db'}",
        "FLAGRAMP_USER": "alice@va.gov",
    }
    return subprocess.run(
        [FLAGRAMP, *args], env=env, cwd=tmp_path, capture_output=True, timeout=60
    )


def assert_one_error(done: subprocess.CompletedProcess[bytes], message: str) -> None:
    stderr = done.stderr.decode()
    assert b"Traceback" not in done.stderr + done.stdout, stderr
    assert done.returncode == 1, stderr
    assert done.stdout == b""
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith("error: ") and message in stderr, stderr


def test_the_command_is_installed() -> None:
    assert FLAGRAMP.is_file(), f"{FLAGRAMP} (pip install -e . installs it)"


def test_arguments_that_are_not_utf8_write_nothing(tmp_path: Path) -> None:
    done = run(tmp_path, "flags", "create", b"a\xffb", "--description", "x")
    assert_one_error(done, "argument 3 is not UTF-8 text: a\\xffb")
    assert not (tmp_path / "run.db").exists()


def test_an_unreachable_postgres_is_one_line_for_db_upgrade(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres:hunter2@127.0.0.1:1/test"
    done = run(tmp_path, "db", "upgrade", url=url)
    assert_one_error(
        done, "cannot connect to postgresql+psycopg://postgres:***@127.0.0.1:1/test"
    )
    assert b"hunter2" not in done.stderr


def test_a_mysql_url_without_its_driver(tmp_path: Path) -> None:
    done = run(tmp_path, "flags", "list", url="mysql://root@127.0.0.1/test")
    if b"MySQLdb" not in done.stderr:
        pytest.skip("MySQLdb is installed here")
    assert_one_error(done, "its driver 'MySQLdb' is not installed")


def timed(
    tmp_path: Path, *args: str
) -> tuple[subprocess.CompletedProcess[bytes], float]:
    began = time.monotonic()
    done = run(tmp_path, *args)
    return done, time.monotonic() - began


def test_dev_zero_and_a_fifo_are_refused_at_their_limit(tmp_path: Path) -> None:
    # Bounded: each endless source costs at most 20 s more than the same
    # command on a missing file (the command's start, which a busy machine
    # stretches to many seconds, is not what is measured).
    missing = str(tmp_path / "missing")
    _, import_start = timed(tmp_path, "flags", "import", missing)
    zero, zero_seconds = timed(tmp_path, "flags", "import", "/dev/zero")
    assert_one_error(zero, "over the limit")
    assert zero_seconds < import_start + 20
    _, validate_start = timed(tmp_path, "plan", "validate", missing)
    with endless_fifo(tmp_path / "plan.yaml") as fifo:
        done, fifo_seconds = timed(tmp_path, "plan", "validate", str(fifo))
    assert done.returncode == 1 and done.stdout == b""
    assert done.stderr.decode().startswith(
        f"error: {fifo}:1:1: the file holds more than 1048576 bytes"
    )
    assert fifo_seconds < validate_start + 20


def test_bare_flagramp_prints_help_and_exits_0(tmp_path: Path) -> None:
    done = run(tmp_path)
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout.startswith(b"Usage: flagramp [OPTIONS] COMMAND [ARGS]...")


def test_a_terminal_that_cannot_show_a_character_gets_an_escape(
    tmp_path: Path,
) -> None:
    env_ascii = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run(
        [FLAGRAMP, "flags", "create", "caf\u00e9"],
        env={**env_ascii, "FLAGRAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"},
        capture_output=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (0, b"caf\\xe9 in production: off\n")
