"""Fixtures shared by the whole suite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.services import POSTGRES_URL, require_port


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL, once on SQLite and once on PostgreSQL.

    PostgreSQL gets a schema of its own per test (through `search_path`), so tests
    run in parallel against the one `test` database without seeing each other.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'flagramp.db'}"
        return
    require_port("PostgreSQL", "127.0.0.1", 5432)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
