"""The `store` fixture of the notification tests: a migrated SQL store of the
test's own on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flagramp.store import SqlFlagStore
from tests.conftest import SQL_BACKENDS, migrated_database


@pytest.fixture(params=SQL_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlFlagStore]:
    """An empty SQL store, once per backend."""
    with migrated_database(request, tmp_path) as url:
        sql = SqlFlagStore.open(url)
        try:
            yield sql
        finally:
            sql.engine.dispose()
