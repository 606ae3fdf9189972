"""The `store` fixture: every test that takes it runs on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flagramp.store import FlagStore, MemoryFlagStore, SqlFlagStore
from tests.conftest import SQL_BACKENDS, migrated_database

BACKENDS = ["memory", *SQL_BACKENDS]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FlagStore]:
    """An empty store: in memory, then on SQLite, PostgreSQL and MariaDB."""
    if request.param == "memory":
        yield MemoryFlagStore()
        return
    with migrated_database(request, tmp_path) as url:
        sql = SqlFlagStore.open(url)
        try:
            yield sql
        finally:
            sql.engine.dispose()
