from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from flagramp.cli.app import app
from flagramp.store import FlagStore

Invoke = Callable[..., Result]


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FLAGRAMP_DATABASE_URL", url)
    monkeypatch.setenv("FLAGRAMP_USER", "alice@va.gov")
    monkeypatch.setenv("COLUMNS", "200")
    return url


@pytest.fixture
def cli(db_url: str) -> Invoke:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def store(db_url: str) -> FlagStore:
    return FlagStore.open(db_url)


def store_state(store: FlagStore) -> tuple[int, int]:
    """The store version and the number of audit rows: both move on any write."""
    return store.version(), len(store.audit_entries())


def assert_one_error(result: Result, message: str) -> None:
    """Exit code 1, nothing on stdout, one `error: …` line on stderr holding
    `message`, and no traceback anywhere."""
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert message in lines[0], lines[0]
