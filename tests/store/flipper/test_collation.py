"""Flipper's tables on MariaDB as Rails makes them: the server's default
collation, case- and accent-insensitive. To their unique indexes `Search` and
`search` are one feature and `User;1` and `user;1` one actor, so the store
refuses what they would merge, in words, and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from flagramp.core.errors import FlipperTablesCannotHold
from flagramp.core.flags import Flag
from flagramp.core.flags import operations as ops
from flagramp.store import Author, FlipperTablesStore
from tests.conftest import migrated_database
from tests.store.flipper.conftest import FlipperSetup
from tests.store.flipper.tables import execute, feature_keys, gate_rows

ALICE = Author("alice@va.gov")


@pytest.fixture(params=["mariadb"])
def insensitive(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[FlipperSetup, FlipperTablesStore]]:
    with ExitStack() as stack, migrated_database(request, tmp_path) as url:
        setup = FlipperSetup(url, url, stack)
        setup.tables("string")  # no COLLATE: the server's default
        yield setup, setup.open()


def test_the_tables_collation_is_read(
    insensitive: tuple[FlipperSetup, FlipperTablesStore],
) -> None:
    _, store = insensitive
    assert store.flipper.schema.collation is not None
    assert store.flipper.schema.collation.endswith("_ci")


def test_two_keys_the_database_holds_equal_are_refused(
    insensitive: tuple[FlipperSetup, FlipperTablesStore],
) -> None:
    setup, store = insensitive
    store.create_flag(Flag("search", boolean=True), ALICE)
    v0 = store.version()
    for other in ("Search", "séarch"):
        with pytest.raises(FlipperTablesCannotHold) as caught:
            store.create_flag(Flag(other), ALICE)
        assert "are one value to Flipper's tables" in str(caught.value)
        assert "'search'" in str(caught.value) and repr(other) in str(caught.value)
    assert store.version() == v0
    assert feature_keys(setup.flipper_url) == ["search"]
    store.create_flag(Flag("Search"), ALICE, "staging")  # flagramp's own tables


def test_two_actors_the_database_holds_equal_are_refused(
    insensitive: tuple[FlipperSetup, FlipperTablesStore],
) -> None:
    setup, store = insensitive
    store.create_flag(Flag("f", actors=("User;1",)), ALICE)
    with pytest.raises(
        FlipperTablesCannotHold, match="actor ids 'User;1' and 'user;1'"
    ):
        store.change_flag("f", lambda f: ops.add_actor(f, "user;1"), ALICE)
    assert store.require_flag("f").actors == ("User;1",)
    # Replacing one by the other is fine: the old row goes first.
    store.change_flag(
        "f", lambda f: ops.add_actor(ops.remove_actor(f, "User;1"), "user;1"), ALICE
    )
    assert gate_rows(setup.flipper_url) == {"f": [("actors", "user;1")]}


def test_a_gate_row_keyed_by_a_case_variant_is_the_features_as_in_ruby(
    insensitive: tuple[FlipperSetup, FlipperTablesStore],
) -> None:
    setup, store = insensitive
    store.create_flag(Flag("search", actors=("User;1",)), ALICE)
    # `flipper[:Search].enable_actor(...)` in a Rails console: Ruby's `add` finds
    # `search` (the collation), and the gate row is keyed `Search`. Ruby's
    # get_all joins it to `search`; so does flagramp.
    execute(
        setup.flipper_url,
        "INSERT INTO flipper_gates (feature_key, `key`, value, created_at, "
        "updated_at) VALUES ('Search', 'actors', 'User;2', NOW(), NOW())",
    )
    assert store.sync().recorded == ["search"]
    assert store.require_flag("search").actors == ("User;1", "User;2")
    # Taking the actor off deletes that row, whatever its key's case.
    store.change_flag("search", lambda f: ops.remove_actor(f, "User;2"), ALICE)
    assert gate_rows(setup.flipper_url) == {"search": [("actors", "User;1")]}
    assert store.sync().recorded == []
