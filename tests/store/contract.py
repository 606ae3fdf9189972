"""The flag store contract: what every backend must do, as Flipper's shared
adapter specs are for its adapters.

A backend's test module imports these tests and provides a `store` fixture
(`tests/store/test_contract.py` runs them on memory, SQLite, PostgreSQL and
MariaDB). Nothing here knows which backend it runs on.
"""

from __future__ import annotations

import threading
from functools import partial

import pytest

from flagramp.core.errors import (
    FlagNotFound,
    InvalidIdentifier,
    SegmentInUse,
    SegmentNotFound,
    StoreError,
)
from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.core.flags import operations as ops
from flagramp.store import Author, FlagStore

ALICE = Author("alice@va.gov", "Phase I canary")
ORACLE = Segment.from_rules("oracle_health", ["ehr == oracle"])


def pct(text: str) -> Percentage:
    return Percentage.parse(text)


def test_create_then_read_back_every_field(store: FlagStore) -> None:
    store.put_segment(ORACLE, ALICE)
    flag = Flag(
        "uae_oracle_routing",
        actors=("uat@va.gov", "User;1"),
        groups=("oracle_health",),
        expression={"Equal": [{"Property": ["ehr"]}, "oracle"]},
        percentage_of_actors=pct("12.5"),
        percentage_of_time=pct("25.0"),
        denied_actors=("broken@va.gov",),
        eligibility="oracle_health",
        description="Oracle routing — «ünïcode»",
        actor_type="user",
    )
    store.create_flag(flag, ALICE)
    assert store.get_flag("uae_oracle_routing") == flag
    assert store.get_flag("uae_oracle_routing", "staging") is None


def test_a_flag_larger_than_64_kb_round_trips(store: FlagStore) -> None:
    # MySQL's TEXT holds 64 KB; five thousand allow-listed actors are more.
    actors = tuple(f"veteran-{i:05}@example.va.gov" for i in range(5_000))
    store.create_flag(Flag("big", actors=actors), ALICE)
    assert store.require_flag("big").actors == actors
    assert store.verify_audit().ok


def test_keys_differ_by_case_and_accent(store: FlagStore) -> None:
    for key in ("search", "Search", "séarch"):
        store.create_flag(Flag(key, description=key), ALICE)
    assert [f.key for f in store.list_flags()] == sorted(["Search", "search", "séarch"])
    assert store.require_flag("Search").description == "Search"


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


def test_a_change_may_not_rename_the_flag(store: FlagStore) -> None:
    store.create_flag(Flag("x"), ALICE)
    with pytest.raises(StoreError, match="may not rename flag 'x' to 'y'"):
        store.change_flag("x", lambda f: f.with_changes(key="y"), ALICE)
    assert [f.key for f in store.list_flags()] == ["x"]


def test_history_records_who_why_before_and_after(store: FlagStore) -> None:
    store.create_flag(Flag("x"), ALICE)
    store.change_flag(
        "x",
        lambda f: ops.set_percentage_of_actors(f, pct("5")),
        Author("bob@va.gov", "Stage A: 5 % for 1 h"),
        action="percentage_of_actors",
    )
    create, change = store.history("x")
    assert (create.actor, create.action, create.before) == (
        "alice@va.gov",
        "create",
        None,
    )
    assert (change.actor, change.action) == ("bob@va.gov", "percentage_of_actors")
    assert change.reason == "Stage A: 5 % for 1 h"
    assert change.before is not None and '"percentage_of_actors":null' in change.before
    assert change.after is not None and '"percentage_of_actors":"5"' in change.after
    assert (change.entity_kind, change.entity_key) == ("flag", "x")


def test_delete_flag(store: FlagStore) -> None:
    store.create_flag(Flag("x"), ALICE)
    store.delete_flag("x", ALICE)
    assert store.get_flag("x") is None
    assert store.history("x")[-1].action == "delete"
    with pytest.raises(FlagNotFound):
        store.delete_flag("x", ALICE)
    assert store.verify_audit().ok


