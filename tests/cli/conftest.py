from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from flagramp.cli.app import app
from flagramp.store import SqlFlagStore

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
def store(db_url: str) -> SqlFlagStore:
    return SqlFlagStore.open(db_url)
