"""Fixtures shared by the whole suite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.store.database import open_engine
from tests.services import MARIADB_URL, POSTGRES_URL, require_port

SQL_BACKENDS = ["sqlite", "postgres", "mariadb"]


@pytest.fixture(autouse=True, scope="session")
def _audit_keys_stay_in_tmp(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """Audit key files go to a temporary config directory, never to ~/.config,
    and no audit key from the environment leaks into the tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
        patch.delenv("FLAGRAMP_AUDIT_KEY", raising=False)
        patch.delenv("FLAGRAMP_AUDIT_KEY_FILE", raising=False)
        yield


@contextmanager
def empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of this test's own on `backend`.

    PostgreSQL gets a schema of its own (through `search_path`) in the one `test`
    database; MariaDB a database of its own. Tests run in parallel without seeing
    each other.
    """
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'flagramp.db'}"
        return
    if backend == "postgres":
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
        return
    assert backend == "mariadb", backend
    require_port("MariaDB", "127.0.0.1", 3306)
    name = f"t_{uuid.uuid4().hex[:12]}"
    server = sa.engine.make_url(MARIADB_URL)
    admin = sa.create_engine(server)
    with admin.begin() as conn:
        # The server's default character set and collation: migrations must
        # make the tables compare names byte for byte themselves.
        conn.execute(sa.text(f"CREATE DATABASE `{name}`"))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE `{name}`"))
        admin.dispose()


@pytest.fixture(scope="session")
def mariadb_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A MariaDB database migrated once per test process, for `migrated_database`
    to copy: MariaDB's migrations copy every table and take about a second."""
    with empty_database("mariadb", tmp_path_factory.mktemp("template")) as url:
        open_engine(url).dispose()
        yield url


@contextmanager
def migrated_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own at the newest schema, with no flag written,
    on the backend `request.param`. MariaDB's is a copy of `mariadb_template`."""
    backend = request.param
    with empty_database(backend, tmp_path) as url:
        if backend == "mariadb":
            template = sa.engine.make_url(request.getfixturevalue("mariadb_template"))
            target = sa.engine.make_url(url).database
            admin = sa.create_engine(MARIADB_URL)
            with admin.begin() as conn:
                tables = conn.execute(
                    sa.text(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = :db"
                    ),
                    {"db": template.database},
                ).scalars()
                for table in list(tables):
                    source = f"`{template.database}`.`{table}`"
                    conn.execute(
                        sa.text(f"CREATE TABLE `{target}`.`{table}` LIKE {source}")
                    )
                    conn.execute(
                        sa.text(
                            f"INSERT INTO `{target}`.`{table}` SELECT * FROM {source}"
                        )
                    )
            admin.dispose()
        yield url


@pytest.fixture(params=SQL_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL, once on SQLite, PostgreSQL and MariaDB."""
    with empty_database(request.param, tmp_path) as url:
        yield url