def test_segments_round_trip_and_delete(store: FlagStore) -> None:
    segment = Segment.from_rules(
        "oracle_health", ["ehr in [oracle, cerner]", "age >= 18"], "Oracle sites"
    )
    store.put_segment(segment, ALICE)
    assert store.segments() == {"oracle_health": segment}
    assert store.segments("staging") == {}
    store.delete_segment("oracle_health", ALICE)
    assert store.segments() == {}
    with pytest.raises(SegmentNotFound, match="no segment 'oracle_health'"):
        store.delete_segment("oracle_health", ALICE)


def test_eligibility_needs_the_segment_to_exist(store: FlagStore) -> None:
    store.create_flag(Flag("x"), ALICE)
    v0 = store.version()
    with pytest.raises(SegmentNotFound, match="no segment 'oracle_health' in envir"):
        store.change_flag("x", lambda f: ops.set_eligibility(f, "oracle_health"), ALICE)
    with pytest.raises(SegmentNotFound):
        store.create_flag(Flag("y", eligibility="oracle_health"), ALICE)
    assert store.version() == v0
    store.put_segment(ORACLE, ALICE)
    store.change_flag("x", lambda f: ops.set_eligibility(f, "oracle_health"), ALICE)
    assert store.require_flag("x").eligibility == "oracle_health"
    # Another environment has no such segment.
    store.create_flag(Flag("x"), ALICE, "staging")
    with pytest.raises(SegmentNotFound):
        store.change_flag(
            "x", lambda f: ops.set_eligibility(f, "oracle_health"), ALICE, "staging"
        )


def test_groups_need_no_segment_as_in_flipper(store: FlagStore) -> None:
    store.create_flag(Flag("x", groups=("admins",)), ALICE)
    assert store.require_flag("x").groups == ("admins",)


def test_a_segment_in_use_cannot_be_deleted(store: FlagStore) -> None:
    store.put_segment(ORACLE, ALICE)
    store.create_flag(Flag("x", eligibility="oracle_health"), ALICE)
    with pytest.raises(SegmentInUse, match="is the eligibility of 'x'"):
        store.delete_segment("oracle_health", ALICE)
    assert "oracle_health" in store.segments()


def test_put_flags_full_sync_removes_missing(store: FlagStore) -> None:
    store.create_flag(Flag("keep"), ALICE)
    store.create_flag(Flag("drop"), ALICE)
    v0 = store.version()
    changed = store.put_flags([Flag("keep", boolean=True)], ALICE, remove_missing=True)
    assert changed == 2
    assert [f.key for f in store.list_flags()] == ["keep"]
    assert store.version() == v0 + 1  # one import, one version
    assert store.put_flags([Flag("keep", boolean=True)], ALICE) == 0
    assert store.version() == v0 + 1


# --- the unit of work ------------------------------------------------------------


def test_a_unit_of_work_writes_everything_at_one_version(store: FlagStore) -> None:
    v0 = store.version()
    with store.unit_of_work(ALICE) as unit:
        assert unit.write_version == v0 + 1
        assert unit.version() == v0  # nothing written yet
        unit.put_segment(ORACLE)
        unit.create_flag(Flag("a", eligibility="oracle_health"))
        unit.change_flag("a", ops.enable, action="enable")
        unit.create_flag(Flag("b"), "staging")
        unit.record("production", "run", "vaos-2026-11", "start", None, {"stage": 1})
        # Reads inside see the unit's own writes...
        assert unit.require_flag("a").state == "on"
        assert unit.environments() == ["production", "staging"]
        assert unit.version() == v0 + 1
        # ...and readers outside do not, until it commits.
        assert store.get_flag("a") is None
        assert store.version() == v0
    assert store.version() == v0 + 1
    entries = store.audit_entries()
    assert [e.store_version for e in entries] == [v0 + 1] * 5
    assert [(e.entity_kind, e.entity_key, e.action) for e in entries] == [
        ("segment", "oracle_health", "create"),
        ("flag", "a", "create"),
        ("flag", "a", "enable"),
        ("flag", "b", "create"),
        ("run", "vaos-2026-11", "start"),
    ]
    assert store.verify_audit().ok


