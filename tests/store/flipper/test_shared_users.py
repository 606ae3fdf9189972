"""Flipper's tables refuse a bucket key: Ruby Flipper buckets each flag on its own
name, so a Ruby app reading the rows would give the flag other actors."""

from __future__ import annotations

from functools import partial

import pytest

from flagramp.core.errors import SharedUsersUnsupported
from flagramp.core.flags import Flag, Percentage
from flagramp.core.flags import operations as ops
from flagramp.store import Author, SqlFlagStore
from tests.store.flipper.conftest import FlipperSetup
from tests.store.flipper.tables import feature_keys, gate_rows

ALICE = Author("alice@va.gov", "launch together")
FIRST, SECOND = "mhv_curated_list_flow", "mhv_recent_recipients"
QUARTER = Percentage.parse("25")
SHARE = partial(ops.set_bucket_key, bucket_key=FIRST)


def test_a_bucket_key_in_the_bound_environment_is_refused_and_nothing_written(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("text")
    store = flipper_setup.open()
    store.create_flag(Flag(SECOND, percentage_of_actors=QUARTER), ALICE)
    version, rows = store.version(), gate_rows(flipper_setup.flipper_url)
    with pytest.raises(SharedUsersUnsupported) as caught:
        store.change_flag(SECOND, SHARE, ALICE)
    assert caught.value.code == "shared_users_unsupported"
    assert caught.value.flags == [FIRST, SECOND]
    assert (store.version(), gate_rows(flipper_setup.flipper_url)) == (version, rows)
    assert store.require_flag(SECOND).bucket_key is None
    with pytest.raises(SharedUsersUnsupported):
        store.create_flag(Flag("other", bucket_key=FIRST), ALICE)
    assert store.get_flag("other") is None
    assert store.verify_audit().ok


def test_other_environments_of_the_store_keep_a_bucket_key(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("text")
    store = flipper_setup.open()
    store.create_flag(Flag(SECOND, percentage_of_actors=QUARTER), ALICE, "staging")
    store.change_flag(SECOND, SHARE, ALICE, "staging")
    assert store.require_flag(SECOND, "staging").bucket_key == FIRST
    assert feature_keys(flipper_setup.flipper_url) == []


def test_adopting_tables_leaves_a_shared_flag_in_flagramp_only(
    flipper_setup: FlipperSetup,
) -> None:
    # The environment held a shared flag before it was bound to Flipper's tables.
    own = SqlFlagStore.open(flipper_setup.own_url)
    own.create_flag(Flag(FIRST, percentage_of_actors=QUARTER), ALICE)
    own.create_flag(Flag(SECOND, percentage_of_actors=QUARTER, bucket_key=FIRST), ALICE)
    own.engine.dispose()
    flipper_setup.tables("text")
    store = flipper_setup.open()
    assert feature_keys(flipper_setup.flipper_url) == [FIRST]
    assert store.require_flag(SECOND).bucket_key == FIRST
