"""Stores on Flipper's tables: flagramp's database plus one with Flipper's tables.

On PostgreSQL and MariaDB both sets of tables share the test's own schema or
database (as they may in production); on SQLite they are two files (one file
cannot hold both: `FlipperTablesStore` refuses it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from flagramp.core.clock import Clock
from flagramp.store import FlipperTablesStore
from tests.conftest import SQL_BACKENDS, migrated_database
from tests.store.flipper.tables import ValueType, create_flipper_tables

#: The contract suite runs on MariaDB with byte-for-byte collation: on the
#: server's default (case-insensitive) collation `Search` and `search` are one
#: feature to Flipper's own unique index, which the store refuses instead
#: (tests/store/flipper/test_collation.py).
CONTRACT_COLLATION = "utf8mb4_bin"


class FlipperSetup:
    """Opens stores on a fresh flagramp database and Flipper database."""

    def __init__(self, own_url: str, flipper_url: str, stack: ExitStack) -> None:
        self.own_url = own_url
        self.flipper_url = flipper_url
        self._stack = stack

    def tables(
        self,
        value: ValueType = "text",
        *,
        prefix: str = "",
        collation: str | None = None,
    ) -> None:
        create_flipper_tables(
            self.flipper_url, value, prefix=prefix, collation=collation
        )

    def open(
        self,
        *,
        prefix: str = "",
        environment: str | None = None,
        clock: Clock | None = None,
    ) -> FlipperTablesStore:
        query = [f"table_prefix={prefix}"] if prefix else []
        if environment:
            query.append(f"environment={environment}")
        url = "flipper+" + self.flipper_url
        if query:
            url += ("&" if "?" in url else "?") + "&".join(query)
        store = FlipperTablesStore.open(url, self.own_url, clock=clock)
        self._stack.callback(store.close)
        return store


@pytest.fixture(params=SQL_BACKENDS)
def flipper_setup(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[FlipperSetup]:
    """A flagramp database and a Flipper database (no Flipper tables yet)."""
    with ExitStack() as stack, migrated_database(request, tmp_path) as own_url:
        flipper_url = (
            f"sqlite:///{tmp_path / 'rails_app.db'}"
            if request.param == "sqlite"
            else own_url
        )
        yield FlipperSetup(own_url, flipper_url, stack)


@pytest.fixture
def store(flipper_setup: FlipperSetup) -> FlipperTablesStore:
    """For the contract suite: Flipper 1.x tables (value text), empty."""
    backend = flipper_setup.own_url.partition(":")[0]
    collation = CONTRACT_COLLATION if backend.startswith("mysql") else None
    flipper_setup.tables("text", collation=collation)
    return flipper_setup.open()