def test_a_failure_in_the_last_step_leaves_nothing(store: FlagStore) -> None:
    store.create_flag(Flag("a"), ALICE)
    v0, rows = store.version(), len(store.audit_entries())
    with (
        pytest.raises(RuntimeError, match="controller died"),
        store.unit_of_work(ALICE) as unit,
    ):
        unit.change_flag("a", lambda f: ops.set_percentage_of_actors(f, pct("25")))
        unit.record("production", "run", "r1", "advance", {"stage": 1}, {"stage": 2})
        raise RuntimeError("controller died")
    assert store.require_flag("a").percentage_of_actors is None
    assert (store.version(), len(store.audit_entries())) == (v0, rows)
    assert store.changes_since(v0) == []


def test_a_unit_that_writes_nothing_uses_no_version(store: FlagStore) -> None:
    store.create_flag(Flag("a", boolean=True), ALICE)
    v0 = store.version()
    with store.unit_of_work(ALICE) as unit:
        unit.change_flag("a", ops.enable)  # already on
        unit.create_flag(Flag("a"))  # exists
        assert unit.list_flags() == [Flag("a", boolean=True)]
    assert store.version() == v0
    with store.unit_of_work(ALICE) as unit:
        unit.change_flag("a", ops.disable)
        assert unit.write_version == v0 + 1


def test_record_refuses_the_kinds_the_store_audits_itself(store: FlagStore) -> None:
    for kind in ("flag", "segment"):
        with (
            pytest.raises(StoreError, match="audited by their own writes"),
            store.unit_of_work(ALICE) as unit,
        ):
            unit.record("production", kind, "x", "update", None, {})
    assert store.audit_entries() == []


# --- the change feed -------------------------------------------------------------


def test_changes_since_returns_every_later_change_in_order(store: FlagStore) -> None:
    v0 = store.version()
    store.create_flag(Flag("a"), ALICE)
    store.create_flag(Flag("a"), ALICE, "staging")
    store.change_flag("a", ops.enable, Author("bob@va.gov", "go"), action="enable")
    changes = store.changes_since(v0)
    assert [(c.version, c.environment, c.key, c.action) for c in changes] == [
        (v0 + 1, "production", "a", "create"),
        (v0 + 2, "staging", "a", "create"),
        (v0 + 3, "production", "a", "enable"),
    ]
    last = changes[-1]
    assert (last.kind, last.who, last.why) == ("flag", "bob@va.gov", "go")
    assert isinstance(last.before, dict) and isinstance(last.after, dict)
    assert last.after["gates"] != last.before["gates"]
    assert last.at.tzinfo is not None
    assert [c.position for c in changes] == sorted(c.position for c in changes)
    assert store.changes_since(v0 + 1, environment="production") == [changes[2]]
    assert store.changes_since(v0 + 3) == []


def test_the_feed_never_splits_a_version(store: FlagStore) -> None:
    v0 = store.version()
    store.create_flag(Flag("one"), ALICE)  # v0+1: 1 change
    store.put_flags([Flag(f"k{i}") for i in range(3)], ALICE)  # v0+2: 3 changes
    store.create_flag(Flag("last"), ALICE)  # v0+3: 1 change
    assert [c.version for c in store.changes_since(v0, limit=2)] == [v0 + 1]
    assert [c.version for c in store.changes_since(v0, limit=4)] == [v0 + 1] + [
        v0 + 2
    ] * 3
    # A version bigger than the limit comes alone and whole.
    assert [c.version for c in store.changes_since(v0 + 1, limit=1)] == [v0 + 2] * 3
    with pytest.raises(StoreError, match="at least 1"):
        store.changes_since(v0, limit=0)


def test_a_reader_catching_up_page_by_page_sees_every_change(
    store: FlagStore,
) -> None:
    for i in range(7):
        store.put_flags([Flag(f"f{i}"), Flag(f"g{i}")], ALICE)
    seen: list[tuple[int, str]] = []
    version = 0
    while page := store.changes_since(version, limit=3):
        seen += [(c.version, c.key) for c in page]
        version = page[-1].version
    assert seen == [(e.store_version, e.entity_key) for e in store.audit_entries()]
    assert len(seen) == 14


