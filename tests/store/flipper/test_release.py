"""An environment adopted from Flipper's tables changes only through the
Flipper-tables store, until it is released."""

from __future__ import annotations

import pytest

from flagramp.core.errors import StoreError
from flagramp.core.flags import Flag
from flagramp.core.flags import operations as ops
from flagramp.store import Author, SqlFlagStore
from flagramp.store.flipper import ADOPT_ACTION, release_flipper_tables
from tests.store.flipper.conftest import FlipperSetup
from tests.store.flipper.tables import execute, gate_rows

ALICE = Author("alice@va.gov", "release")


def test_a_plain_store_cannot_write_a_bound_environment(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("text")
    bound = flipper_setup.open()
    bound.create_flag(Flag("vaos", boolean=True), ALICE)
    plain = SqlFlagStore.open(flipper_setup.own_url)
    v0 = plain.version()
    with pytest.raises(StoreError) as caught:
        plain.change_flag("vaos", ops.disable, ALICE)
    assert str(caught.value).startswith(
        "environment 'production' is Flipper's tables at "
    )
    assert "only through the Flipper-tables store" in str(caught.value)
    assert plain.version() == v0
    plain.create_flag(Flag("vaos"), ALICE, "staging")  # not bound: fine
    with plain.unit_of_work(ALICE) as unit:  # a record alone touches no flag
        unit.record("production", "run", "r1", "start", None, {"stage": 1})
    assert gate_rows(flipper_setup.flipper_url) == {"vaos": [("boolean", "true")]}
    plain.engine.dispose()


def test_release_ends_the_binding_and_adopting_again_starts_afresh(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("text")
    bound = flipper_setup.open()
    bound.create_flag(Flag("vaos", boolean=True), ALICE)
    execute(flipper_setup.flipper_url, "ALTER TABLE flipper_gates RENAME TO away")
    bound.change_flag("vaos", ops.disable, ALICE)  # waits in the outbox
    execute(flipper_setup.flipper_url, "ALTER TABLE away RENAME TO flipper_gates")
    bound.close()
    plain = SqlFlagStore.open(flipper_setup.own_url)
    done = release_flipper_tables(plain, "production", ALICE)
    assert done is not None
    assert (done.environment, done.dropped_writes) == ("production", 1)
    assert done.flipper_url == bound.flipper.url.shown
    assert release_flipper_tables(plain, "production", ALICE) is None
    last = plain.audit_entries()[-1]
    assert (last.entity_kind, last.action) == ("flipper_tables", "release")
    plain.change_flag("vaos", lambda f: ops.add_actor(f, "uat"), ALICE)
    # Flipper's rows stayed as they were; the waiting write was not made.
    assert gate_rows(flipper_setup.flipper_url) == {"vaos": [("boolean", "true")]}
    plain.engine.dispose()
    again = flipper_setup.open()
    flag = again.require_flag("vaos")
    assert flag.boolean and flag.actors == ()  # Flipper's rows win at adoption
    assert again.history("vaos")[-1].action == ADOPT_ACTION
