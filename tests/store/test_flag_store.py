"""The flag store's contract, on SQLite and on PostgreSQL (one parametrized fixture)."""

from __future__ import annotations

import threading
from functools import partial

import pytest

from flagramp.core.errors import FlagNotFound, StoreError
from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.core.flags import operations as ops
from flagramp.store import Author, FlagStore
from flagramp.store.database import current_revision, head_revision, open_engine

ALICE = Author("alice@va.gov", "Phase I canary")


@pytest.fixture
def store(database_url: str) -> FlagStore:
    return FlagStore.open(database_url)


def test_migrations_run_on_first_use(database_url: str) -> None:
    engine = open_engine(database_url)
    assert current_revision(engine) == head_revision()
    open_engine(database_url)  # a second open finds nothing to do
    assert current_revision(engine) == head_revision()


def test_create_then_read_back_every_field(store: FlagStore) -> None:
    flag = Flag(
        "uae_oracle_routing",
        actors=("uat@va.gov", "User;1"),
        groups=("oracle_health",),
        expression={"Equal": [{"Property": ["ehr"]}, "oracle"]},
        percentage_of_actors=Percentage.parse("12.5"),
        percentage_of_time=Percentage.parse("25.0"),
        denied_actors=("broken@va.gov",),
        eligibility="oracle_health",
        description="Oracle routing",
        actor_type="user",
    )
    store.create_flag(flag, ALICE)
    assert store.get_flag("uae_oracle_routing") == flag
    assert store.get_flag("uae_oracle_routing", "staging") is None


def test_every_write_bumps_the_version_and_no_op_writes_do_not(
    store: FlagStore,
) -> None:
    v0 = store.version()
    store.create_flag(Flag("x"), ALICE)
    store.change_flag("x", ops.enable, ALICE)
    assert store.version() == v0 + 2
    store.change_flag("x", ops.enable, ALICE)  # already on: nothing to write
    store.create_flag(Flag("x"), ALICE)  # exists: Flipper's add keeps it
    assert store.version() == v0 + 2
    assert len(store.history("x")) == 2


def test_environments_are_separate(store: FlagStore) -> None:
    store.create_flag(Flag("x"), ALICE, "production")
    store.create_flag(Flag("x"), ALICE, "staging")
    store.change_flag("x", ops.enable, ALICE, "staging")
    assert store.require_flag("x", "production").state == "off"
    assert store.require_flag("x", "staging").state == "on"
    assert store.environments() == ["production", "staging"]


def test_changing_a_missing_flag_raises_and_writes_nothing(store: FlagStore) -> None:
    v0 = store.version()
    with pytest.raises(
        FlagNotFound, match="no flag 'ghost' in environment 'production'"
    ):
        store.change_flag("ghost", ops.enable, ALICE)
    assert store.version() == v0
    assert store.audit_entries() == []


def test_a_failing_change_rolls_back_everything(store: FlagStore) -> None:
    store.create_flag(Flag("x"), ALICE)
    v0, rows = store.version(), len(store.audit_entries())

    def explode(_flag: Flag) -> Flag:
        raise StoreError("boom")

    with pytest.raises(StoreError):
        store.change_flag("x", explode, ALICE)
    assert store.version() == v0
    assert len(store.audit_entries()) == rows
    assert store.require_flag("x").state == "off"


def test_history_records_who_why_before_and_after(store: FlagStore) -> None:
    store.create_flag(Flag("x"), ALICE)
    store.change_flag(
        "x",
        lambda f: ops.set_percentage_of_actors(f, Percentage.parse("5")),
        Author("bob@va.gov", "Stage A: 5 % for 1 h"),
        action="percentage_of_actors",
    )
    create, change = store.history("x")
    assert (create.actor, create.action, create.before) == (
        "alice@va.gov",
        "create",
        None,
    )
    assert change.actor == "bob@va.gov"
    assert change.reason == "Stage A: 5 % for 1 h"
    assert change.before is not None and '"percentage_of_actors":null' in change.before
    assert change.after is not None and '"percentage_of_actors":"5"' in change.after


def test_delete_flag(store: FlagStore) -> None:
    store.create_flag(Flag("x"), ALICE)
    store.delete_flag("x", ALICE)
    assert store.get_flag("x") is None
    assert store.history("x")[-1].action == "delete"
    with pytest.raises(FlagNotFound):
        store.delete_flag("x", ALICE)


def test_segments_round_trip(store: FlagStore) -> None:
    segment = Segment.from_rules(
        "oracle_health", ["ehr in [oracle, cerner]", "age >= 18"]
    )
    store.put_segment(segment, ALICE)
    assert store.segments() == {"oracle_health": segment}
    assert store.segments("staging") == {}


def test_put_flags_full_sync_removes_missing(store: FlagStore) -> None:
    store.create_flag(Flag("keep"), ALICE)
    store.create_flag(Flag("drop"), ALICE)
    changed = store.put_flags([Flag("keep", boolean=True)], ALICE, remove_missing=True)
    assert changed == 2
    assert [f.key for f in store.list_flags()] == ["keep"]


def test_concurrent_writers_each_get_their_own_version(store: FlagStore) -> None:
    for i in range(4):
        store.create_flag(Flag(f"f{i}"), ALICE)
    v0 = store.version()
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            for n in range(5):
                pct = Percentage.parse(str(n + 1))
                store.change_flag(
                    f"f{i}", partial(ops.set_percentage_of_actors, pct=pct), ALICE
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.version() == v0 + 20
    assert store.verify_audit() == []
    versions = [e.store_version for e in store.audit_entries()]
    assert len(set(versions[-20:])) == 20