# --- names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda s: s.create_flag(Flag("k" * 10_000), ALICE), "longer than 255"),
        (lambda s: s.create_flag(Flag(""), ALICE), "empty"),
        (lambda s: s.create_flag(Flag(" x"), ALICE), "white space"),
        (lambda s: s.create_flag(Flag("a\x1b[31mb"), ALICE), "control character"),
        (lambda s: s.create_flag(Flag("a\u202eb"), ALICE), "U\\+202E"),
        (lambda s: s.create_flag(Flag("x", actors=("a\nb",)), ALICE), "actor id"),
        (lambda s: s.create_flag(Flag("x", denied_actors=(" a",)), ALICE), "actor id"),
        (lambda s: s.create_flag(Flag("x"), ALICE, "production/flag/a"), "environ"),
        (lambda s: s.create_flag(Flag("x"), ALICE, "e" * 65), "longer than 64"),
        (lambda s: s.create_flag(Flag("x"), Author("w" * 256)), "author"),
        (lambda s: s.create_flag(Flag("x"), Author("a\x00b")), "author"),
        (lambda s: s.create_flag(Flag("x"), Author("a", "why\x00")), "reason"),
        (lambda s: s.put_segment(Segment.from_rules("s\t", ["a == b"]), ALICE), "seg"),
    ],
)
def test_names_are_refused_alike_on_every_backend(
    store: FlagStore, write: object, message: str
) -> None:
    assert callable(write)
    with pytest.raises(InvalidIdentifier, match=message):
        write(store)
    assert (store.version(), store.list_flags(), store.audit_entries()) == (0, [], [])


def test_the_empty_actor_id_is_an_actor_id_as_in_flipper(store: FlagStore) -> None:
    # Flipper's API accepts {"flipper_id": ""}; a Ruby app may hold one already.
    store.create_flag(Flag("x", actors=("",), denied_actors=("",)), ALICE)
    assert store.require_flag("x").actors == ("",)


def test_keys_with_slashes_have_their_own_history(store: FlagStore) -> None:
    # Once history was keyed as `environment/flag/key`: these two shared one.
    store.create_flag(Flag("a/flag/b"), ALICE, "production")
    store.create_flag(Flag("b"), ALICE, "production.flag.a")
    assert [e.entity_key for e in store.history("a/flag/b")] == ["a/flag/b"]
    assert [e.environment for e in store.history("b", "production.flag.a")] == [
        "production.flag.a"
    ]
    assert store.history("b") == []


# --- concurrency and audit -------------------------------------------------------


def test_concurrent_writers_each_get_their_own_version(store: FlagStore) -> None:
    for i in range(4):
        store.create_flag(Flag(f"f{i}"), ALICE)
    v0 = store.version()
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            for n in range(5):
                change = partial(ops.set_percentage_of_actors, pct=pct(str(n + 1)))
                store.change_flag(f"f{i}", change, ALICE)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.version() == v0 + 20
    assert store.verify_audit().ok
    versions = [e.store_version for e in store.audit_entries()]
    assert sorted(set(versions[-20:])) == list(range(v0 + 1, v0 + 21))
    assert versions == sorted(versions)


def test_verify_passes_on_a_busy_store_and_counts_rows(store: FlagStore) -> None:
    store.put_segment(ORACLE, ALICE)
    store.create_flag(Flag("x"), ALICE)
    store.change_flag("x", lambda f: ops.set_eligibility(f, "oracle_health"), ALICE)
    with store.unit_of_work(ALICE) as unit:
        unit.record("production", "run", "r1", "start", None, {"stage": 1})
    report = store.verify_audit()
    assert (report.ok, report.rows, report.limits) == (True, 4, ())
    assert len(report.key_ids) == 1
    assert report.head == store.audit_entries()[-1].hash
